"""A tier as a managed lifecycle node on the embedded graph.

The core ``LifecycleMachine`` is the authority; this shell serves
``/<node>/get_state``, ``/<node>/change_state`` and
``/<node>/get_available_transitions`` with ``lifecycle_msgs`` semantics, publishes
``/<node>/transition_event``, and calls the transition callbacks. ``<node>`` is the
endpoint id as a ROS name (``core.endpoints``): the tier's name for its configured
endpoint, ``primary_relay_9090`` for a replica ``primary@relay:9090``.

    configure   build the tier (TierService, HTTP site); nothing listens yet
    activate    listen on the port (WebSocket + HTTP)
    deactivate  stop listening; clients are closed with 1001 so they fail over at once
    cleanup     release graph subscriptions and publishers
    shutdown    release everything; the process then exits (finalized)

An invalid request is answered ``success=False`` with the reason logged; it never
raises into the graph. In every state the node publishes the graph heartbeat
``/websocket_redundancy/heartbeat/<node>`` (20 Hz, with the event-loop tick counter)
that the coordinator watches and that carries the endpoint's directory entry (tier,
endpoint, url, scope, load...): a tier started anywhere on the graph registers itself
with it. Its last heartbeat, on shutdown or when the process stops, says
``leaving: true``, so the coordinator drops a replica at once.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections.abc import Callable

from twisted.internet import threads
from twisted.internet.task import LoopingCall

from ..core.endpoints import default_endpoint, node_name
from ..core.heartbeat import (
    GRAPH_HEARTBEAT,
    GRAPH_HEARTBEAT_HZ,
    HEARTBEAT_TYPE,
    Presence,
    graph_heartbeat,
)
from ..core.lifecycle import LifecycleError, LifecycleMachine, State
from ..core.settings import ENVIRONMENT_ERRORS, STATUS_TOPIC, Settings, SettingsError
from ..graph.port import Graph, GraphError
from .signals import stop_once
from .tier_process import TierRunner

log = logging.getLogger(__name__)


def _state_msg(state: State) -> dict:
    return {'id': int(state), 'label': state.label}


class TierNode:
    def __init__(self, settings: Settings, tier_name: str, graph: Graph, reactor,
                 port: int | None = None, on_ready: Callable[[int], None] | None = None,
                 endpoint: str | None = None):
        self.settings = settings
        self.tier = settings.tier(tier_name)
        self.graph = graph
        self.reactor = reactor
        self.port_wanted = port
        self.on_ready = on_ready
        self.machine = LifecycleMachine()
        self.runner: TierRunner | None = None
        self.status_doc: dict | None = None
        self.session = os.urandom(6).hex()
        self.tick = 0
        self._seq = 0
        self.endpoint = endpoint or default_endpoint(
            tier_name, self.tier.port, port, self.tier.host, socket.gethostname())
        self.node = node_name(self.endpoint)
        self.leaving = False
        name = '/' + self.node
        self._handles = [
            graph.serve(name + '/get_state', 'lifecycle_msgs/srv/GetState',
                        lambda req: {'current_state': _state_msg(self.machine.state)}),
            graph.serve(name + '/change_state', 'lifecycle_msgs/srv/ChangeState',
                        self._serve_change_state),
            graph.serve(name + '/get_available_transitions',
                        'lifecycle_msgs/srv/GetAvailableTransitions', self._serve_available),
            graph.subscribe(STATUS_TOPIC, self._on_status, 'std_msgs/msg/String'),
        ]
        self._events = graph.advertise(name + '/transition_event',
                                       'lifecycle_msgs/msg/TransitionEvent')
        self._heartbeat = graph.advertise(GRAPH_HEARTBEAT + self.node, HEARTBEAT_TYPE)
        self._loop = LoopingCall(self._beat)
        self._loop.clock = reactor
        self._loop.start(1.0 / GRAPH_HEARTBEAT_HZ, now=True)

    # ---- lifecycle ----------------------------------------------------------------
    def change_state(self, transition: str | int) -> tuple[bool, str]:
        """Run one transition on the reactor thread: (success, reason)."""
        start = self.machine.state
        try:
            middle = self.machine.begin(transition)
        except LifecycleError as exc:
            log.warning('%s: refused transition %r: %s', self.tier.name, transition, exc)
            return False, str(exc)
        callback = {
            State.CONFIGURING: self._on_configure, State.ACTIVATING: self._on_activate,
            State.DEACTIVATING: self._on_deactivate, State.CLEANINGUP: self._on_cleanup,
            State.SHUTTINGDOWN: self._on_shutdown,
        }[middle]
        try:
            reason = callback()
            result = 'success' if not reason else 'failure'
        except Exception as exc:  # a callback bug: log it (rclpy would swallow it)
            log.error('%s: %s failed: %r', self.tier.name, middle.label, exc,
                      exc_info=not isinstance(exc, ENVIRONMENT_ERRORS))
            reason, result = f'{middle.label} raised {exc!r}', 'error'
        landed = self.machine.finish(result)
        if landed is State.ERRORPROCESSING:
            self._release()
            landed = self.machine.finish('success')  # on_error: back to unconfigured
        self._publish_transition(start, landed, transition)
        if self.runner is not None:
            self.runner.service.state = landed.label
        if landed is State.FINALIZED:
            self.reactor.callLater(0.05, self._stop_reactor)
        ok = result == 'success'
        log.info('%s: %s -> %s%s', self.tier.name, start.label, landed.label,
                 '' if ok else f' ({reason})')
        return ok, reason

    def _stop_reactor(self) -> None:
        stop_once(self.reactor)  # maybe already on its way down (SIGTERM, then shutdown)

    def _on_configure(self) -> str:
        try:
            self.runner = TierRunner(self.settings, self.tier.name, self.graph, self.reactor,
                                     port=self.port_wanted,
                                     status_source=lambda: self.status_doc)
        except SettingsError as exc:  # e.g. a TLS file it cannot read: stay unconfigured
            return '; '.join(exc.problems)
        self.runner.service.state = 'inactive'
        return ''

    def _on_activate(self) -> str:
        try:
            port = self.runner.listen()
        except Exception as exc:  # CannotListenError: stay inactive, say why
            return f'cannot listen on {self.tier.host}:{self.runner.port_wanted}: {exc}'
        self.port_wanted = port
        if self.on_ready is not None:
            on_ready, self.on_ready = self.on_ready, None
            on_ready(port)
        return ''

    def _on_deactivate(self) -> str:
        self.runner.stop_listening(1001, f'the {self.tier.name} tier is deactivating')
        return ''

    def _on_cleanup(self) -> str:
        self._release()
        return ''

    def _on_shutdown(self) -> str:
        self._release()
        self.leaving = True
        return ''

    def _release(self) -> None:
        if self.runner is not None:
            runner, self.runner = self.runner, None
            runner.close()

    def _publish_transition(self, start: State, goal: State, transition) -> None:
        label = transition if isinstance(transition, str) else str(transition)
        try:
            self._events.publish({'timestamp': time.time_ns(),
                                  'transition': {'id': 0, 'label': label},
                                  'start_state': _state_msg(start),
                                  'goal_state': _state_msg(goal)})
        except GraphError as exc:
            log.warning('%s: cannot publish transition event: %s', self.tier.name, exc)

    # ---- graph handlers (graph threads) ------------------------------------------
    def _serve_change_state(self, request: dict) -> dict:
        transition = request.get('transition') or {}
        wanted = transition.get('label') or transition.get('id') or ''
        ok, _ = threads.blockingCallFromThread(self.reactor, self.change_state, wanted)
        return {'success': ok}

    def _serve_available(self, request: dict) -> dict:
        state = self.machine.state
        return {'available_transitions': [
            {'transition': {'id': int(t), 'label': t.label}, 'start_state': _state_msg(state),
             'goal_state': _state_msg(state)} for t in self.machine.available_transitions()]}

    def _on_status(self, sample) -> None:
        try:
            doc = json.loads(sample.msg.get('data', ''))
        except ValueError:
            log.warning('%s: ignoring a status message that is not JSON', self.tier.name)
            return
        self.reactor.callFromThread(setattr, self, 'status_doc', doc)

    # ---- heartbeat ----------------------------------------------------------------
    def _beat(self) -> None:
        self.tick += 1
        self._seq += 1
        service = self.runner.service if self.runner is not None else None
        port = service.port if service is not None and service.port else self.port_wanted
        clients = len(service.clients) - len(service.probes) if service is not None else 0
        me = Presence(self.endpoint, self.session, os.getpid(), socket.gethostname(),
                      self.tick, self._seq, self.machine.state.label, port, clients,
                      self.settings.security.tls, time.time(), self.leaving)
        try:
            self._heartbeat.publish(graph_heartbeat(self.tier, me))
        except GraphError as exc:
            log.warning('%s: heartbeat not published: %s', self.tier.name, exc)

    def close(self) -> None:
        """Release everything; the last heartbeat says ``leaving`` (a graceful exit)."""
        if self._loop.running:
            self._loop.stop()
        self._release()
        self.leaving = True
        self._beat()
        for handle in self._handles:
            handle.close()
        self._events.close()
        self._heartbeat.close()
