"""The embedded graph: the ``Graph`` port over Zenoh, carrying ROS 2 CDR via rosbags.

It stands in for DDS when ROS 2 is not installed. Payloads are little-endian CDR with
the 4-byte encapsulation header, exactly what rclpy would put on the wire, so a
rosbag2 file replays byte for byte. Key layout and attachments: see ``keys``;
endpoints, peers and the default port set: see ``zenoh_config``.

Discovery: every publisher and every server holds a liveliness token whose key names
its type, its epoch and its topic (or service); ``topics()``/``services()`` are the
live tokens. Subscribers learn a sample's type from its attachment, so a subscription
made before any publisher exists delivers as soon as one appears. A type this process
does not know is fetched from the ``types`` queryable every graph instance serves
(it answers for every type in its store, including ones advertised with ``msgdef``);
samples wait, in order, until the definition is registered.

Services are Zenoh queryables and queries (see ``services``); actions are the ROS 2
action protocol on them (``graph.actions``), with the action types in the type store.
The graph instance is one node, ``/<name>``, that says what it publishes, subscribes and
serves (see ``nodes``).

Threading: Zenoh runs callbacks on its own threads; subscription callbacks, service
handlers and ``call`` futures complete there. ``call`` never blocks its caller.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import zenoh
from zenoh.handlers import Callback

from .. import actions
from ..port import (
    GoalHandle,
    GraphError,
    Handler,
    MessageFields,
    NodeInfo,
    Sample,
    ServerGoal,
    TopicInfo,
)
from . import keys, nodes
from .convert import from_rosbridge, to_cbor, to_rosbridge
from .discovery import Directory, PendingTypes
from .services import client_callbacks, server_callback, settler
from .typestore import (
    check_type_name,
    make_typestore,
    msgdef_of,
    register_msgdef,
    service_types,
)
from .zenoh_config import open_session

log = logging.getLogger(__name__)


class Declared:
    """A handle over Zenoh declarations; ``close()`` undeclares them, once."""

    def __init__(self, items: list[Any], on_close: Callable[[Declared], None]) -> None:
        self._items = items
        self._on_close = on_close
        self.closed = False

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for item in self._items:
            try:
                item.undeclare()
            except zenoh.ZError as exc:  # the session may already be closed
                log.debug("undeclare failed: %s", exc)
        self._on_close(self)


class EmbeddedPublisher:
    """A publisher instance: its own epoch, ``seq`` from 1, a liveliness token; a
    latched one also answers queries for its last sample (``keys.latch_key``)."""

    def __init__(self, graph: EmbeddedGraph, topic: str, type_name: str,
                 latched: bool = False) -> None:
        self.topic, self.type_name, self.epoch = topic, type_name, keys.new_epoch()
        self.latched = latched
        self._graph = graph
        self._lock = threading.Lock()
        self._seq = 0
        self._last: tuple[bytes, bytes] | None = None  # (payload, attachment), if latched
        session = graph.session
        self._zpub = session.declare_publisher(
            keys.topic_key(graph.prefix, topic), encoding="application/cdr"
        )
        kind = "lat" if latched else "pub"
        token = keys.token_key(graph.prefix, kind, self.epoch, type_name, topic)
        self._token = session.liveliness().declare_token(token)
        items = [self._zpub, self._token]
        if latched:
            self._latch_key = keys.latch_key(graph.prefix, self.epoch, topic)
            items.append(session.declare_queryable(self._latch_key, self._on_latch_query))
        self._declared = Declared(items, graph.owned("pub", topic, type_name))
        graph.remember(self._declared)

    def _on_latch_query(self, query: zenoh.Query) -> None:
        with self._lock:
            last = self._last
        if last is not None:
            query.reply(self._latch_key, last[0], attachment=last[1])

    def publish(self, msg: dict[str, Any]) -> int:
        graph = self._graph
        payload = bytes(graph.typestore.serialize_cdr(
            from_rosbridge(graph.typestore, self.type_name, msg), self.type_name,
            little_endian=True,
        ))
        with self._lock:
            if self._declared.closed:
                raise GraphError(f"publisher of {self.topic} is closed")
            self._seq += 1
            seq = self._seq
            attachment = keys.encode_attachment(seq, time.time(), self.epoch, self.type_name)
            self._zpub.put(payload, attachment=attachment)
            if self.latched:
                self._last = (payload, attachment)
        return seq

    def close(self) -> None:
        with self._lock:
            self._declared.close()


class EmbeddedGraph:
    """A ROS-style graph shared by the processes that can reach each other over Zenoh."""

    def __init__(
        self,
        *,
        domain: int = 0,
        listen: list[str] | None = None,
        connect: list[str] | None = None,
        name: str = "",
    ) -> None:
        self.name = name
        self.prefix = keys.prefix(domain)
        self.typestore = make_typestore()
        self.session = open_session(listen, connect)
        self._lock = threading.Lock()
        self._declared: set[Declared] = set()
        self._closed = False
        self._directory = Directory(self.prefix)
        self._pending = PendingTypes(self._known, self._fetch_type)
        liveliness = self.session.liveliness()
        for kind in ("pub", "lat", "srv"):
            liveliness.declare_subscriber(
                f"{self.prefix}/{kind}/**", self._on_token, history=True
            )
        self.session.declare_queryable(f"{self.prefix}/types/**", self._on_types_query)
        self._node = nodes.LocalNode(name)
        self.session.declare_queryable(nodes.node_key(self.prefix, self._node.node_id),
                                       self._node.on_query)
        log.info("embedded graph %r open on %s (zid %s)", name, self.prefix, self.session.zid())

    # -- bookkeeping ------------------------------------------------------------
    def remember(self, declared: Declared) -> None:
        with self._lock:
            if self._closed:
                declared.close()
                raise GraphError("the embedded graph is closed")
            self._declared.add(declared)

    def forget(self, declared: Declared) -> None:
        with self._lock:
            self._declared.discard(declared)

    def owned(self, kind: str, name: str, type_name: str | None) -> Callable[[Declared], None]:
        """Count an entity of this node ('pub', 'sub', 'srv'); the returned ``on_close``
        of its ``Declared`` forgets both."""
        entry = self._node.add(kind, name, type_name or "")

        def on_close(declared: Declared) -> None:
            self.forget(declared)
            self._node.remove(entry)
        return on_close

    def _check_open(self) -> None:
        if self._closed:
            raise GraphError("the embedded graph is closed")

    # -- topics ----------------------------------------------------------------
    def advertise(
        self, topic: str, type_name: str, msgdef: str | None = None, latched: bool = False
    ) -> EmbeddedPublisher:
        self._check_open()
        topic = keys.ros_name(topic)
        check_type_name(type_name)
        if msgdef is not None and type_name not in self.typestore.fielddefs:
            register_msgdef(self.typestore, type_name, msgdef)
        if type_name not in self.typestore.fielddefs:
            raise GraphError(
                f"unknown message type {type_name!r} for {topic}; pass msgdef= with its "
                "definition in the rosbag2 concatenated form"
            )
        return EmbeddedPublisher(self, topic, type_name, latched)

    def subscribe(
        self,
        topic: str,
        callback: Callable[[Sample], None],
        type_name: str | None = None,
    ) -> Declared:
        self._check_open()
        topic = keys.ros_name(topic)
        if type_name is not None:
            check_type_name(type_name)
        deliver = self._deliverer(topic, callback, type_name)

        def on_sample(zsample: zenoh.Sample) -> None:
            attachment = zsample.attachment
            meta = keys.decode_attachment(attachment.to_bytes()) if attachment else None
            if meta is None:
                log.warning("dropped a sample on %s without a graph attachment", topic)
                return
            self._pending.run(meta[3], lambda: deliver(zsample.payload.to_bytes(), meta))

        def on_latched(reply: zenoh.Reply) -> None:
            if reply.ok is not None:
                on_sample(reply.ok)

        zsub = self.session.declare_subscriber(keys.topic_key(self.prefix, topic), on_sample)
        declared = Declared([zsub], self.owned("sub", topic, type_name))
        self.remember(declared)
        self.session.get(keys.latch_query(self.prefix, topic), on_latched, timeout=5.0)
        return declared

    def _deliverer(
        self, topic: str, callback: Callable[[Sample], None], want: str | None
    ) -> Callable[[bytes, tuple[int, float, str, str]], None]:
        warned: set[str] = set()
        newest: dict[str, int] = {}  # epoch -> newest seq delivered (a latched sample can
        # come both as the query's answer and live: it is delivered once)
        lock = threading.Lock()

        def deliver(payload: bytes, meta: tuple[int, float, str, str]) -> None:
            seq, source_time, epoch, type_name = meta
            with lock:
                if seq <= newest.get(epoch, 0):
                    return
                newest[epoch] = seq
                if len(newest) > 256:
                    newest.pop(next(iter(newest)))
            if want is not None and type_name != want:
                if epoch not in warned:
                    warned.add(epoch)
                    log.warning("%s: publisher %s sends %s, subscriber expects %s; dropped",
                                topic, epoch, type_name, want)
                return
            sample = Sample(topic, type_name, None, epoch, seq, source_time, len(payload),
                            decode=lambda: self._decode(topic, type_name, epoch, payload),
                            raw=payload, decode_cbor=lambda: self._decode(
                                topic, type_name, epoch, payload, self._to_cbor))
            try:
                callback(sample)
            except Exception:
                log.exception("subscription callback for %s raised", topic)

        return deliver

    def _decode(self, topic: str, type_name: str, epoch: str, payload: bytes,
                convert: Callable[[Any], dict[str, Any]] = to_rosbridge) -> dict[str, Any]:
        """A sample's CDR payload as rosbridge JSON, or ``convert``'s form (run when the
        sample is first read)."""
        try:
            return convert(self.typestore.deserialize_cdr(payload, type_name))
        except Exception as exc:
            raise GraphError(f"{topic}: cannot decode a {type_name} sample from {epoch}: "
                             f"{exc}") from exc

    def _to_cbor(self, msg: Any) -> dict[str, Any]:
        return to_cbor(self.typestore, msg)

    def topics(self) -> dict[str, TopicInfo]:
        return self._directory.topics()

    def services(self) -> dict[str, str]:
        return self._directory.services()

    def nodes(self, timeout: float) -> Future[dict[str, NodeInfo]]:
        return nodes.gather(self.session, self.prefix, self._node, timeout)

    def message_fields(self, type_name: str) -> MessageFields | None:
        return nodes.fields_of(self.typestore, type_name)

    # -- types -----------------------------------------------------------------
    def _known(self, type_name: str) -> bool:
        return type_name in self.typestore.fielddefs

    def _on_token(self, zsample: zenoh.Sample) -> None:
        parsed = self._directory.update(str(zsample.key_expr), zsample.kind)
        if parsed and not self._known(parsed):
            self._pending.run(parsed, lambda: None)  # prefetch the definition

    def _on_types_query(self, query: zenoh.Query) -> None:
        type_name = str(query.key_expr)[len(self.prefix) + len("/types/") :]
        if self._known(type_name) and "/action/" not in type_name:  # actions: built in
            query.reply(query.key_expr, msgdef_of(self.typestore, type_name))

    def _fetch_type(self, type_name: str, done: Callable[[bool], None]) -> None:
        """Ask the graph for ``type_name``'s definition; ``done(registered)``."""
        result = {"ok": False}

        def on_reply(reply: zenoh.Reply) -> None:
            if result["ok"] or reply.ok is None:
                return
            try:
                register_msgdef(self.typestore, type_name, reply.ok.payload.to_string())
                result["ok"] = True
            except GraphError as exc:
                log.error("%s", exc)

        def on_done() -> None:
            if not result["ok"]:
                log.error("no peer provided the definition of %s; its samples were dropped",
                          type_name)
            done(result["ok"])

        self.session.get(keys.types_key(self.prefix, type_name),
                         Callback(on_reply, on_done), timeout=5.0)

    # -- services --------------------------------------------------------------
    def serve(self, name: str, type_name: str, handler: Handler) -> Declared:
        self._check_open()
        name = keys.ros_name(name, "service")
        request_type, response_type = service_types(self.typestore, type_name)
        queryable = self.session.declare_queryable(
            keys.service_key(self.prefix, name),
            server_callback(self.typestore, name, (request_type, response_type), handler),
            complete=True,
        )
        token_key = keys.token_key(self.prefix, "srv", keys.new_epoch(), type_name, name)
        token = self.session.liveliness().declare_token(token_key)
        declared = Declared([queryable, token], self.owned("srv", name, type_name))
        self.remember(declared)
        return declared

    def call(
        self, name: str, type_name: str, request: dict[str, Any], timeout: float
    ) -> Future[dict[str, Any]]:
        future: Future[dict[str, Any]] = Future()
        try:
            self._check_open()
            name = keys.ros_name(name, "service")
            request_type, response_type = service_types(self.typestore, type_name)
            raw = bytes(self.typestore.serialize_cdr(
                from_rosbridge(self.typestore, request_type, request), request_type,
                little_endian=True,
            ))
        except GraphError as exc:
            future.set_exception(exc)
            return future

        def no_answer() -> str:
            if name in self.services():
                return f"service {name} did not answer within {timeout:g} s"
            return f"no server for service {name} on the graph"

        callbacks = client_callbacks(self.typestore, name, response_type, future, no_answer)
        try:
            self.session.get(keys.service_key(self.prefix, name), callbacks, payload=raw,
                             timeout=timeout, target=zenoh.QueryTarget.BEST_MATCHING)
        except zenoh.ZError as exc:
            settler(future)(error=GraphError(f"cannot call service {name}: {exc}"))
        return future

    # -- actions (the ROS 2 action protocol on the services and topics above) -----
    def send_goal(
        self, action: str, type_name: str, goal: dict[str, Any],
        feedback: Callable[[dict[str, Any]], None] | None, timeout: float,
        goal_id: str | None = None,
    ) -> GoalHandle:
        try:
            service_types(self.typestore, actions.action_types(type_name).send_goal)
        except GraphError as exc:
            return actions.failed(exc, goal_id)
        return actions.send_goal(self, action, type_name, goal, feedback, timeout, goal_id)

    def attach_goal(
        self, action: str, type_name: str, goal_id: str, timeout: float,
    ) -> GoalHandle:
        try:
            service_types(self.typestore, actions.action_types(type_name).get_result)
        except GraphError as exc:
            return actions.failed(exc, goal_id)
        return actions.attach_goal(self, action, type_name, goal_id, timeout)

    def serve_action(
        self, action: str, type_name: str, execute: Callable[[ServerGoal], None]
    ) -> actions.ActionServer:
        self._check_open()
        return actions.ActionServer(self, action, type_name, execute)

    # -- shutdown ----------------------------------------------------------------
    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            declared, self._declared = list(self._declared), set()
        for item in declared:
            item.close()
        self.session.close()
        log.info("embedded graph %r closed", self.name)

