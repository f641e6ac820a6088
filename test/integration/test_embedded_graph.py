"""The embedded graph over real Zenoh on 127.0.0.1: in one process and across processes.

Every wait has a deadline and says what it was waiting for; nothing asserts on time.
"""
from __future__ import annotations

from needs import needs

needs('zenoh', 'rosbags')

import os
import queue
import random
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

import pytest

from websocket_redundancy.graph.embedded import zenoh_config
from websocket_redundancy.graph.embedded.graph import EmbeddedGraph
from websocket_redundancy.graph.port import GraphError

pytestmark = pytest.mark.integration

SRC = str(Path(__file__).resolve().parents[2] / "src")
WHEEL = "rover_msgs/msg/Wheel"
WHEEL_DEF = (
    "std_msgs/Header header\nfloat64 rpm\nrover_msgs/Tyre tyre\n"
    + "=" * 80 + "\nMSG: rover_msgs/Tyre\nfloat32 pressure\nuint8[] tread\n"
)


def free_ports(count: int) -> list[int]:
    """Distinct ports the kernel says are free now (bound to 0, then released)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def ep(port: int) -> str:
    return zenoh_config.endpoint(port)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


class Collector:
    """A subscription callback that keeps samples, thread-safely."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.samples: list = []

    def __call__(self, sample) -> None:
        with self.lock:
            self.samples.append(sample)

    def keys(self, topic: str | None = None) -> list[tuple[str, int]]:
        with self.lock:
            return [(s.epoch, s.seq) for s in self.samples if topic in (None, s.topic)]


@pytest.fixture
def mesh():
    """Three graphs in this process, each listening on its own port, all connected."""
    ports = free_ports(3)
    graphs = [
        EmbeddedGraph(listen=[ep(p)], connect=[ep(q) for q in ports if q != p], name=f"g{i}")
        for i, p in enumerate(ports)
    ]
    yield graphs
    for graph in graphs:
        graph.close()


def test_two_subscribers_see_identical_epoch_and_seq(mesh):
    """When one publisher sends, subscribers in two other graphs see the same keys."""
    source, left, right = mesh
    got_left, got_right = Collector(), Collector()
    left.subscribe("/odom", got_left, "nav_msgs/msg/Odometry")
    right.subscribe("odom", got_right)
    publisher = source.advertise("/odom", "nav_msgs/msg/Odometry")
    wait_for(lambda: "/odom" in left.topics() and "/odom" in right.topics(),
             "both graphs to discover /odom")
    seqs = []

    def delivered_to_both() -> bool:
        seqs.append(publisher.publish({"child_frame_id": "base", "pose": {"pose": {
            "position": {"x": float(len(seqs))}}}}))
        return len(got_left.keys()) >= 5 and len(got_right.keys()) >= 5

    wait_for(delivered_to_both, "5 samples in each subscriber")
    assert seqs[:3] == [1, 2, 3]
    common = set(got_left.keys()) & set(got_right.keys())
    assert len(common) >= 5 and {epoch for epoch, _ in common} == {publisher.epoch}
    sample = got_left.samples[-1]
    assert sample.type_name == "nav_msgs/msg/Odometry" and sample.raw_size > 0
    assert sample.msg["child_frame_id"] == "base"
    assert sample.msg["pose"]["pose"]["position"]["x"] == float(sample.seq - 1)
    info = right.topics()["/odom"]
    assert (info.type_name, info.publishers, info.meta["epochs"]) == (
        "nav_msgs/msg/Odometry", 1, [publisher.epoch])


def test_subscription_before_publisher_and_custom_type(mesh):
    """When a custom type appears after the subscription, the subscriber fetches it."""
    source, sink, _ = mesh
    got = Collector()
    sink.subscribe("/wheel", got)
    assert WHEEL not in sink.typestore.fielddefs
    with pytest.raises(GraphError, match="msgdef"):
        source.advertise("/wheel", WHEEL)
    publisher = source.advertise("/wheel", WHEEL, msgdef=WHEEL_DEF)
    wait_for(lambda: "/wheel" in sink.topics(), "/wheel to be announced")
    assert sink.topics()["/wheel"].type_name == WHEEL

    def delivered() -> bool:
        publisher.publish({"rpm": 12.5, "tyre": {"pressure": 2.0, "tread": "AQID"}})
        return len(got.keys()) >= 3

    wait_for(delivered, "3 samples of the custom type")
    assert got.samples[0].msg["tyre"] == {"pressure": 2.0, "tread": "AQID"}
    assert [seq for _, seq in got.keys()] == sorted(seq for _, seq in got.keys())


def test_a_handler_answering_later_does_not_hold_the_graph(mesh):
    """When a handler returns a Future, the query waits for it while other calls are
    served; its result, or its error (with its sentence), reaches the caller."""
    server, client, _ = mesh
    pending: queue.Queue = queue.Queue()

    def later(request):
        future: Future = Future()
        pending.put((request, future))
        return future

    server.serve("/ops/arm", "std_srvs/srv/SetBool", later)
    server.serve("/ops/ping", "std_srvs/srv/Trigger", lambda req: {"success": True})
    wait_for(lambda: len(client.services()) == 2, "2 services to be announced")
    first = client.call("/ops/arm", "std_srvs/srv/SetBool", {"data": True}, timeout=10)
    second = client.call("/ops/arm", "std_srvs/srv/SetBool", {"data": False}, timeout=10)
    (request_a, answer_a), (request_b, answer_b) = pending.get(timeout=10), pending.get(timeout=10)
    ping = client.call("/ops/ping", "std_srvs/srv/Trigger", {}, timeout=10)
    assert ping.result(10)["success"] is True  # served while both wait
    assert not first.done() and not second.done()
    answers = {request_a["data"]: answer_a, request_b["data"]: answer_b}
    threading.Thread(target=answers[True].set_result,
                     args=({"success": True, "message": "armed"},)).start()
    assert first.result(10) == {"success": True, "message": "armed"}
    answers[False].set_exception(GraphError("the client providing /ops/arm disconnected"))
    with pytest.raises(GraphError, match="service /ops/arm failed: the client providing "
                                         "/ops/arm disconnected"):
        second.result(10)


def test_failing_callback_keeps_the_subscription(mesh, caplog):
    """When a callback raises, it is logged and later samples are still delivered."""
    source, sink, _ = mesh
    calls = []

    def flaky(sample) -> None:
        calls.append(sample.seq)
        if len(calls) == 1:
            raise RuntimeError("boom")

    sink.subscribe("/flag", flaky)
    publisher = source.advertise("/flag", "std_msgs/msg/Bool")
    wait_for(lambda: publisher.publish({"data": True}) and len(calls) >= 3,
             "3 deliveries after a failing callback")
    assert "boom" in caplog.text


def test_service_call_error_and_timeout(mesh):
    """When a service answers, fails or is silent, call's future says which."""
    server, client, _ = mesh
    server.serve("/rover/ping", "std_srvs/srv/SetBool",
                 lambda req: {"success": req["data"], "message": "pong"})
    server.serve("/rover/broken", "std_srvs/srv/Trigger", lambda req: 1 / 0)
    release = threading.Event()
    server.serve("/rover/stuck", "std_srvs/srv/Trigger",
                 lambda req: release.wait(5) and {})
    wait_for(lambda: len(client.services()) == 3, "3 services to be announced")
    assert client.services()["/rover/ping"] == "std_srvs/srv/SetBool"
    ok = client.call("/rover/ping", "std_srvs/srv/SetBool", {"data": True}, timeout=5)
    assert ok.result(10) == {"success": True, "message": "pong"}
    failed = client.call("/rover/broken", "std_srvs/srv/Trigger", {}, timeout=5)
    with pytest.raises(GraphError, match="ZeroDivisionError"):
        failed.result(10)
    stuck = client.call("/rover/stuck", "std_srvs/srv/Trigger", {}, timeout=0.3)
    with pytest.raises(GraphError, match="did not answer within 0.3 s"):
        stuck.result(10)
    release.set()
    missing = client.call("/rover/none", "std_srvs/srv/Trigger", {}, timeout=5)
    with pytest.raises(GraphError, match="no server for service /rover/none"):
        missing.result(10)
    bad = client.call("/rover/ping", "std_srvs/srv/SetBool", {"data": "yes"}, timeout=5)
    with pytest.raises(GraphError, match="field 'data' of std_srvs/srv/SetBool_Request"):
        bad.result(10)


def test_close_is_idempotent_and_withdraws_announcements(mesh):
    """When a graph closes, its publishers vanish from the others' topics()."""
    source, sink, _ = mesh
    source.advertise("/battery_state", "sensor_msgs/msg/BatteryState")
    wait_for(lambda: "/battery_state" in sink.topics(), "/battery_state to be announced")
    source.close()
    source.close()
    wait_for(lambda: "/battery_state" not in sink.topics(), "/battery_state to be withdrawn")
    with pytest.raises(GraphError, match="closed"):
        source.advertise("/x", "std_msgs/msg/Bool")


def test_default_endpoints_find_each_other(monkeypatch):
    """When no endpoints are given, two graphs claim two default ports and connect."""
    base = _free_run(3)
    monkeypatch.setattr(zenoh_config, "DEFAULT_PORTS", tuple(range(base, base + 3)))
    first, second = EmbeddedGraph(name="d1"), EmbeddedGraph(name="d2")
    try:
        got = Collector()
        second.subscribe("/gps/fix", got)
        publisher = first.advertise("/gps/fix", "sensor_msgs/msg/NavSatFix")
        wait_for(lambda: publisher.publish({"latitude": 38.406}) and got.keys(),
                 "a sample between graphs on default endpoints")
    finally:
        first.close()
        second.close()


def _free_run(count: int) -> int:
    """A base port with ``count`` consecutive free ports above it."""
    for _ in range(50):
        base = random.randrange(30000, 39000)
        try:
            sockets = []
            for port in range(base, base + count):
                sock = socket.socket()
                sockets.append(sock)
                sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise AssertionError("no run of free ports found")


# -------------------------------------------------------------- across processes

PEER = textwrap.dedent("""
    import json, sys, threading, time
    from websocket_redundancy.graph.embedded.graph import EmbeddedGraph
    role, listen, connect = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    graph = EmbeddedGraph(listen=[listen], connect=connect, name=role)
    lock = threading.Lock()
    def show(sample):
        with lock:  # callbacks of two subscriptions run on two threads
            print("S", sample.topic, sample.epoch, sample.seq, json.dumps(sample.msg),
                  flush=True)
    if role == "echo":
        graph.subscribe("/chatter", show)
        graph.subscribe("/wheel", show)
        print("ready", flush=True)
        sys.stdin.read()
    else:
        graph.serve("/peer/trigger", "std_srvs/srv/Trigger",
                    lambda req: {"success": True, "message": "from " + role})
        chatter = graph.advertise("/chatter", "std_msgs/msg/String")
        wheel = graph.advertise("/wheel", sys.argv[4], msgdef=sys.argv[5])
        print("ready", chatter.epoch, flush=True)
        while True:
            chatter.publish({"data": role})
            wheel.publish({"rpm": 3.0})
            time.sleep(0.02)
""")


class Peer:
    """A graph in a child process; its stdout lines arrive on a queue."""

    def __init__(self, role: str, listen: int, connect: list[int]) -> None:
        env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
        args = [sys.executable, "-c", PEER, role, ep(listen),
                str([ep(p) for p in connect]).replace("'", '"'), WHEEL, WHEEL_DEF]
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, env=env)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        self.ready = self.expect(lambda line: line.startswith("ready"), f"{role} to start")

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def expect(self, match: Callable[[str], bool], what: str, timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.proc.poll() is not None:
                raise AssertionError(f"no line for {what} within {timeout} s "
                                     f"(exit code {self.proc.poll()})")
            try:
                line = self.lines.get(timeout=min(remaining, 0.2))
            except queue.Empty:
                continue
            if match(line):
                return line

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(10)


@pytest.fixture
def peers():
    started: list[Peer] = []
    yield started
    for peer in started:
        if peer.proc.poll() is None:
            peer.kill()


def test_processes_share_one_graph_and_survive_a_restart(peers):
    """When a peer process is killed and restarted, the others keep talking and rejoin it."""
    p_local, p_pub, p_echo = free_ports(3)
    local = EmbeddedGraph(listen=[ep(p_local)], connect=[ep(p_pub), ep(p_echo)], name="local")
    try:
        got = Collector()
        local.subscribe("/chatter", got)
        wheels = Collector()
        local.subscribe("/wheel", wheels)
        echo = Peer("echo", p_echo, [p_local, p_pub])
        peers.append(echo)
        pub = Peer("pub", p_pub, [p_local, p_echo])
        peers.append(pub)
        first_epoch = pub.ready.split()[1]
        _expect_same_keys(local, got, echo, first_epoch)
        wait_for(lambda: wheels.keys(), "a custom-type sample from the other process")
        assert wheels.samples[-1].msg["rpm"] == 3.0
        future = local.call("/peer/trigger", "std_srvs/srv/Trigger", {}, timeout=5)
        assert future.result(10) == {"success": True, "message": "from pub"}

        pub.kill()
        mine = local.advertise("/chatter", "std_msgs/msg/String")
        line = _publish_until(mine, echo, "the echo process to hear this one while pub is dead")
        assert line.split()[2] == mine.epoch
        mine.close()

        pub = Peer("pub", p_pub, [p_local, p_echo])
        peers.append(pub)
        second_epoch = pub.ready.split()[1]
        assert second_epoch != first_epoch
        _expect_same_keys(local, got, echo, second_epoch)
    finally:
        local.close()


def _publish_until(publisher, peer: Peer, what: str) -> str:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        publisher.publish({"data": "local"})
        try:
            return peer.expect(lambda line: f" {publisher.epoch} " in line, what, timeout=0.1)
        except AssertionError:
            continue
    raise AssertionError(f"timed out waiting for {what}")


def _expect_same_keys(local, got: Collector, echo: Peer, epoch: str) -> None:
    """Both subscribers (this process and the echo process) see the same 10 keys of
    ``epoch``, starting from the later of their first seqs."""
    seen_by_echo: set[int] = set()

    def both_have_window() -> bool:
        while not echo.lines.empty():
            parts = echo.lines.get().split()
            if parts[:3] == ["S", "/chatter", epoch]:
                seen_by_echo.add(int(parts[3]))
        mine = {seq for e, seq in got.keys("/chatter") if e == epoch}
        if not mine or not seen_by_echo:
            return False
        window = set(range(max(min(mine), min(seen_by_echo)), 10 + max(min(mine),
                                                                        min(seen_by_echo))))
        return window <= mine and window <= seen_by_echo

    wait_for(both_have_window, f"both subscribers to see the same 10 samples of {epoch}",
             timeout=15)


def test_same_graph_delivers_to_itself(mesh):
    """When a graph subscribes to its own topic, it gets its own samples."""
    graph = mesh[0]
    got = Collector()
    graph.subscribe("/emergency_stop", got, "std_msgs/msg/Bool")
    publisher = graph.advertise("/emergency_stop", "std_msgs/msg/Bool")
    wait_for(lambda: publisher.publish({"data": True}) and got.keys(), "a local delivery")
    assert got.samples[0].msg == {"data": True}


def test_a_latched_publisher_gives_its_last_sample_to_a_later_subscriber(mesh):
    """When a subscription is made after a latched publisher sent, it gets the last
    sample first, once (not again when it also arrives live), then the live ones; a
    publisher that does not latch gives nothing from before, and ``topics()`` says
    which topics are latched."""
    source, left, right = mesh
    mission = source.advertise("/mission/state", "std_msgs/msg/String", latched=True)
    chatter = source.advertise("/chatter", "std_msgs/msg/String")
    wait_for(lambda: {"/mission/state", "/chatter"} <= set(left.topics()),
             "the other graph to discover both topics")
    assert left.topics()["/mission/state"].latched and not left.topics()["/chatter"].latched
    for text in ("leg 1", "leg 2", "leg 3"):
        mission.publish({"data": text})
        chatter.publish({"data": text})
    got = Collector()
    left.subscribe("/mission/state", got)
    left.subscribe("/chatter", got)
    wait_for(lambda: len(got.keys("/mission/state")) == 1, "the latched sample")
    mission.publish({"data": "leg 4"})
    chatter.publish({"data": "after"})
    wait_for(lambda: len(got.keys("/chatter")) == 1, "the live /chatter sample")
    wait_for(lambda: len(got.keys("/mission/state")) == 2, "the live /mission/state sample")
    time.sleep(0.3)  # nothing more may come
    assert [s.msg["data"] for s in got.samples if s.topic == "/mission/state"] == ["leg 3",
                                                                                  "leg 4"]
    assert got.keys("/mission/state") == [(mission.epoch, 3), (mission.epoch, 4)]
    assert [s.msg["data"] for s in got.samples if s.topic == "/chatter"] == ["after"]
    also = Collector()
    right.subscribe("/mission/state", also, "std_msgs/msg/String")
    wait_for(lambda: also.keys() == [(mission.epoch, 4)], "the latest latched sample")
