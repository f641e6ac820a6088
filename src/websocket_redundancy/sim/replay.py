"""Replay a rosbag2 recording (MCAP or sqlite3) into a ``Graph``, without ROS installed.

``rosbags.highlevel.AnyReader`` opens a bag directory or a single ``.mcap`` / ``.db3``
file and registers the message definitions the bag carries. Each topic is advertised
with its definition when its type is not a standard ROS 2 type (or differs from the
standard one), so subscribers of the graph can decode it. Messages are published in
recorded order at recorded pace, scaled by ``rate`` (2.0 = twice as fast).

Bags recorded before Iron with sqlite3 carry no definitions: standard types are
filled in from the standard store, anything else is refused with a sentence saying
how to re-record. ``replay_deadline`` is the pacing rule as a pure function.
"""
from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rosbags.highlevel import AnyReader, AnyReaderError
from rosbags.interfaces import Connection, MessageDefinitionFormat, Nodetype
from rosbags.typesys import Stores, get_typestore
from rosbags.typesys.store import Typestore

from ..graph.embedded.convert import to_rosbridge
from ..graph.port import Graph, GraphError, Publisher

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int, float], None]
PROGRESS_INTERVAL = 0.1  # s between on_progress calls


class ReplayError(Exception):
    """A bag that cannot be replayed, with one sentence saying why and what to do."""


def standard_typestore() -> Typestore:
    """The ROS 2 types every graph knows without a definition."""
    return get_typestore(Stores.LATEST)


def replay_deadline(wall_start: float, bag_start_ns: int, stamp_ns: int, rate: float) -> float:
    """When (on the replay clock) a message recorded at ``stamp_ns`` is due."""
    if math.isinf(rate):
        return wall_start
    return wall_start + (stamp_ns - bag_start_ns) / 1e9 / rate


def _dependencies(store: Typestore, type_name: str) -> dict[str, Any]:
    """``type_name`` and every type it uses, as typestore field definitions."""
    found: dict[str, Any] = {}
    pending = [type_name]
    while pending:
        name = pending.pop()
        if name in found:
            continue
        found[name] = store.fielddefs[name]
        for _, (node, args) in found[name][1]:
            if node in (Nodetype.ARRAY, Nodetype.SEQUENCE):
                node, args = args[0]
            if node == Nodetype.NAME:
                pending.append(args)
    return found


@contextmanager
def open_bag(path: str | Path, standard: Typestore | None = None) -> Iterator[AnyReader]:
    """An open ``AnyReader`` on ``path``, with ``ReplayError`` for what is not a bag."""
    path = Path(path)
    if not path.exists():
        raise ReplayError(f"bag {str(path)!r} does not exist")
    if path.suffix == ".bag":
        raise ReplayError(f"{str(path)!r} is a ROS 1 bag; convert it with `rosbags-convert` first")
    if path.is_dir() and not (path / "metadata.yaml").exists():
        raise ReplayError(f"{str(path)!r} is not a rosbag2 bag: the directory has no metadata.yaml")
    try:
        reader = AnyReader([path], default_typestore=standard or standard_typestore())
        reader.open()
    except Exception as exc:
        raise ReplayError(
            f"cannot read {str(path)!r} as a rosbag2 bag (an .mcap or .db3 file, or a "
            f"directory with metadata.yaml): {exc}"
        ) from exc
    try:
        yield reader
    finally:
        reader.close()


def select_connections(reader: AnyReader, topics: Collection[str] | None) -> list[Connection]:
    """The bag's connections on ``topics`` (all when None); unknown names are an error."""
    if topics is None:
        return list(reader.connections)
    missing = sorted(set(topics) - {c.topic for c in reader.connections})
    if missing:
        have = ", ".join(sorted({c.topic for c in reader.connections}))
        raise ReplayError(f"topics {', '.join(missing)} are not in the bag; it has {have}")
    return [c for c in reader.connections if c.topic in topics]


def ensure_types(reader: AnyReader, connections: list[Connection], standard: Typestore) -> None:
    """Register standard types the bag lacks; refuse custom types without definitions."""
    for conn in connections:
        if conn.msgtype in reader.typestore.fielddefs:
            continue
        if conn.msgtype not in standard.fielddefs:
            raise ReplayError(
                f"topic {conn.topic} ({conn.msgtype}) was recorded without message "
                "definitions; re-record with rosbag2 ≥ Iron or MCAP, or leave the topic out"
            )
        known = reader.typestore.fielddefs
        reader.typestore.register(
            {k: v for k, v in _dependencies(standard, conn.msgtype).items() if k not in known}
        )


def advertised_msgdef(reader: AnyReader, conn: Connection, standard: Typestore) -> str | None:
    """The definition to announce for ``conn``: None for an unchanged standard type."""
    name = conn.msgtype
    if name in standard.fielddefs and (
        standard.hash_rihs01(name) == reader.typestore.hash_rihs01(name)
    ):
        return None
    if conn.msgdef.format == MessageDefinitionFormat.MSG and conn.msgdef.data:
        return conn.msgdef.data
    return reader.typestore.generate_msgdef(name, ros_version=2)[0]


def _estimate_total(reader: AnyReader, connections: list[Connection], start_ns: int) -> int:
    """Messages in the selection; with a start offset, prorated by time (an estimate)."""
    total = sum(c.msgcount for c in connections)
    if start_ns <= reader.start_time or reader.duration <= 0:
        return total
    remaining = max(0.0, (reader.end_time - start_ns) / reader.duration)
    return round(total * min(1.0, remaining))


def replay(
    graph: Graph,
    path: str | Path,
    *,
    rate: float = 1.0,
    loop: bool = False,
    topics: Collection[str] | None = None,
    start_offset: float = 0.0,
    on_progress: ProgressCallback | None = None,
    stop_event: threading.Event | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Publish the bag at ``path`` into ``graph``; returns how many messages were published.

    ``rate`` scales the recorded pace (``math.inf``: as fast as possible), ``loop``
    repeats until ``stop_event`` is set, ``topics`` limits the replay, ``start_offset``
    skips that many seconds of the bag. ``on_progress(done, total, elapsed_bag_s)`` is
    called at most every 0.1 s and at the end of each pass.
    """
    if not rate > 0:
        raise ReplayError(f"rate must be positive (2.0 = twice as fast), got {rate!r}")
    if not start_offset >= 0:
        raise ReplayError(f"start offset must be zero or more seconds, got {start_offset!r}")
    stop_event = stop_event or threading.Event()
    standard = standard_typestore()
    with open_bag(path, standard) as reader:
        connections = select_connections(reader, topics)
        if not connections:
            logger.warning("nothing to replay: %s has no messages on the selected topics", path)
            return 0
        ensure_types(reader, connections, standard)
        publishers: dict[int, Publisher] = {}
        for conn in connections:
            msgdef = advertised_msgdef(reader, conn, standard)
            publishers[conn.id] = graph.advertise(conn.topic, conn.msgtype, msgdef=msgdef)
        start_ns = reader.start_time + round(start_offset * 1e9)
        total = _estimate_total(reader, connections, start_ns)
        logger.info("replaying %s: %d topics, about %d messages", path, len(publishers), total)
        published = 0
        try:
            while not stop_event.is_set():
                sent = _replay_pass(reader, connections, publishers, start_ns, total, rate,
                                    on_progress, stop_event, clock)
                published += sent
                if not loop or sent == 0:
                    break
        finally:
            for publisher in publishers.values():
                publisher.close()
        return published


def _replay_pass(
    reader: AnyReader,
    connections: list[Connection],
    publishers: dict[int, Publisher],
    start_ns: int,
    total: int,
    rate: float,
    on_progress: ProgressCallback | None,
    stop_event: threading.Event,
    clock: Callable[[], float],
) -> int:
    """One pass over the bag from ``start_ns``; returns the messages published."""
    wall_start = last_progress = clock()
    done, elapsed_bag_s = 0, 0.0
    for conn, stamp_ns, raw in reader.messages(connections, start=start_ns):
        delay = replay_deadline(wall_start, start_ns, stamp_ns, rate) - clock()
        if delay > 0 and stop_event.wait(delay):
            break
        if stop_event.is_set():
            break
        try:
            msg = to_rosbridge(reader.deserialize(raw, conn.msgtype))
            publishers[conn.id].publish(msg)
        except (AnyReaderError, GraphError) as exc:
            raise ReplayError(
                f"cannot replay the message on {conn.topic} ({conn.msgtype}) recorded at "
                f"{stamp_ns} ns: {exc}"
            ) from exc
        done += 1
        elapsed_bag_s = (stamp_ns - reader.start_time) / 1e9
        if on_progress is not None and clock() - last_progress >= PROGRESS_INTERVAL:
            last_progress = clock()
            on_progress(done, max(total, done), elapsed_bag_s)
    if on_progress is not None:
        on_progress(done, max(total, done), elapsed_bag_s)
    return done
