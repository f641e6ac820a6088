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


class Sample:
    """One message as every subscriber sees it.

    ``msg`` (rosbridge JSON form) is decoded from the graph's bytes on first use and
    then kept, so a subscriber that only buffers a sample never pays for decoding it;
    a sample that cannot be decoded raises ``GraphError`` naming its topic and type
    there. Adapters pass ``decode`` (a no-argument function returning the dict)
    instead of ``msg``.
    """

    __slots__ = ('topic', 'type_name', 'epoch', 'seq', 'source_time', 'raw_size',
                 '_msg', '_decode')

    def __init__(self, topic: str, type_name: str, msg: dict[str, Any] | None = None,
                 epoch: str = '', seq: int = 0, source_time: float = 0.0,
                 raw_size: int = 0, *,
                 decode: Callable[[], dict[str, Any]] | None = None) -> None:
        self.topic = topic
        self.type_name = type_name  # e.g. 'nav_msgs/msg/Odometry'
        self.epoch = epoch  # the publisher instance's id
        self.seq = seq  # per publisher and topic, from 1
        self.source_time = source_time  # publisher's time.time() at publish
        self.raw_size = raw_size  # serialized size on the graph, bytes (0 if unknown)
        self._msg = msg
        self._decode = decode

    @property
    def msg(self) -> dict[str, Any]:
        decode = self._decode
        if decode is not None:
            self._msg = decode()
            self._decode = None
        return self._msg  # type: ignore[return-value]

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

    def topics(self) -> dict[str, TopicInfo]:
        """Topics with at least one live publisher, by name."""

    def services(self) -> dict[str, str]:
        """Services with a live server: name -> type."""

    def close(self) -> None: ...
