"""The tier server: one port, rosbridge v2 over WebSocket plus HTTP, on Twisted.

``TierService`` owns one tier's graph subscriptions and clients. Protocol objects
only translate: frames go to the core ``Session`` and the commands it returns are
carried out here. Graph samples arrive on graph threads and wait in an inbox
(``_arrive``/``_drain``): a sample of a topic some client takes wakes the reactor
(one ``reactor.callFromThread`` for the whole batch that is waiting by then); samples
the tier only buffers wake nothing and are taken in by the next heartbeat tick (10 Hz),
before any subscribe (so a resuming client still finds every one of them), or once
``INBOX_BATCH`` of them wait (an inactive tier has no heartbeat tick, and the inbox
stays bounded); nothing else in this module is thread-aware.

Cost per sample: the tier keeps what the graph delivered (``Sample``, still encoded)
in the topic's replay buffer behind a ``LazyFrame``; decoding and the rosbridge JSON
happen once, when a live client or a replay first needs the frame, and the same
prepared WebSocket frame is written to every client.
"""
from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from functools import partial
from typing import Any

from autobahn.twisted.websocket import WebSocketServerFactory

from ..core import commands as cmd
from ..core.encodings import STANDARD, fragments
from ..core.fanout import Hub, LazyFrame
from ..core.heartbeat import client_heartbeat
from ..core.latched import LatchedTopics
from ..core.ringbuffer import ReplayBuffer
from ..core.rosapi import is_rosapi
from ..core.rosbridge import Session, role_for_token
from ..core.security import origin_allowed
from ..core.settings import ANONYMOUS, HEARTBEAT_TOPIC, Settings
from ..graph.port import Graph, GraphError, Sample
from . import rosapi
from .action_servers import ServedActions
from .actions import TierActions
from .frames import FrameShaper
from .protocol import TierProtocol
from .provided import ProvidedServices
from .publishers import TierPublishers

log = logging.getLogger(__name__)
MAX_PROBES = 4
PROBE_HEADER = 'x-websocket-redundancy-probe'
INBOX_BATCH = 256  # samples that only wait for the buffer wake the loop after this many


def _fast_encoder() -> Callable[[Any], bytes]:
    try:
        import orjson
    except ImportError:
        return Hub().encode
    return orjson.dumps


class TierService:
    """Everything one tier serves. ``listen()``/``close()`` are driven by the shell
    (and by lifecycle transitions)."""

    def __init__(self, settings: Settings, tier_name: str, graph: Graph, reactor,
                 clock: Callable[[], float] = time.monotonic):
        self.settings = settings
        self.tier = settings.tier(tier_name)
        self.limits = settings.limits
        self.graph = graph
        self.reactor = reactor
        self.clock = clock
        self.session_id = uuid.uuid4().hex[:12]
        self.started = clock()
        self.state = 'active'
        self.hub = Hub(_fast_encoder())
        self.clients: dict[TierProtocol, Session] = {}
        self.probes: set[TierProtocol] = set()
        self.refused: Counter[str] = Counter()
        self.delivered = 0
        self.replayed = 0
        self.dropped = 0
        self._graph_subs: dict[str, Any] = {}
        self._tracked: set[str] = set()  # topics kept subscribed (and buffered) while active
        self.latched: LatchedTopics[LazyFrame] = LatchedTopics()
        self.buffers: dict[str, ReplayBuffer[LazyFrame]] = {}
        self._inbox: list[Sample] = []
        self._inbox_lock = threading.Lock()
        self._wake_pending = False  # a _drain is scheduled on the reactor
        self._undecodable: set[str] = set()  # topics whose decode failure was logged
        self.publishers = TierPublishers(self)  # what clients publish through (publishers.py)
        self._heartbeat_seq = 0
        self.actions = TierActions(self)  # goals its clients sent (tier/actions.py)
        self.provided = ProvidedServices(self)  # services clients provide (advertise_service)
        self.served = ServedActions(self)  # actions clients provide (advertise_action)
        self.port: int | None = None
        self.tls = settings.security.tls
        if ANONYMOUS in self.tier.publish_roles:
            log.warning('%s: clients without a token may publish %s and call services here '
                        "(publish_roles includes '%s'); do this only on a closed network",
                        self.tier.name, self.tier.publish, ANONYMOUS)
        # Autobahn refuses port 0 in its URL; the URL only names the server, so a tier
        # configured for "any free port" is named without one.
        url = self.tier.public_url(tls=self.tls) if self.tier.port else None
        self.factory = WebSocketServerFactory(url)
        self.factory.protocol = TierProtocol
        self._shape = FrameShaper(self.factory)  # the frame forms besides plain JSON
        self.factory.service = self
        self.factory.setProtocolOptions(
            maxMessagePayloadSize=2 * self.limits.max_frame_bytes,
            maxFramePayloadSize=2 * self.limits.max_frame_bytes,
            autoPingInterval=5.0, autoPingTimeout=10.0,
            openHandshakeTimeout=self.limits.handshake_timeout_s, closeHandshakeTimeout=2.0,
        )

    # ---- clients ------------------------------------------------------------------
    def origin_allowed(self, origin: str | None, host: str | None) -> bool:
        security = self.settings.security
        return origin_allowed(origin, host, security.allowed_origins,
                              [t.public_url(tls=security.tls) for t in self.settings.tiers])

    def admit(self, proto: TierProtocol, token: str | None, probe: bool = False) -> str:
        """'' when the client may stay, else why not (the shell closes with 1013).

        Health probes (the coordinator's) have a few slots of their own, so a full tier
        can still be watched and the probe is not counted as a client.
        """
        if probe and len(self.probes) < MAX_PROBES:
            self.probes.add(proto)
        elif len(self.clients) - len(self.probes) >= self.tier.capacity:
            self.refused['capacity'] += 1
            return f'the {self.tier.name} tier is full ({self.tier.capacity} clients)'
        role = role_for_token(token, self.settings.roles)
        if token and role is None:
            self.refused['auth'] += 1
            log.warning('%s: a client offered a token that matches no role', self.tier.name)
        self.clients[proto] = Session(self.tier, self.limits, self.settings.roles, role=role)
        return ''

    def drop(self, proto: TierProtocol) -> None:
        self.probes.discard(proto)
        session = self.clients.pop(proto, None)
        if session is not None:
            self.execute(proto, session.closed())

    def receive(self, proto: TierProtocol, payload: bytes, is_binary: bool) -> None:
        session = self.clients.get(proto)
        if session is not None:
            self.execute(proto, session.receive(payload, is_binary, self.clock()))
            for topic in session.subscriptions:  # the form it takes each topic in
                self.hub.set_form(topic, proto, session.forms.get(topic))

    def execute(self, proto: TierProtocol, commands: list[Any]) -> None:
        for command in commands:
            handler = getattr(self, '_do_' + type(command).__name__)
            handler(proto, command)

    def _do_Refused(self, proto, command: cmd.Refused) -> None:
        self.refused[command.kind] += 1
        log.warning('%s: refused from %s: %s', self.tier.name, proto.peer, command.detail)

    def _do_Reply(self, proto, command: cmd.Reply) -> None:
        frame = self.hub.encode(command.frame)
        size = self.clients[proto].fragment_size if proto in self.clients else 0
        for piece in fragments(frame, size, str(command.frame.get('id', ''))) if size \
                else (frame,):
            proto.send_control(piece)

    def _do_Close(self, proto, command: cmd.Close) -> None:
        proto.close_with(command.code, command.reason)

    def _do_Subscribe(self, proto, command: cmd.Subscribe) -> None:
        self._drain()  # what arrived before this subscribe is buffered, not sent to it
        self.hub.add(command.topic, proto, self.clients[proto])
        if command.topic == HEARTBEAT_TOPIC:
            return
        if command.topic not in self._graph_subs:
            self._graph_subscribe(command.topic, command.type_name)
        if command.resume is not None:
            self._replay(proto, command)
        else:
            info = self.graph.topics().get(command.topic)
            if info is not None:  # latched since the last look (track_topics runs at 2 Hz)
                self.note_latched(command.topic, info.latched)
            self._send_latched(proto, command.topic)

    def _send_latched(self, proto, topic: str) -> None:
        """A new subscriber to a latched topic gets each publisher's last sample first,
        as rosbridge_server's transient-local subscription gives it (a resuming client
        had them from the tier it left)."""
        form = self.clients[proto].forms.get(topic, STANDARD)
        for lazy in self.latched.latest(topic):
            for prepared in lazy.shaped(form, self._shape):
                proto.send_data(prepared)

    def _replay(self, proto, command: cmd.Subscribe) -> None:
        """Send what a resuming client missed, after the gap notice if there is one.

        A tier with no buffer for the topic cannot judge and replays nothing; the
        client's delivery filter still reports any hole once live samples arrive.
        """
        buffer = self.buffers.get(command.topic)
        if buffer is None:
            return
        epoch, seq = command.resume
        frames, gap = buffer.since(epoch, seq, self.clock(), dict(command.streams))
        if gap is not None:
            proto.send_control(self.hub.encode(gap.to_wire(command.topic, None)))
        form = self.clients[proto].forms.get(command.topic, STANDARD)
        sent = 0
        for lazy in frames:
            shaped = lazy.shaped(form, self._shape)
            for prepared in shaped:
                proto.send_data(prepared)
            sent += bool(shaped)
        self.replayed += sent

    def _graph_subscribe(self, topic: str, type_name: str | None) -> None:
        try:
            self._graph_subs[topic] = self.graph.subscribe(topic, self._arrive, type_name)
        except GraphError as exc:
            log.warning('%s: cannot subscribe %s on the graph: %s', self.tier.name, topic, exc)

    def track_topics(self) -> None:
        """Keep every graph topic in this tier's scope subscribed and buffered, so a
        client failing over to this tier can resume without loss."""
        topics = self.graph.topics()
        self.actions.track(topics)  # action feedback, for clients that re-attach to goals
        for topic, info in topics.items():
            if not self.tier.subscribe.allows(topic) or topic.startswith('/websocket_redundancy/'):
                continue
            self.note_latched(topic, info.latched)
            if topic not in self._tracked:
                self._tracked.add(topic)
                if topic not in self._graph_subs:
                    self._graph_subscribe(topic, info.type_name)

    def note_latched(self, topic: str, latched: bool) -> None:
        """What the graph says of ``topic`` now: latched (all its publishers latch) or
        not; a topic that has just begun to latch takes its latched samples from what
        its replay buffer already holds."""
        if self.latched.note(topic, latched):
            self._drain()
            buffer = self.buffers.get(topic)
            if buffer is not None:
                self.latched.seed(topic, buffer.newest())

    def _do_Unsubscribe(self, proto, command: cmd.Unsubscribe) -> None:
        if self.hub.remove(command.topic, proto) and command.topic not in self._tracked:
            handle = self._graph_subs.pop(command.topic, None)
            if handle is not None:
                handle.close()

    def _do_Advertise(self, proto, command: cmd.Advertise) -> None:
        self.publishers.advertise(proto, command)

    def _do_Unadvertise(self, proto, command: cmd.Unadvertise) -> None:
        self.publishers.unadvertise(proto, command)

    def _do_Publish(self, proto, command: cmd.Publish) -> None:
        self.publishers.publish(proto, command)

    def _do_CallService(self, proto, command: cmd.CallService) -> None:
        if is_rosapi(command.service):  # the tier answers rosapi itself, within its scope
            rosapi.answer_call(self, proto, command)
            return
        session = self.clients[proto]
        # the graph's type first: a client's may be a ROS 1 name (roslibjs 1.x), and
        # rosbridge_server ignores it too
        type_name = self.graph.services().get(command.service) or command.type_name
        if not type_name:
            self.execute(proto, [session.service_response(
                command, False, f'service {command.service} is not available')])
            return
        future = self.graph.call(command.service, type_name, command.args,
                                 timeout=command.timeout)

        def done(fut) -> None:
            try:
                reply = session.service_response(command, True, fut.result())
            except Exception as exc:  # GraphError, timeouts: the caller reads why
                reply = session.service_response(command, False, str(exc))
            self.reactor.callFromThread(self._reply_if_connected, proto, reply)
        future.add_done_callback(done)

    def _do_SendGoal(self, proto, command: cmd.SendGoal) -> None:
        self.actions.send(proto, command)

    def _do_CancelGoal(self, proto, command: cmd.CancelGoal) -> None:
        self.actions.cancel(proto, command)

    def _do_AttachGoal(self, proto, command: cmd.AttachGoal) -> None:
        self.actions.attach(proto, command)

    def _do_DetachGoals(self, proto, command: cmd.DetachGoals) -> None:
        self.actions.detach(proto)

    def _do_AdvertiseService(self, proto, command: cmd.AdvertiseService) -> None:
        self.provided.advertise(proto, command)

    def _do_UnadvertiseService(self, proto, command: cmd.UnadvertiseService) -> None:
        self.provided.unadvertise(proto, command)

    def _do_AnswerCall(self, proto, command: cmd.AnswerCall) -> None:
        self.provided.answer(command)

    def _do_AdvertiseAction(self, proto, command: cmd.AdvertiseAction) -> None:
        self.served.advertise(proto, command)

    def _do_UnadvertiseAction(self, proto, command: cmd.UnadvertiseAction) -> None:
        self.served.unadvertise(proto, command)

    def _do_ServedFeedback(self, proto, command: cmd.ServedFeedback) -> None:
        self.served.feedback(command)

    def _do_EndServedGoal(self, proto, command: cmd.EndServedGoal) -> None:
        self.served.end(command)

    def _reply_if_connected(self, proto, reply: cmd.Reply) -> None:
        if proto in self.clients:
            self._do_Reply(proto, reply)

    # ---- outgoing -----------------------------------------------------------------
    def _arrive(self, sample: Sample) -> None:
        """On a graph thread: queue ``sample``; wake the reactor if a client takes its
        topic and no wake-up is pending (a sample only buffered waits for ``beat``)."""
        with self._inbox_lock:
            self._inbox.append(sample)
            if self._wake_pending or (not self.hub.has(sample.topic)
                                      and len(self._inbox) < INBOX_BATCH):
                return
            self._wake_pending = True
        self.reactor.callFromThread(self._drain)

    def _drain(self) -> None:
        with self._inbox_lock:
            batch, self._inbox = self._inbox, []
            self._wake_pending = False
        if not batch:
            return
        now = self.clock()
        for sample in batch:
            self.on_sample(sample, now)

    def on_sample(self, sample: Sample, now: float | None = None) -> None:
        """A graph sample, on the reactor thread: buffer it for resuming clients (still
        encoded) and, if any client takes the topic, encode it once and send it."""
        topic = sample.topic
        keys = self.hub.subscribers(topic)
        if not keys and topic not in self._tracked:
            return
        now = self.clock() if now is None else now
        lazy = LazyFrame(partial(self._encode, sample), sample.epoch, sample.seq, sample)
        buffer = self.buffers.get(topic)
        if buffer is None:
            buffer = self.buffers[topic] = ReplayBuffer(self.limits.replay_items,
                                                        self.limits.replay_age_s)
        buffer.append(sample.epoch, sample.seq, now, lazy)
        if topic in self.latched:
            self.latched.record(topic, sample.epoch, lazy)
        if keys:
            self._fan_out(topic, lazy, now)

    def _encode(self, sample: Sample, key: tuple[str, int] | None = None) -> bytes | None:
        """The ``publish`` frame of ``sample`` (decoded here, the first time anyone
        needs it; with ``key``, the resume key's form), or None if the graph's bytes do
        not decode (logged once per topic)."""
        try:
            msg = sample.msg
        except GraphError as exc:
            self.dropped += 1
            if sample.topic not in self._undecodable:
                self._undecodable.add(sample.topic)
                log.error('%s: %s; such samples are dropped', self.tier.name, exc)
            return None
        return self.hub.publish_frame(sample.topic, msg, key)

    def _fan_out(self, topic: str, lazy: LazyFrame, now: float) -> None:
        """The hot path: per group of clients taking the same form of frame (the
        standard one; with the resume key; CBOR, PNG, fragments), the frame is prepared
        once and sent with one dict lookup per client unless it asked for a throttle."""
        sent = 0
        for form, members in list(self.hub.groups(topic).items()):
            if form is None:
                frame = lazy.get()
                if frame is None:
                    return
                frames = [self.factory.prepareMessage(frame)]
            else:
                frames = lazy.shaped(form, self._shape)
                if not frames:
                    continue
            if len(frames) == 1:
                prepared = frames[0]
                for proto, session in list(members.items()):
                    throttle = session.throttles.get(topic)
                    if throttle is None or (throttle and not session.wants(topic, now)):
                        continue
                    proto.send_data(prepared)
                    sent += 1
            else:  # fragments
                for proto, session in list(members.items()):
                    throttle = session.throttles.get(topic)
                    if throttle is None or (throttle and not session.wants(topic, now)):
                        continue
                    for prepared in frames:
                        proto.send_data(prepared)
                    sent += 1
        self.delivered += sent

    def beat(self) -> None:
        """One heartbeat to this tier's own clients, from this tier's own loop; samples
        that woke nothing (topics no client takes) go into their buffers first."""
        self._drain()
        self._heartbeat_seq += 1
        keys = self.hub.subscribers(HEARTBEAT_TOPIC)
        if keys:
            msg = client_heartbeat(self.tier.name, self.session_id, self._heartbeat_seq,
                                    time.time())
            beat = Sample(HEARTBEAT_TOPIC, 'std_msgs/msg/String', msg, self.session_id,
                          self._heartbeat_seq)
            lazy = LazyFrame(partial(self.hub.publish_frame, HEARTBEAT_TOPIC, msg),
                             self.session_id, self._heartbeat_seq, beat)
            self._fan_out(HEARTBEAT_TOPIC, lazy, self.clock())

    # ---- views --------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        return {
            'tier': self.tier.name, 'state': self.state, 'pid': os.getpid(),
            'clients': len(self.clients) - len(self.probes), 'probes': len(self.probes),
            'capacity': self.tier.capacity,
            'session': self.session_id, 'uptime_s': round(self.clock() - self.started, 3),
            'port': self.port, 'url': self.tier.public_url(self.port, self.tls),
            'priority': self.tier.priority,
            'scope': {'subscribe': list(self.tier.subscribe.patterns),
                      'publish': list(self.tier.publish.patterns)},
            'topics': self.hub.topics(), 'buffered_topics': len(self.buffers),
            'delivered': self.delivered, 'replayed': self.replayed,
            'dropped': self.dropped + sum(p.queue.dropped for p in self.clients),
            'refused': dict(self.refused), 'errors': sum(self.refused.values()),
            'provided_services': sorted(self.provided.providers),
            'provided_actions': sorted(self.served.providers),
        }

    def close_clients(self, code: int, reason: str) -> None:
        for proto in list(self.clients):
            proto.close_with(code, reason)

    def release(self) -> None:
        with self._inbox_lock:
            self._inbox = []
        self.provided.release()
        self.served.release()
        self.actions.release()
        for handle in self._graph_subs.values():
            handle.close()
        self._graph_subs.clear()
        self.publishers.release()
        self._tracked.clear()
        self.latched.clear()
        self.buffers.clear()
