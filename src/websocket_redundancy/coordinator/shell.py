"""The coordinator shell: graph and probe I/O and timers around the core models.

``Coordinator.start()`` (the coordinator's *activate*) watches every endpoint's graph
heartbeat and transition events (the configured tiers' from the start, any other as
soon as its heartbeat appears on the graph: ``coordinator.watch``), opens one WebSocket
probe per endpoint and arms the timers; ``stop()`` undoes all of it. Inputs become
``core.health`` events, the models decide, and their commands become graph calls:

    graph heartbeat        -> Heartbeat (and ProcessStarted when its session is new
                              after a restart, TransitionEvent when its state changes);
                              a new endpoint joins the directory (``core.endpoints``)
    heartbeat topic gone   -> ProcessExited (its publisher's liveliness is gone)
    transition_event       -> TransitionEvent(goal_state)
    probe, every interval  -> ProbeResult(ok, latency)
    GetState / ChangeState -> /<node>/get_state, /<node>/change_state with a timeout;
                              a failure or timeout is a result the model sees
    Respawn                -> nothing to do here: in embedded mode the ``up``
                              supervisor restarts the process; recovery waits for the
                              new session (``respawn_timeout``) and then activates it

Models are keyed by endpoint id (the tier name for a configured endpoint). A
configured tier is *held* (``RecoveryModel.hold``) until its first heartbeat: the
coordinator does not try to recover a tier that has not started yet. A self-registered
endpoint is not supervised here (nobody respawns it); it leaves the directory when it
says so or when it has been DOWN and gone for ``forget_after``.

Threading: graph callbacks and service futures complete on graph threads and cross
with ``call_from_thread`` (``reactor.callFromThread``); everything else runs on the
loop, which this class never blocks. Time: deadlines use ``monotonic`` and timers
``clock.callLater``; tests pass ``task.Clock()`` for both.
"""
from __future__ import annotations

import json
import logging
import socket
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from twisted.internet.task import LoopingCall

from ..core import endpoints as e
from ..core import health as h
from ..core import recovery as r
from ..core.coordination import CoordinatorModel, Forget, Report, TimerFired
from ..core.settings import STATUS_TOPIC, Settings
from ..core.status import CoordinatorInfo, EventLog, TierView, build_status
from ..graph.port import Graph, GraphError
from . import views
from .inputs import EndpointInputs
from .watch import HeartbeatWatch

log = logging.getLogger(__name__)
STATUS_TYPE = 'std_msgs/msg/String'


@dataclass(frozen=True)
class CoordinatorSettings:
    probe_interval: float = 0.5  # s; a probe is ok when a frame arrived within it
    status_period: float = 0.5  # s between status publications (besides on change)
    diagnostics_period: float = 1.0
    presence_period: float = 0.1  # s between looks at the graph's live heartbeat topics
    forget_after: float = 10.0  # s DOWN and gone before a self-registered endpoint is dropped
    health: h.HealthSettings = field(default_factory=h.HealthSettings)
    recovery: r.RecoverySettings = field(default_factory=r.RecoverySettings)


def _default_probe(clock, interval: float):
    from .probe import WebSocketProbe
    return lambda tier, url: WebSocketProbe(clock, url, interval)


class Coordinator(EndpointInputs):
    def __init__(self, settings: Settings, graph: Graph, clock, *,
                 config: CoordinatorSettings | None = None,
                 call_from_thread: Callable[..., None] | None = None,
                 monotonic: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time,
                 probe_factory: Callable[[str, str], Any] | None = None,
                 out: Callable[[str], None] = print) -> None:
        self.settings, self.graph, self.clock = settings, graph, clock
        self.config = config or CoordinatorSettings()
        self._post = call_from_thread or clock.callFromThread
        self._now, self._wall, self._out = monotonic, wall, out
        self._probe_factory = probe_factory or _default_probe(clock, self.config.probe_interval)
        self.info = CoordinatorInfo(uuid.uuid4().hex[:12], round(wall(), 3),
                                    socket.gethostname(), settings.graph.mode)
        self.names = [t.name for t in settings.tiers]
        self.running = False
        self.status_json = ''  # the latest document, read by the status service

    # ---- lifecycle: activate / deactivate -------------------------------------------
    def start(self) -> None:
        now, names = self._now(), tuple(self.names)
        self.health = h.HealthModel(self.config.health, names, now)
        # Every configured tier is restarted by someone (``up``); Respawn means "wait".
        self.recovery = r.RecoveryModel(self.config.recovery, supervised=names)
        self.registry = e.Registry(names, self.config.forget_after)
        self.model = CoordinatorModel(self.health, self.recovery, self.registry)
        self.events = EventLog()
        self.views: dict[str, TierView] = {
            t.name: views.configured_view(t) for t in self.settings.tiers}
        self._node = {name: name for name in names}  # endpoint -> graph node name
        self._session: dict[str, str | None] = dict.fromkeys(names)
        self._state: dict[str, str | None] = dict.fromkeys(names)  # lifecycle last fed
        self._last_beat_state: dict[str, str] = {}
        self._present = dict.fromkeys(names, False)
        self._exited = dict.fromkeys(names, False)
        self._calls: dict[str, object] = {}
        self._queue: deque[object] = deque()
        self._draining, self._timer, self._changed = False, None, True
        self._announced: set[int] = set()  # RecoveryStarted already told with its cause
        for name in names:
            self.recovery.hold(name)
        self.running = True
        self._watch = HeartbeatWatch(self.graph, names,
                                     self._from_graph(self._on_heartbeat),
                                     self._from_graph(self._on_transition))
        self._status_pub = self.graph.advertise(STATUS_TOPIC, STATUS_TYPE, latched=True)
        self._diag_pub = self.graph.advertise(views.DIAGNOSTICS_TOPIC, views.DIAGNOSTICS_TYPE)
        self._handles = [self.graph.serve(STATUS_TOPIC, 'std_srvs/srv/Trigger',
                                          self._serve_status)]
        self._probes = {n: self._probe_factory(n, self.views[n].url) for n in names}
        c = self.config
        self._loops = [self._loop(self._probe_tick, c.probe_interval),
                       self._loop(self._presence_tick, c.presence_period),
                       self._loop(self._publish_status, c.status_period),
                       self._loop(self._publish_diagnostics, c.diagnostics_period)]
        self._publish_status()
        self._arm()

    def stop(self) -> None:
        if not self.running:
            return
        self.running = False
        for loop in self._loops:
            if loop.running:
                loop.stop()
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        self._watch.close()
        for handle in self._handles:
            handle.close()
        for pub in (self._status_pub, self._diag_pub):
            pub.close()
        for probe in self._probes.values():
            probe.stop()
        self._probes, self._handles, self._calls = {}, [], {}

    def _loop(self, fn: Callable[[], None], period: float) -> LoopingCall:
        loop = LoopingCall(fn)
        loop.clock = self.clock
        loop.start(period, now=False)
        return loop

    # ---- graph inputs (graph threads) ----------------------------------------------
    def _from_graph(self, handler):
        def on_sample(node: str, sample) -> None:
            self._post(self._if_running, handler, node, sample.msg)
        return on_sample

    def _if_running(self, fn, *args) -> None:
        if self.running:
            fn(*args)

    def _serve_status(self, request: dict) -> dict:
        text = self.status_json
        return {'success': bool(text), 'message': text or 'the coordinator is starting'}

    def _probe_tick(self) -> None:
        for name, probe in list(self._probes.items()):
            ok, latency = probe.take()
            if name in self._probes:
                self._feed(h.ProbeResult(name, ok, latency))

    def _replace_probe(self, name: str, url: str) -> None:
        old = self._probes.get(name)
        if old is not None:
            old.stop()
        log.info('coordinator: probing %s at %s', name, url)
        self._probes[name] = self._probe_factory(name, url)

    # ---- the models ----------------------------------------------------------------
    def _feed(self, *events: object) -> None:
        """Queue inputs and drain: a synchronous answer never re-enters a decision."""
        self._queue.extend(events)
        if self._draining:
            return
        self._draining = True
        try:
            while self._queue and self.running:
                self._dispatch(self._queue.popleft())
        finally:
            self._draining = False
        if self.running:
            self._arm()
            if self._changed:
                self._publish_status()

    def _dispatch(self, event: object) -> None:
        """Carry out what the model answers (``core.coordination``)."""
        now = self._now()
        for out in self.model.handle(event, now, self.views):
            if isinstance(out, Report):
                self._report(out.item, now, list(out.follow))
            elif isinstance(out, Forget):
                self._remove(out.left.endpoint, out.left)
            elif getattr(out, 'tier', None) in self.views:
                self._execute(out, now)

    def _arm(self) -> None:
        if not self.running:
            return
        deadline = self.model.next_deadline()
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        if deadline is not None:
            self._timer = self.clock.callLater(max(0.0, deadline - self._now()), self._fire)

    def _fire(self) -> None:
        self._timer = None
        self._feed(TimerFired())

    def _report(self, item: object, now: float, follow: list[object] = ()) -> None:
        self.events.record(item, now)
        self._changed = True
        line = views.progress_line(item, follow)
        if line.endswith(' -> recovering'):
            self._announced.update(id(f) for f in follow if isinstance(f, r.RecoveryStarted))
        if line and id(item) not in self._announced:
            self._out(line)
        log.info('coordinator: %s', item)

    # ---- commands ------------------------------------------------------------------
    def _execute(self, command: object, now: float) -> None:
        tier = getattr(command, 'tier', '')
        node = self._node.get(tier, tier)
        if isinstance(command, r.GetState):
            self._call(tier, f'/{node}/get_state', 'lifecycle_msgs/srv/GetState', {},
                       lambda resp: r.GetStateResult(tier, views.state_label(resp)),
                       r.GetStateResult(tier, None))
        elif isinstance(command, r.ChangeState):
            label = command.transition_label
            self._call(tier, f'/{node}/change_state', 'lifecycle_msgs/srv/ChangeState',
                       {'transition': {'id': 0, 'label': label}},
                       lambda resp: r.ChangeStateResult(tier, label, resp.get('success') is True),
                       r.ChangeStateResult(tier, label, False))
        else:  # Respawn (the supervisor restarts it; recovery waits), MarkFailed, records
            self._report(command, now)
        self._announced.discard(id(command))

    def _call(self, tier: str, service: str, type_name: str, request: dict,
              to_result: Callable[[dict], object], failed: object) -> None:
        token = self._calls[tier] = object()

        def done(future) -> None:
            try:
                result = to_result(future.result())
            except Exception as exc:  # GraphError, timeout, a bad answer: a failed call
                log.info('coordinator: %s: %s', service, exc)
                result = failed
            self._post(self._call_done, tier, token, result)
        try:
            future = self.graph.call(service, type_name, request,
                                     timeout=self.config.recovery.call_timeout)
        except GraphError as exc:
            log.info('coordinator: %s: %s', service, exc)
            self._feed(failed)
            return
        future.add_done_callback(done)

    def _call_done(self, tier: str, token: object, result: object) -> None:
        if self.running and self._calls.get(tier) is token:
            self._feed(result)

    # ---- outputs -------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        return build_status(generated_at=round(self._wall(), 3), now=self._now(),
                            coordinator=self.info, tiers=self.views.values(),
                            health=self.health, recovery=self.recovery, events=self.events)

    def _publish_status(self) -> None:
        self._changed = False
        self.status_json = json.dumps(self.status(), separators=(',', ':'))
        self._publish(self._status_pub, {'data': self.status_json})

    def _publish_diagnostics(self) -> None:
        self._publish(self._diag_pub, views.diagnostics_message(self.status(), self._wall()))

    def _publish(self, publisher, msg: dict) -> None:
        try:
            publisher.publish(msg)
        except GraphError as exc:
            log.warning('coordinator: cannot publish %s: %s', publisher.topic, exc)
