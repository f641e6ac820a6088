"""An in-process ``Graph`` for unit tests: no middleware, no threads.

Delivery is synchronous on the publisher's thread, so a test publishes and asserts on
the next line. Every message is JSON-encoded once on publish and decoded separately
for each subscriber, which both checks that it is in rosbridge JSON form (no bytes,
no NaN) and keeps publishers and subscribers from sharing dicts. ``call`` and ``nodes``
return already-completed futures, unless the server's handler answers later (returns a
``Future``): then the call completes when that future does, on whichever thread
completes it. ``timeout`` is not enforced here. Actions run the ROS 2 action protocol
over these services and topics (``graph.actions``). The graph is one node (``/<name>``)
holding every publisher, subscription and server; ``others`` adds nodes a test pretends
are there, and ``types`` the message types ``message_fields`` knows.
"""
from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from functools import partial
from typing import Any

from . import actions
from .port import (
    GoalHandle,
    GraphError,
    Handler,
    MessageFields,
    NodeInfo,
    Sample,
    ServerGoal,
    TopicInfo,
)


def _encode(what: str, msg: Any) -> str:
    if not isinstance(msg, dict):
        raise GraphError(f"{what} must be a dict in rosbridge JSON form, got {type(msg).__name__}")
    try:
        return json.dumps(msg, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise GraphError(f"{what} is not in rosbridge JSON form: {exc}") from None


class _Handle:
    """Runs ``remove`` under the graph's lock on the first ``close()``."""

    def __init__(self, lock: threading.Lock, remove: Callable[[], None]) -> None:
        self._lock, self._remove = lock, remove

    def close(self) -> None:
        with self._lock:
            remove, self._remove = self._remove, lambda: None
            remove()


class MemoryPublisher:
    """A publisher on a ``MemoryGraph``; ``seq`` counts from 1."""

    def __init__(self, graph: MemoryGraph, topic: str, type_name: str, msgdef: str | None,
                 latched: bool = False):
        self.topic, self.type_name, self.msgdef = topic, type_name, msgdef
        self.latched = latched
        self.last: tuple[int, str] | None = None  # (seq, text) kept when latched
        self.epoch = uuid.uuid4().hex
        self._graph = graph
        self._seq = itertools.count(1)  # next() is atomic: publish from any thread
        self._closed = False

    def publish(self, msg: dict[str, Any]) -> int:
        if self._closed:
            raise GraphError(f"publisher for {self.topic} is closed")
        text = _encode(f"message on {self.topic}", msg)
        seq = next(self._seq)
        if self.latched:
            self.last = (seq, text)
        self._graph._deliver(self, seq, text)
        return seq

    def close(self) -> None:
        self._closed = True
        with self._graph._lock:
            if self in self._graph._publishers:
                self._graph._publishers.remove(self)


class MemoryGraph:
    """The ``Graph`` protocol in one process, delivering on the caller's thread."""

    def __init__(self, clock: Callable[[], float] = time.time, *, name: str = 'memory',
                 others: Mapping[str, NodeInfo] | None = None,
                 types: Mapping[str, MessageFields] | None = None) -> None:
        self._clock = clock
        self.name = name
        self.others = dict(others or {})
        self.types = dict(types or {})
        self._lock = threading.Lock()
        self._publishers: list[MemoryPublisher] = []
        self._subscribers: dict[str, list[tuple[Callable[[Sample], None], str | None]]] = {}
        self._servers: dict[str, tuple[str, Handler]] = {}
        self._closed = False

    def advertise(self, topic: str, type_name: str, msgdef: str | None = None,
                  latched: bool = False) -> MemoryPublisher:
        self._check_open()
        publisher = MemoryPublisher(self, topic, type_name, msgdef, latched)
        with self._lock:
            self._publishers.append(publisher)
        return publisher

    def subscribe(
        self, topic: str, callback: Callable[[Sample], None], type_name: str | None = None
    ) -> _Handle:
        """Subscriber exceptions propagate to the publisher: tests see them at once."""
        self._check_open()
        entry = (callback, type_name)
        with self._lock:
            entries = self._subscribers.setdefault(topic, [])
            entries.append(entry)
            latched = [p for p in self._publishers if p.topic == topic and p.last is not None]
        for pub in latched:
            seq, text = pub.last
            self._deliver(pub, seq, text, only=entry)
        return _Handle(self._lock, lambda: entries.remove(entry))

    def serve(self, name: str, type_name: str, handler: Handler) -> _Handle:
        self._check_open()
        entry = (type_name, handler)
        with self._lock:
            self._servers[name] = entry
        return _Handle(self._lock, lambda: self._drop_server(name, entry))

    def call(
        self, name: str, type_name: str, request: dict[str, Any], timeout: float
    ) -> Future[dict[str, Any]]:
        future: Future[dict[str, Any]] = Future()
        try:
            answer = self._call(name, type_name, request)
        except GraphError as exc:
            future.set_exception(exc)
            return future
        if isinstance(answer, Future):
            answer.add_done_callback(partial(self._answered, name, future))
        else:
            future.set_result(answer)
        return future

    def send_goal(self, action: str, type_name: str, goal: dict[str, Any],
                  feedback: Callable[[dict[str, Any]], None] | None,
                  timeout: float, goal_id: str | None = None) -> GoalHandle:
        return actions.send_goal(self, action, type_name, goal, feedback, timeout, goal_id)

    def attach_goal(self, action: str, type_name: str, goal_id: str,
                    timeout: float) -> GoalHandle:
        return actions.attach_goal(self, action, type_name, goal_id, timeout)

    def serve_action(self, action: str, type_name: str,
                     execute: Callable[[ServerGoal], None]) -> actions.ActionServer:
        self._check_open()
        return actions.ActionServer(self, action, type_name, execute)

    def topics(self) -> dict[str, TopicInfo]:
        with self._lock:
            publishers = list(self._publishers)
        found: dict[str, TopicInfo] = {}
        for pub in reversed(publishers):  # the first publisher's type and msgdef win
            count = found[pub.topic].publishers + 1 if pub.topic in found else 1
            meta = {"msgdef": pub.msgdef} if pub.msgdef else {}
            latched = pub.latched and (pub.topic not in found or found[pub.topic].latched)
            found[pub.topic] = TopicInfo(pub.topic, pub.type_name, count, meta, latched)
        return found

    def services(self) -> dict[str, str]:
        with self._lock:
            return {name: type_name for name, (type_name, _) in self._servers.items()}

    def nodes(self, timeout: float) -> Future[dict[str, NodeInfo]]:
        with self._lock:
            publishing = {p.topic: p.type_name for p in self._publishers}
            subscribing = {topic: next((t for _, t in entries if t), publishing.get(topic, ''))
                           for topic, entries in self._subscribers.items() if entries}
            services = {name: type_name for name, (type_name, _) in self._servers.items()}
        own = NodeInfo('/' + self.name, publishing, subscribing, services)
        future: Future[dict[str, NodeInfo]] = Future()
        future.set_result({own.name: own, **self.others})
        return future

    def message_fields(self, type_name: str) -> MessageFields | None:
        return self.types.get(type_name)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._publishers.clear()
            self._subscribers.clear()
            self._servers.clear()

    def _drop_server(self, name: str, entry: tuple[str, Any]) -> None:
        if self._servers.get(name) is entry:  # not replaced by a newer server
            del self._servers[name]

    def _check_open(self) -> None:
        if self._closed:
            raise GraphError("the memory graph is closed")

    def _call(self, name: str, type_name: str, request: dict[str, Any]) -> dict[str, Any]:
        text = _encode(f"request to {name}", request)
        with self._lock:
            server = self._servers.get(name)
        if server is None:
            raise GraphError(f"no server for service {name}")
        if server[0] != type_name:
            raise GraphError(f"service {name} has type {server[0]}, not {type_name}")
        try:
            response = server[1](json.loads(text))
        except Exception as exc:
            raise GraphError(f"service {name} failed: {exc}") from exc
        if isinstance(response, Future):
            return response
        return json.loads(_encode(f"response from {name}", response))

    @staticmethod
    def _answered(name: str, future: Future, answer: Future) -> None:
        """A handler's deferred answer arrived: complete the caller's future."""
        try:
            response = answer.result()
            future.set_result(json.loads(_encode(f"response from {name}", response)))
        except Exception as exc:  # the handler's GraphError, or a response not in JSON form
            future.set_exception(GraphError(f"service {name} failed: {exc}"))

    def _deliver(self, pub: MemoryPublisher, seq: int, text: str, only=None) -> None:
        with self._lock:
            entries = [only] if only else list(self._subscribers.get(pub.topic, ()))
        source_time = self._clock()
        for callback, type_name in entries:
            if type_name is not None and type_name != pub.type_name:
                continue
            callback(Sample(pub.topic, pub.type_name, None, pub.epoch, seq,
                            source_time, len(text), decode=partial(json.loads, text)))
