"""The port to a ROS-style graph: publish, subscribe, serve, call.

Two adapters implement it: ``embedded`` (Zenoh carrying ROS 2 CDR via rosbags) and
``ros`` (rclpy). Messages cross the port as plain dicts in rosbridge JSON form
(``uint8[]`` as base64 text, ``Time`` as ``{sec, nanosec}``, NaN/Inf as ``None``), so
the rosbridge session in ``core`` never sees a middleware object; a received sample is
decoded into that form only when someone reads it (``Sample.msg``).

Threading: callbacks (subscription callbacks, service handlers, future completion)
run on a graph-owned thread. Shells that own an event loop cross into it themselves
(``reactor.callFromThread``); the graph never assumes a loop.

Source identity: every sample carries ``(epoch, seq)`` assigned once by its publisher
(``epoch`` is unique per publisher instance, ``seq`` counts from 1 per topic), so
every tier that receives the same sample sees the same key.
"""
from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..core.rosapi import NodeInfo
from ..core.typedefs import FieldDef, MessageFields

__all__ = ['FieldDef', 'Graph', 'GraphError', 'Handle', 'MessageFields', 'NodeInfo',
           'Publisher', 'Sample', 'TopicInfo']


class Sample:
    """One message as every subscriber sees it.

    ``msg`` (rosbridge JSON form) is decoded from the graph's bytes on first use and
    then kept, so a subscriber that only buffers a sample never pays for decoding it;
    a sample that cannot be decoded raises ``GraphError`` naming its topic and type
    there. Adapters pass ``decode`` (a no-argument function returning the dict)
    instead of ``msg``, and may pass ``raw`` (the serialized message: CDR with its
    encapsulation header, for rosbridge's ``cbor-raw``) and ``decode_cbor`` (the message
    for rosbridge's ``cbor``: byte arrays as bytes, numeric arrays as typed arrays;
    without it ``cbor_msg`` is ``msg``).
    """

    __slots__ = ('topic', 'type_name', 'epoch', 'seq', 'source_time', 'raw_size',
                 '_msg', '_decode', 'raw', '_decode_cbor')

    def __init__(self, topic: str, type_name: str, msg: dict[str, Any] | None = None,
                 epoch: str = '', seq: int = 0, source_time: float = 0.0,
                 raw_size: int = 0, *,
                 decode: Callable[[], dict[str, Any]] | None = None,
                 raw: bytes | None = None,
                 decode_cbor: Callable[[], dict[str, Any]] | None = None) -> None:
        self.topic = topic
        self.type_name = type_name  # e.g. 'nav_msgs/msg/Odometry'
        self.epoch = epoch  # the publisher instance's id
        self.seq = seq  # per publisher and topic, from 1
        self.source_time = source_time  # publisher's time.time() at publish
        self.raw_size = raw_size  # serialized size on the graph, bytes (0 if unknown)
        self._msg = msg
        self._decode = decode
        self.raw = raw
        self._decode_cbor = decode_cbor

    @property
    def msg(self) -> dict[str, Any]:
        decode = self._decode
        if decode is not None:
            self._msg = decode()
            self._decode = None
        return self._msg  # type: ignore[return-value]

    def cbor_msg(self) -> dict[str, Any]:
        """The message in rosbridge's CBOR form (decoded on each call: a tier asks
        once per sample and keeps the frame)."""
        return self._decode_cbor() if self._decode_cbor is not None else self.msg

    @property
    def decoded(self) -> bool:
        """True once ``msg`` exists (given, or decoded on a first use)."""
        return self._decode is None

    def __repr__(self) -> str:
        return (f'Sample({self.topic!r}, {self.type_name!r}, epoch={self.epoch!r}, '
                f'seq={self.seq})')


@dataclass(frozen=True)
class TopicInfo:
    """A topic seen on the graph, with its type and the publishers that announce it."""

    topic: str
    type_name: str
    publishers: int = 1
    meta: dict[str, Any] = field(default_factory=dict)
    latched: bool = False  # every publisher keeps its last sample for late subscribers


Handler = Callable[[dict[str, Any]], 'dict[str, Any] | Future[dict[str, Any]]']


class GraphError(Exception):
    """A request the graph cannot carry out (unknown type, bad message, timeout)."""


# action_msgs/msg/GoalStatus
GOAL_UNKNOWN, GOAL_ACCEPTED, GOAL_EXECUTING, GOAL_CANCELING = 0, 1, 2, 3
GOAL_SUCCEEDED, GOAL_CANCELED, GOAL_ABORTED = 4, 5, 6
GOAL_TERMINAL = frozenset({GOAL_SUCCEEDED, GOAL_CANCELED, GOAL_ABORTED})


@dataclass(frozen=True)
class ActionResult:
    """How a goal ended: its ``action_msgs/msg/GoalStatus`` code and the action's
    ``Result`` in rosbridge JSON form."""

    status: int
    result: dict[str, Any]


class GoalHandle:
    """A goal sent with ``Graph.send_goal``.

    ``result`` completes with an ``ActionResult`` once the goal ends (succeeded,
    canceled or aborted), or fails with ``GraphError`` when no server accepted it
    (none answered in time, it rejected the goal, the goal did not fit the type).
    ``cancel()`` asks the server to cancel; the outcome arrives through ``result``.
    Adapters pass ``cancel`` (called once, on the first ``cancel()``).
    """

    def __init__(self, goal_id: str, cancel: Callable[[], None]) -> None:
        self.goal_id = goal_id  # unique_identifier_msgs/UUID, base64 as rosbridge shows it
        self.result: Future[ActionResult] = Future()
        self._cancel: Callable[[], None] | None = cancel

    def cancel(self) -> None:
        cancel, self._cancel = self._cancel, None
        if cancel is not None and not self.result.done():
            cancel()


class ServerGoal:
    """A goal an action server (``Graph.serve_action``) accepted.

    The server's code calls ``publish_feedback`` while it works and ``finish`` once
    (later calls are ignored), from any thread. ``cancel_requested`` turns True when a
    client asks to cancel; ``on_cancel`` (if set) is called then, on a graph thread.
    """

    def __init__(self, goal_id: str, request: dict[str, Any],
                 feedback: Callable[[dict[str, Any]], None],
                 finish: Callable[[int, dict[str, Any]], None]) -> None:
        self.goal_id = goal_id
        self.request = request  # the action's Goal, rosbridge JSON form
        self.cancel_requested = False
        self.on_cancel: Callable[[], None] | None = None
        self._feedback, self._finish = feedback, finish
        self.done = False

    def publish_feedback(self, values: dict[str, Any]) -> None:
        if not self.done:
            self._feedback(values)

    def finish(self, status: int, result: dict[str, Any] | None = None) -> None:
        """End the goal with ``GOAL_SUCCEEDED``, ``GOAL_CANCELED`` or ``GOAL_ABORTED``."""
        if status not in GOAL_TERMINAL:
            raise ValueError(f"a goal ends succeeded (4), canceled (5) or aborted (6), not {status}")
        if not self.done:
            self.done = True
            self._finish(status, result or {})


class Handle(Protocol):
    def close(self) -> None: ...


class Publisher(Protocol):
    topic: str
    type_name: str
    epoch: str
    latched: bool

    def publish(self, msg: dict[str, Any]) -> int:
        """Publish ``msg`` (rosbridge JSON form); returns its ``seq``.

        Raises ``GraphError`` naming the field when ``msg`` does not fit the type.
        """

    def close(self) -> None: ...


class Graph(Protocol):
    def advertise(self, topic: str, type_name: str, msgdef: str | None = None,
                  latched: bool = False) -> Publisher:
        """A publisher for ``topic``. ``msgdef`` (ROS .msg text with dependencies in
        the rosbag2 ``concatenated`` form) is needed only for types outside the
        standard set; it is announced so that subscribers can decode the topic.
        ``latched``: the publisher keeps its last sample and a subscription made later
        receives it first (ROS 2: transient local durability, depth 1)."""

    def subscribe(
        self,
        topic: str,
        callback: Callable[[Sample], None],
        type_name: str | None = None,
    ) -> Handle:
        """Call ``callback`` for every sample on ``topic``, starting with the last
        sample of each latched publisher. With ``type_name`` None the type is taken
        from the publishers' announcements."""

    def serve(self, name: str, type_name: str, handler: Handler) -> Handle:
        """Serve service ``name`` (e.g. 'std_srvs/srv/Trigger'); ``handler`` gets the
        request and returns the response, both in rosbridge JSON form, or a
        ``concurrent.futures.Future`` of the response when it answers later (completed
        from any thread; the graph thread is not held meanwhile). An exception in
        ``handler`` or in the future is returned to the caller as a ``GraphError``
        (under ROS 2, which has no error reply, the caller gets the type's default
        response and the server logs why)."""

    def call(
        self, name: str, type_name: str, request: dict[str, Any], timeout: float
    ) -> Future[dict[str, Any]]:
        """Call a service; the future fails with ``GraphError`` on timeout, when no
        server answers, or when the server's handler failed."""

    def send_goal(
        self, action: str, type_name: str, goal: dict[str, Any],
        feedback: Callable[[dict[str, Any]], None] | None, timeout: float,
        goal_id: str | None = None,
    ) -> GoalHandle:
        """Send ``goal`` to the server of ``action`` (type 'pkg/action/Name'), over the
        ROS 2 action protocol (``<action>/_action/send_goal``, ``get_result``,
        ``cancel_goal``, ``feedback``). ``feedback(values)`` gets the goal's feedback on
        a graph thread. ``goal_id`` (a UUID, base64) names the goal on the graph; a new
        one is made when None. Never raises: every failure completes ``result`` with
        ``GraphError`` (no server within ``timeout`` seconds, rejected, bad goal)."""

    def attach_goal(
        self, action: str, type_name: str, goal_id: str, timeout: float,
    ) -> GoalHandle:
        """Follow goal ``goal_id`` of ``action`` that someone else sent (another tier,
        before a failover): ``result`` completes when the server reports the goal's end
        (``<action>/_action/get_result`` by id, answered at once if it has ended) and
        fails with ``GraphError`` when the server does not know the goal (it never
        arrived, or the server restarted or dropped its result) or no server answered
        within ``timeout`` seconds; ``cancel()`` asks the server to cancel it. Never
        raises."""

    def serve_action(
        self, action: str, type_name: str, execute: Callable[[ServerGoal], None]
    ) -> Handle:
        """Serve ``action``: every goal is accepted and handed to ``execute`` on a
        graph thread (which must not block; the goal is finished later, from any
        thread). ``GraphError`` if the type is unknown."""

    def topics(self) -> dict[str, TopicInfo]:
        """Topics with at least one live publisher, by name."""

    def services(self) -> dict[str, str]:
        """Services with a live server: name -> type."""

    def nodes(self, timeout: float) -> Future[dict[str, NodeInfo]]:
        """The nodes on the graph by full name ('/sim'), each with the topics it
        publishes and subscribes and the services it serves; the future completes
        within ``timeout`` with the nodes that answered by then (never fails)."""

    def message_fields(self, type_name: str) -> MessageFields | None:
        """The fields, constants and .msg text of a message type ('pkg/msg/Name', or
        a service's 'pkg/srv/Name_Request' / '_Response'); None when it is unknown."""

    def close(self) -> None: ...
