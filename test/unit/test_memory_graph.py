"""MemoryGraph: the in-process Graph used by unit tests."""
from __future__ import annotations

import math
from concurrent.futures import Future

import pytest

from websocket_redundancy.graph.memory import MemoryGraph
from websocket_redundancy.graph.port import GraphError, TopicInfo


def test_publish_delivers_synchronously_with_epoch_and_seq():
    """When a publisher publishes, subscribers get it before publish returns, seq from 1."""
    graph = MemoryGraph(clock=lambda: 42.0)
    got = []
    graph.subscribe("/a", got.append)
    pub = graph.advertise("/a", "std_msgs/msg/String")
    assert pub.publish({"data": "x"}) == 1
    assert pub.publish({"data": "y"}) == 2
    assert [(s.msg["data"], s.seq, s.epoch) for s in got] == [("x", 1, pub.epoch), ("y", 2, pub.epoch)]
    assert got[0].type_name == "std_msgs/msg/String"
    assert got[0].source_time == 42.0
    assert got[0].raw_size > 0


def test_each_publisher_has_its_own_epoch_and_seq():
    """When two publishers share a topic, each counts its own seq under its own epoch."""
    graph = MemoryGraph()
    got = []
    graph.subscribe("/a", got.append)
    first, second = graph.advertise("/a", "std_msgs/msg/Bool"), graph.advertise("/a", "std_msgs/msg/Bool")
    first.publish({"data": True})
    second.publish({"data": True})
    assert first.epoch != second.epoch
    assert [(s.epoch, s.seq) for s in got] == [(first.epoch, 1), (second.epoch, 1)]


def test_messages_are_not_shared():
    """When a subscriber mutates its message, neither the publisher nor other subscribers see it."""
    graph = MemoryGraph()
    got = []
    graph.subscribe("/a", lambda s: (s.msg["v"].append(99), got.append(s)))
    graph.subscribe("/a", got.append)
    msg = {"v": [1]}
    graph.advertise("/a", "x/msg/V").publish(msg)
    assert msg == {"v": [1]}
    assert got[0].msg == {"v": [1, 99]} and got[1].msg == {"v": [1]}


@pytest.mark.parametrize("bad", [{"x": b"bytes"}, {"x": math.nan}, ["not", "a", "dict"]])
def test_publish_rejects_what_is_not_rosbridge_json(bad):
    """When a message is not a JSON dict (bytes, NaN, a list), publish raises GraphError."""
    pub = MemoryGraph().advertise("/a", "x/msg/X")
    with pytest.raises(GraphError, match="/a"):
        pub.publish(bad)


def test_subscriber_type_filter_and_unsubscribe():
    """When a subscriber names a type, other types pass it by; after close, nothing arrives."""
    graph = MemoryGraph()
    got = []
    handle = graph.subscribe("/a", got.append, "std_msgs/msg/Bool")
    graph.advertise("/a", "std_msgs/msg/String").publish({"data": "s"})
    bool_pub = graph.advertise("/a", "std_msgs/msg/Bool")
    bool_pub.publish({"data": True})
    handle.close()
    handle.close()
    bool_pub.publish({"data": False})
    assert [s.msg for s in got] == [{"data": True}]


def test_topics_lists_live_publishers_with_msgdef():
    """When publishers come and go, topics() lists the live ones, counted, with their msgdef."""
    graph = MemoryGraph()
    a1 = graph.advertise("/a", "pkg/msg/Custom", msgdef="int32 x\n")
    graph.advertise("/a", "pkg/msg/Custom", msgdef="int32 x\n")
    b = graph.advertise("/b", "std_msgs/msg/Bool")
    assert graph.topics() == {
        "/a": TopicInfo("/a", "pkg/msg/Custom", 2, {"msgdef": "int32 x\n"}),
        "/b": TopicInfo("/b", "std_msgs/msg/Bool", 1, {}),
    }
    a1.close()
    b.close()
    assert graph.topics() == {"/a": TopicInfo("/a", "pkg/msg/Custom", 1, {"msgdef": "int32 x\n"})}
    with pytest.raises(GraphError, match="closed"):
        b.publish({"data": True})


def test_serve_and_call():
    """When a server is up, call returns a completed future with its response."""
    graph = MemoryGraph()
    handle = graph.serve("/trig", "std_srvs/srv/Trigger", lambda req: {"success": True, "message": "ok"})
    assert graph.services() == {"/trig": "std_srvs/srv/Trigger"}
    future = graph.call("/trig", "std_srvs/srv/Trigger", {}, timeout=1.0)
    assert future.done() and future.result() == {"success": True, "message": "ok"}
    handle.close()
    assert graph.services() == {}


def test_call_failures_are_graph_errors():
    """When no server answers, the type differs or the handler raises, the future fails."""
    graph = MemoryGraph()
    with pytest.raises(GraphError, match="no server"):
        graph.call("/none", "std_srvs/srv/Trigger", {}, timeout=1.0).result(0)

    def broken(request):
        raise RuntimeError("boom")

    graph.serve("/broken", "std_srvs/srv/Trigger", broken)
    with pytest.raises(GraphError, match="boom"):
        graph.call("/broken", "std_srvs/srv/Trigger", {}, timeout=1.0).result(0)
    with pytest.raises(GraphError, match="type"):
        graph.call("/broken", "std_srvs/srv/SetBool", {}, timeout=1.0).result(0)


def test_a_handler_that_answers_later_completes_the_call_then():
    """When the handler returns a Future, the call completes when it does, with the
    response or the handler's error as a GraphError."""
    graph = MemoryGraph()
    answers: list[Future] = []

    def later(request):
        answers.append(Future())
        return answers[-1]

    graph.serve("/later", "std_srvs/srv/Trigger", later)
    ok = graph.call("/later", "std_srvs/srv/Trigger", {}, timeout=1.0)
    failed = graph.call("/later", "std_srvs/srv/Trigger", {}, timeout=1.0)
    assert not ok.done() and not failed.done()
    answers[0].set_result({"success": True, "message": "later"})
    answers[1].set_exception(GraphError("the client providing /later disconnected"))
    assert ok.result(0) == {"success": True, "message": "later"}
    with pytest.raises(GraphError, match="service /later failed: the client providing /later"):
        failed.result(0)


def test_close_drops_everything():
    """When the graph is closed, it lists nothing and refuses new publishers."""
    graph = MemoryGraph()
    graph.advertise("/a", "std_msgs/msg/Bool")
    graph.serve("/s", "std_srvs/srv/Trigger", lambda req: {})
    graph.close()
    assert graph.topics() == {} and graph.services() == {}
    with pytest.raises(GraphError):
        graph.advertise("/a", "std_msgs/msg/Bool")
