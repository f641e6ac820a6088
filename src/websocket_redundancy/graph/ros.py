"""The ``Graph`` port on rclpy, for tiers and the coordinator running under ROS 2.

``RosGraph`` wraps a node owned by the ``ros`` shell. Types are resolved at run time
from their names (``rosidl_runtime_py.utilities.get_message``/``get_service``) and
messages cross as rosbridge JSON (``ros_convert``). Every rclpy call used here exists
with the same signature on ros2/rclpy branches ``humble`` and ``jazzy`` (checked in
``rclpy/node.py``, ``client.py``, ``subscription.py``, ``topic_endpoint_info.py``).

Threading: subscription callbacks, service handlers and call futures complete on the
executor's thread; a service handler must not block (the port's handlers don't: one
that answers later returns a ``Future``, awaited by the coroutine callback of ``serve``).
``advertise``/``subscribe``/``serve``/``call`` may be called from any thread (the
reactor's, in practice): rclpy wakes the executor when entities are added.
Actions: ``ros_actions`` (rclpy's ActionClient/ActionServer, on the executor thread).
``call`` never blocks: ``Client.call_async`` with ``add_done_callback``, completing a
``concurrent.futures.Future``; one node timer (``MAINTENANCE_S``) sends calls once
their server is discovered, expires them (``remove_pending_request``), and creates
subscriptions that waited for their topic's type.

QoS: ``/websocket_redundancy/status`` and publishers advertised ``latched`` are
reliable, transient local, depth 1 (``TopicInfo.latched``: every publisher of the topic
is transient local); other subscriptions match the publishers present at subscribe time
(best effort if any publisher is, transient local if all are), reliable/volatile/10
otherwise. Subscriptions are raw (``raw=True``: the serialized CDR), deserialized and
converted only when the sample is read (``Sample.msg``). Source keys:
``ros_convert.SourceKeys``; on Jazzy the subscription callback takes ``(msg, info)``
(rclpy >= 7 binds a two-parameter callback to message info).
"""
from __future__ import annotations

import itertools
import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from typing import Any

from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rclpy.subscription import Subscription
from rclpy.task import Future as RosFuture

from ..core.settings import STATUS_TOPIC
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
from .ros_actions import RosActions
from .ros_convert import (
    SourceKeys,
    decode_raw,
    from_rosbridge,
    to_cbor,
    to_rosbridge,
    type_class,
)
from .ros_describe import describe

log = logging.getLogger(__name__)
MAINTENANCE_S = 0.05
LATCHED = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL,
                     reliability=ReliabilityPolicy.RELIABLE)
DEFAULT = QoSProfile(depth=10)
# Jazzy's Subscription has CallbackType (message-only or with MessageInfo); Humble's not.
MESSAGE_INFO = hasattr(Subscription, "CallbackType")


def make_executor():
    """The executor to spin a node with a ``RosGraph`` on: on Jazzy rclpy's own
    ``SingleThreadedExecutor`` (it hands message info to two-parameter callbacks); on
    Humble one that does the same for this graph's subscriptions, whose info rclpy
    takes from the middleware and then drops (the source timestamps the keys need)."""
    from rclpy.executors import SingleThreadedExecutor
    if MESSAGE_INFO:
        return SingleThreadedExecutor()
    from rclpy.executors import await_or_execute

    class InfoExecutor(SingleThreadedExecutor):
        def _take_subscription(self, sub):
            if not getattr(sub.callback, "wants_info", False):
                return super()._take_subscription(sub)
            with sub.handle:
                return sub.handle.take_message(sub.msg_type, sub.raw)  # (msg, info)

        async def _execute_subscription(self, sub, taken):
            if not getattr(sub.callback, "wants_info", False):
                return await super()._execute_subscription(sub, taken)
            if taken:
                await await_or_execute(sub.callback, *taken)

    return InfoExecutor()


def _settle(future: Future, result: Any = None, error: BaseException | None = None) -> None:
    """Complete ``future`` unless a timeout or an answer already did (first one wins)."""
    try:
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)
    except InvalidStateError:
        pass


class _Handle:
    def __init__(self, close: Callable[[], None]) -> None:
        self._close, self._lock = close, threading.Lock()

    def close(self) -> None:
        with self._lock:
            close, self._close = self._close, lambda: None
        close()


class RosPublisher:
    def __init__(self, graph: RosGraph, topic: str, type_name: str,
                 latched: bool = False) -> None:
        self.topic, self.type_name = topic, type_name
        self.epoch = "local-" + uuid.uuid4().hex[:12]  # informational: receivers key by gid
        self._cls = type_class(type_name)
        self._graph = graph
        self._seq = itertools.count(1)
        self.latched = latched or topic == STATUS_TOPIC
        qos = LATCHED if self.latched else DEFAULT
        self._pub = graph.node.create_publisher(self._cls, topic, qos)
        self._handle = _Handle(lambda: graph.node.destroy_publisher(self._pub))

    def publish(self, msg: dict[str, Any]) -> int:
        self._pub.publish(from_rosbridge(self._cls, msg, f"message on {self.topic}"))
        return next(self._seq)

    def close(self) -> None:
        self._handle.close()


class RosGraph:
    def __init__(self, node, *, name: str = "") -> None:
        self.node = node
        self.name = name or node.get_name()
        self.graph_id = uuid.uuid4().hex[:12]
        self._lock = threading.Lock()
        self._calls: list[dict[str, Any]] = []
        self._clients: dict[tuple[str, str], Any] = {}
        self._waiting: list[tuple[str, Callable[[str], None]]] = []
        self._closed = False
        self._actions = RosActions(node)
        self._timer = node.create_timer(MAINTENANCE_S, self._maintain)

    # -- topics ------------------------------------------------------------------
    def advertise(self, topic: str, type_name: str, msgdef: str | None = None,
                  latched: bool = False) -> RosPublisher:
        self._check_open()
        return RosPublisher(self, topic, type_name, latched)

    def subscribe(self, topic: str, callback: Callable[[Sample], None],
                  type_name: str | None = None) -> _Handle:
        self._check_open()
        made: list[Any] = []
        state = {"closed": False}

        def create(found_type: str) -> None:
            if not state["closed"]:
                made.append(self._create_subscription(topic, found_type, callback))

        def close() -> None:
            state["closed"] = True
            for sub in made:
                self.node.destroy_subscription(sub)

        if type_name is None:
            type_name = self._type_of(topic)
        if type_name is None:
            with self._lock:  # created by _maintain once a publisher announces the type
                self._waiting.append((topic, create))
        else:
            type_class(type_name)  # an unknown type fails here, at the edge
            create(type_name)
        return _Handle(close)

    def _type_of(self, topic: str) -> str | None:
        for name, types in self.node.get_topic_names_and_types():
            if name == topic and types and self.node.count_publishers(topic) > 0:
                return types[0]
        return None

    def _publisher_gids(self, topic: str) -> list[str]:
        return [bytes(info.endpoint_gid).hex()
                for info in self.node.get_publishers_info_by_topic(topic)]

    def _qos_for(self, topic: str) -> QoSProfile:
        if topic == STATUS_TOPIC:
            return LATCHED
        infos = self.node.get_publishers_info_by_topic(topic)
        qos = QoSProfile(depth=10)
        if any(i.qos_profile.reliability == ReliabilityPolicy.BEST_EFFORT for i in infos):
            qos.reliability = ReliabilityPolicy.BEST_EFFORT
        if infos and all(i.qos_profile.durability == DurabilityPolicy.TRANSIENT_LOCAL
                         for i in infos):
            qos.durability = DurabilityPolicy.TRANSIENT_LOCAL
        return qos

    def _create_subscription(self, topic: str, type_name: str,
                             callback: Callable[[Sample], None]):
        cls = type_class(type_name)
        keys = SourceKeys(self.graph_id, lambda: self._publisher_gids(topic))

        def deliver(raw: bytes, info: dict[str, Any] | None) -> None:
            epoch, seq = keys.key(info)
            stamp = (info or {}).get("source_timestamp")
            source_time = stamp / 1e9 if isinstance(stamp, int) and stamp > 0 else time.time()
            try:
                callback(Sample(topic, type_name, None, epoch, seq, source_time, len(raw),
                                decode=lambda: decode_raw(cls, raw, topic), raw=raw,
                                decode_cbor=lambda: decode_raw(cls, raw, topic, to_cbor)))
            except Exception:  # never raise into the executor: say which topic failed
                log.exception("subscription callback for %s raised", topic)

        if MESSAGE_INFO:
            def on_message(msg, info):  # two parameters: rclpy passes MessageInfo
                deliver(msg, info)
        else:
            def on_message(msg, info=None):  # the info comes from make_executor()'s
                deliver(msg, info)
            on_message.wants_info = True
        return self.node.create_subscription(cls, topic, on_message, self._qos_for(topic),
                                             raw=True)

    def topics(self) -> dict[str, TopicInfo]:
        out = {}
        for name, types in self.node.get_topic_names_and_types():
            infos = self.node.get_publishers_info_by_topic(name)
            if infos and types:
                latched = all(i.qos_profile.durability == DurabilityPolicy.TRANSIENT_LOCAL
                              for i in infos)
                out[name] = TopicInfo(name, types[0], publishers=len(infos), latched=latched)
        return out

    def services(self) -> dict[str, str]:
        """Names with a server. rcl also lists a name that only has clients (its request
        and reply topics exist), so servers are counted: ``count_services`` on Jazzy;
        on Humble, which has none, the writers of the name's reply topic (``rr<name>Reply``,
        the DDS RMWs' mangling; only a server writes replies)."""
        named = {name: types[0] for name, types in self.node.get_service_names_and_types()
                 if types}
        count = getattr(self.node, "count_services", None)
        if count is None:
            def count(name: str) -> int:
                return len(self.node.get_publishers_info_by_topic(f"rr{name}Reply",
                                                                  no_mangle=True))
        return {name: t for name, t in named.items() if count(name) > 0}

    def nodes(self, timeout: float) -> Future[dict[str, NodeInfo]]:
        """From rclpy's graph cache at once (``get_node_names_and_namespaces`` and the
        ``get_*_names_and_types_by_node`` calls, the same in Humble and Jazzy)."""
        found: dict[str, NodeInfo] = {}
        for name, namespace in self.node.get_node_names_and_namespaces():
            full = namespace.rstrip("/") + "/" + name
            try:  # NodeNameNonExistentError when it left since the listing
                groups = [{n: t[0] for n, t in get(name, namespace) if t} for get in (
                    self.node.get_publisher_names_and_types_by_node,
                    self.node.get_subscriber_names_and_types_by_node,
                    self.node.get_service_names_and_types_by_node)]
            except Exception as exc:  # noqa: BLE001
                log.debug("node %s: %s", full, exc)
                continue
            found.setdefault(full, NodeInfo(full, *groups))
        future: Future[dict[str, NodeInfo]] = Future()
        future.set_result(found)
        return future

    def message_fields(self, type_name: str) -> MessageFields | None:
        return describe(type_name)

    # -- services ------------------------------------------------------------------
    def serve(self, name: str, type_name: str, handler: Handler) -> _Handle:
        """The callback is a coroutine in its own reentrant group: a handler that answers
        later (a ``Future``) is awaited as an executor task while every other callback
        keeps running, and ``close()`` waits for the requests in flight to send their
        answers before it destroys the service (a response sent on a destroyed service
        raises out of the executor's spin; one taken just before is dropped, logged)."""
        self._check_open()
        srv = type_class(type_name, "srv")
        state = {"active": 0, "closing": False, "lock": threading.Lock()}

        async def on_request(request, response):
            with state["lock"]:
                state["active"] += 1
            try:
                reply = handler(to_rosbridge(request))
                if isinstance(reply, Future):
                    reply = await self._answer_of(reply)
                return from_rosbridge(srv.Response, reply, f"response of {name}")
            except GraphError as exc:  # ROS 2 has no error reply: the caller gets the
                log.error("service %s: %s; the caller gets an empty response", name, exc)
                return response  # type's default response, and the log says why
            except Exception:
                log.exception("service %s handler failed", name)
                return response
            finally:
                with state["lock"]:
                    state["active"] -= 1
                    last = state["closing"] and not state["active"]
                if last:  # destroyed by a later task, after this response is sent
                    self.node.executor.create_task(destroy)

        def destroy() -> None:
            self.node.destroy_service(service)

        def close() -> None:
            with state["lock"]:
                state["closing"] = True
                idle = not state["active"]
            if idle:
                destroy()

        service = self.node.create_service(srv, name, on_request,
                                           callback_group=ReentrantCallbackGroup())
        send = service.send_response

        def send_response(response, header) -> None:  # a request taken just before close
            try:
                send(response, header)
            except Exception as exc:  # InvalidHandle: the service is gone
                log.warning("service %s closed before an answer was sent (%s)", name, exc)

        service.send_response = send_response
        return _Handle(close)

    async def _answer_of(self, answer: Future) -> dict[str, Any]:
        """Await ``answer`` (completed on any thread) in an executor task. The rclpy
        future is bound to the executor, so completing it schedules a task: that wakes
        the executor's wait on Humble too, whose tasks poll their futures only when the
        executor wakes (Jazzy resumes the awaiting task from that done callback)."""
        waiter = RosFuture(executor=self.node.executor)
        waiter.add_done_callback(lambda _: None)
        answer.add_done_callback(lambda _: waiter.set_result(None))
        await waiter
        return answer.result()

    def call(self, name: str, type_name: str, request: dict[str, Any],
             timeout: float) -> Future[dict[str, Any]]:
        future: Future[dict[str, Any]] = Future()
        try:
            self._check_open()
            srv = type_class(type_name, "srv")
            ros_request = from_rosbridge(srv.Request, request, f"request to {name}")
            with self._lock:
                client = self._clients.get((name, type_name))
                if client is None:
                    client = self._clients[(name, type_name)] = self.node.create_client(srv, name)
                self._calls.append({"client": client, "request": ros_request, "sent": None,
                                    "future": future, "name": name, "timeout": timeout,
                                    "deadline": time.monotonic() + timeout})
        except GraphError as exc:
            _settle(future, error=exc)
        return future

    # -- actions (graph/ros_actions.py) -------------------------------------------------
    def send_goal(self, action: str, type_name: str, goal: dict[str, Any],
                  feedback: Callable[[dict[str, Any]], None] | None,
                  timeout: float, goal_id: str | None = None) -> GoalHandle:
        return self._actions.send_goal(action, type_name, goal, feedback, timeout, goal_id)

    def attach_goal(self, action: str, type_name: str, goal_id: str,
                    timeout: float) -> GoalHandle:
        return self._actions.attach_goal(action, type_name, goal_id, timeout)

    def serve_action(self, action: str, type_name: str,
                     execute: Callable[[ServerGoal], None]) -> _Handle:
        self._check_open()
        return self._actions.serve_action(action, type_name, execute)

    def _send(self, call: dict[str, Any]) -> None:
        sent = call["sent"] = call["client"].call_async(call["request"])
        result: Future = call["future"]

        def done(ros_future) -> None:
            try:
                _settle(result, to_rosbridge(ros_future.result()))
            except Exception as exc:
                _settle(result, error=GraphError(f"service {call['name']} failed: {exc}"))
        sent.add_done_callback(done)

    def _maintain(self) -> None:
        """On the executor: send calls whose server is up, expire late ones, create
        subscriptions whose type became known; the same for actions."""
        self._actions.maintain()
        now = time.monotonic()
        with self._lock:
            calls = [c for c in self._calls if not c["future"].done()]
            waiting, self._waiting = self._waiting, []
        keep = []
        for call in calls:
            if now >= call["deadline"]:
                if call["sent"] is not None:
                    call["client"].remove_pending_request(call["sent"])
                    text = f"service {call['name']} did not answer within {call['timeout']:g} s"
                else:
                    text = f"no server for service {call['name']} on the graph"
                _settle(call["future"], error=GraphError(text))
                continue
            if call["sent"] is None and call["client"].service_is_ready():
                self._send(call)
            keep.append(call)
        still = []
        for topic, create in waiting:
            found = self._type_of(topic)
            if found is None:
                still.append((topic, create))
                continue
            try:
                create(found)
            except GraphError as exc:
                log.warning("cannot subscribe %s: %s", topic, exc)
        with self._lock:
            self._calls = keep + [c for c in self._calls if c not in calls]
            self._waiting = still + self._waiting

    # -- shutdown ----------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise GraphError("the ROS graph adapter is closed")

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            calls, self._calls = self._calls, []
            clients, self._clients = list(self._clients.values()), {}
        for call in calls:
            _settle(call["future"], error=GraphError("the ROS graph adapter closed"))
        self._actions.close()
        self.node.destroy_timer(self._timer)
        for client in clients:
            self.node.destroy_client(client)
