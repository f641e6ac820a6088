"""Replay of real rosbag2 files (sqlite3 and MCAP, written by rosbags) into a MemoryGraph."""
from __future__ import annotations

from needs import needs

needs('zenoh', 'rosbags')

import sqlite3
import threading
from pathlib import Path

import numpy as np
import pytest
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_types_from_msg, get_typestore

from websocket_redundancy.graph.embedded.convert import from_rosbridge
from websocket_redundancy.graph.memory import MemoryGraph
from websocket_redundancy.sim.replay import ReplayError, replay, replay_deadline

pytestmark = pytest.mark.integration

PROBE = "my_pkg/msg/Probe"
PROBE_MSGDEF = "std_msgs/Header header\nfloat64 value\nuint8[] blob\nstring label\n"
T0 = 1_700_000_000 * 10**9  # recorded start, ns
MS = 10**6


def probe_store():
    store = get_typestore(Stores.LATEST)
    store.register(get_types_from_msg(PROBE_MSGDEF, PROBE))
    return store


def expected_messages() -> list[tuple[int, str, object]]:
    """(stamp_ns, topic, value): /chatter every 100 ms, /probe every 200 ms, 1 s in all."""
    chatter = [(T0 + i * 100 * MS, "/chatter", f"hello {i}") for i in range(10)]
    probes = [(T0 + 50 * MS + i * 200 * MS, "/probe", float(i) / 2) for i in range(5)]
    return sorted(chatter + probes)


def write_bag(path: Path, plugin: StoragePlugin) -> Path:
    store = probe_store()
    String, Probe = store.types["std_msgs/msg/String"], store.types[PROBE]
    Header, Time = store.types["std_msgs/msg/Header"], store.types["builtin_interfaces/msg/Time"]
    with Writer(path, version=9, storage_plugin=plugin) as writer:
        chatter = writer.add_connection("/chatter", "std_msgs/msg/String", typestore=store)
        probe = writer.add_connection("/probe", PROBE, typestore=store)
        for stamp, topic, value in expected_messages():
            if topic == "/chatter":
                writer.write(chatter, stamp, store.serialize_cdr(String(data=value), "std_msgs/msg/String"))
            else:
                header = Header(stamp=Time(sec=stamp // 10**9, nanosec=stamp % 10**9), frame_id="probe")
                msg = Probe(header=header, value=value, blob=np.array([1, 2, 3], dtype=np.uint8),
                            label=f"p{value}")
                writer.write(probe, stamp, store.serialize_cdr(msg, PROBE))
    return path


@pytest.fixture(params=[StoragePlugin.SQLITE3, StoragePlugin.MCAP], ids=["sqlite3", "mcap"])
def bag(request, tmp_path) -> Path:
    return write_bag(tmp_path / "bag", request.param)


class FakeTime:
    """A clock and a stop event whose wait() advances the clock: pacing without sleeping."""

    def __init__(self) -> None:
        self.now = 100.0
        self._set = False

    def __call__(self) -> float:
        return self.now

    def wait(self, timeout: float | None = None) -> bool:
        self.now += timeout or 0.0
        return self._set

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        self._set = True


def record(graph: MemoryGraph, clock=None) -> list:
    got = []
    for topic in ("/chatter", "/probe"):
        graph.subscribe(topic, lambda s, c=clock: got.append((c() if c else 0.0, s, graph.topics())))
    return got


def value_of(sample) -> object:
    return sample.msg["data"] if sample.topic == "/chatter" else sample.msg["value"]


@pytest.mark.parametrize("single_file", [False, True], ids=["directory", "file"])
def test_replay_delivers_everything_in_recorded_order(bag, single_file):
    """When a bag (directory or single file) is replayed, every message arrives in order with
    its values; the custom type is advertised with a definition that decodes it."""
    path = next(bag.glob("bag.*")) if single_file else bag
    graph = MemoryGraph()
    got = record(graph)
    assert replay(graph, path, rate=50.0) == 15
    assert [(s.topic, value_of(s)) for _, s, _ in got] == [(t, v) for _, t, v in expected_messages()]
    assert [s.seq for _, s, _ in got if s.topic == "/probe"] == [1, 2, 3, 4, 5]

    topics = got[-1][2]
    assert topics["/chatter"].meta == {}  # standard type: no definition needed
    msgdef = topics["/probe"].meta["msgdef"]
    assert "float64 value" in msgdef and "MSG: std_msgs/Header" in msgdef
    decoder = get_typestore(Stores.LATEST)
    decoder.register(get_types_from_msg(msgdef, PROBE))
    first_probe = next(s for _, s, _ in got if s.topic == "/probe")
    assert first_probe.msg["blob"] == "AQID"  # uint8[] as base64
    assert first_probe.msg["header"]["stamp"] == {"sec": 1_700_000_000, "nanosec": 50_000_000}
    assert from_rosbridge(decoder, PROBE, first_probe.msg).label == "p0.0"


def test_replay_keeps_recorded_pacing_scaled_by_rate(bag):
    """When replayed at rate 2, each message is published at its recorded offset / 2."""
    graph, fake = MemoryGraph(), FakeTime()
    got = record(graph, fake)
    replay(graph, bag, rate=2.0, clock=fake, stop_event=fake)
    offsets = [round(t - 100.0, 6) for t, _, _ in got]
    assert offsets == [round((stamp - T0) / 1e9 / 2, 6) for stamp, _, _ in expected_messages()]


def test_replay_at_real_pace_is_ordered_and_complete(bag):
    """When replayed on the real clock at rate 20, all messages arrive in order."""
    graph = MemoryGraph()
    got = record(graph)
    assert replay(graph, bag, rate=20.0) == 15
    assert [value_of(s) for _, s, _ in got] == [v for _, _, v in expected_messages()]


def test_topic_filter_and_start_offset(bag):
    """When limited to /chatter from 0.5 s on, only the later chatter messages are published."""
    graph, fake = MemoryGraph(), FakeTime()
    got = record(graph, fake)
    replay(graph, bag, topics=["/chatter"], start_offset=0.5, clock=fake, stop_event=fake)
    assert [value_of(s) for _, s, _ in got] == [f"hello {i}" for i in range(5, 10)]
    assert got[0][0] == 100.0  # the offset is skipped, not waited for


def test_loop_repeats_until_stopped(bag):
    """When looping, the bag replays again with seq continuing, until the stop event is set."""
    graph, fake = MemoryGraph(), FakeTime()
    got = []

    def on_sample(sample):
        got.append(sample)
        if len(got) == 40:
            fake.set()

    graph.subscribe("/chatter", on_sample)
    graph.subscribe("/probe", on_sample)
    assert replay(graph, bag, loop=True, clock=fake, stop_event=fake) == 40
    chatter_seqs = [s.seq for s in got if s.topic == "/chatter"]
    assert chatter_seqs == list(range(1, len(chatter_seqs) + 1))
    assert [value_of(s) for s in got[15:30]] == [v for _, _, v in expected_messages()]


def test_progress_reports_done_total_and_bag_time(bag):
    """When a progress callback is given, its last call reports all messages and the bag time."""
    graph, fake = MemoryGraph(), FakeTime()
    calls = []
    replay(graph, bag, clock=fake, stop_event=fake, on_progress=lambda *a: calls.append(a))
    assert len(calls) >= 2
    assert calls[-1] == (15, 15, pytest.approx(0.9))
    assert [c[0] for c in calls] == sorted(c[0] for c in calls)


def test_stop_event_ends_a_real_time_replay(bag):
    """When the stop event is set during a slow replay, replay returns promptly."""
    graph, stop = MemoryGraph(), threading.Event()
    graph.subscribe("/chatter", lambda s: stop.set())
    assert replay(graph, bag, rate=0.01, stop_event=stop) == 1


def test_custom_type_without_definitions_is_refused(tmp_path):
    """When a pre-Iron sqlite3 bag lacks definitions, standard types still replay and a custom
    type is refused with a sentence that says how to re-record."""
    bag = write_bag(tmp_path / "bag", StoragePlugin.SQLITE3)
    with sqlite3.connect(bag / "bag.db3") as db:
        db.execute("DELETE FROM message_definitions")
    graph = MemoryGraph()
    with pytest.raises(ReplayError, match=r"/probe \(my_pkg/msg/Probe\) was recorded without "
                                          r"message definitions; re-record with rosbag2 ≥ Iron or MCAP"):
        replay(graph, bag, rate=1000.0)
    got = record(graph)
    assert replay(graph, bag, rate=1000.0, topics=["/chatter"]) == 10
    assert got[0][1].msg == {"data": "hello 0"}


@pytest.mark.parametrize("name, content, match", [
    ("missing", None, "does not exist"),
    ("empty_dir", "dir", "no metadata.yaml"),
    ("notes.txt", b"hello", "cannot read .* as a rosbag2 bag"),
    ("broken.mcap", b"not an mcap file", "cannot read .* as a rosbag2 bag"),
    ("old.bag", b"#ROSBAG V2.0", "ROS 1 bag"),
])
def test_paths_that_are_not_bags_give_clear_errors(tmp_path, name, content, match):
    """When the path is missing or not a rosbag2 bag, replay raises one clear ReplayError."""
    path = tmp_path / name
    if content == "dir":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(ReplayError, match=match):
        replay(MemoryGraph(), path)


def test_bad_arguments_give_clear_errors(bag):
    """When the rate, offset or topic filter is wrong, replay says which and why."""
    with pytest.raises(ReplayError, match="rate must be positive"):
        replay(MemoryGraph(), bag, rate=0.0)
    with pytest.raises(ReplayError, match="start offset"):
        replay(MemoryGraph(), bag, start_offset=-1.0)
    with pytest.raises(ReplayError, match="/nope are not in the bag; it has /chatter, /probe"):
        replay(MemoryGraph(), bag, topics=["/nope"])


def test_replay_deadline():
    """The pacing rule: offset from the bag start divided by the rate; inf means no wait."""
    assert replay_deadline(10.0, T0, T0 + 2 * 10**9, 2.0) == 11.0
    assert replay_deadline(10.0, T0, T0 + 2 * 10**9, float("inf")) == 10.0
