"""A tier as a managed lifecycle node on the embedded graph.

The lifecycle-node host (``node.host``: get_state, change_state,
get_available_transitions, transition_event, the transition sequence) on ``/<node>``
plus these callbacks and the tier's heartbeat. ``<node>`` is the
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

import logging
from collections.abc import Callable

from twisted.internet import threads
from twisted.internet.task import LoopingCall

from ..app.signals import stop_once
from ..core.endpoints import node_name
from ..core.heartbeat import (
    GRAPH_HEARTBEAT,
    GRAPH_HEARTBEAT_HZ,
    HEARTBEAT_TYPE,
)
from ..core.lifecycle import State
from ..core.settings import STATUS_TOPIC, Settings
from ..graph.port import Graph, GraphError
from ..node.host import LifecycleHost
from .lifecycle import TierLifecycle

log = logging.getLogger(__name__)


class TierNode:
    def __init__(self, settings: Settings, tier_name: str, graph: Graph, reactor,
                 on_ready: Callable[[int], None] | None = None, endpoint: str | None = None):
        tier, endpoint = settings.tier(tier_name), endpoint or tier_name
        self.lc = TierLifecycle(settings, tier_name, reactor, endpoint)
        self.tier, self.graph, self.reactor, self.on_ready = tier, graph, reactor, on_ready
        self.node = node_name(endpoint)
        self.host = LifecycleHost(
            graph, '/' + self.node, tier.name,
            {State.CONFIGURING: lambda: self.lc.configure(graph),
             State.ACTIVATING: self._on_activate,
             State.DEACTIVATING: self.lc.deactivate,
             State.CLEANINGUP: self._on_cleanup,
             State.SHUTTINGDOWN: self._on_shutdown},
            lambda fn: threads.blockingCallFromThread(reactor, fn),
            on_error=self.lc.release, on_landed=self._landed)
        self._status = graph.subscribe(STATUS_TOPIC, self._on_status, 'std_msgs/msg/String')
        self._heartbeat = graph.advertise(GRAPH_HEARTBEAT + self.node, HEARTBEAT_TYPE)
        self._loop = LoopingCall(self._beat)
        self._loop.clock = reactor
        self._loop.start(1.0 / GRAPH_HEARTBEAT_HZ, now=True)

    @property
    def machine(self):
        return self.host.machine

    @property
    def runner(self):
        return self.lc.runner

    # ---- lifecycle ----------------------------------------------------------------
    def change_state(self, transition: str | int) -> tuple[bool, str]:
        """Run one transition on the reactor thread: (success, reason)."""
        return self.host.change_state(transition)

    def _on_activate(self) -> str:
        reason = self.lc.activate()
        if not reason and self.on_ready is not None:
            on_ready, self.on_ready = self.on_ready, None
            on_ready(self.lc.bound)
        return reason

    def _on_cleanup(self) -> str:
        self.lc.release()
        return ''

    def _on_shutdown(self) -> str:
        self.lc.release()
        self.lc.leaving = True
        return ''

    def _landed(self, state: State) -> None:
        if self.lc.runner is not None:
            self.lc.runner.service.state = state.label
        if state is State.FINALIZED:
            self.reactor.callLater(0.05, stop_once, self.reactor)

    # ---- graph and heartbeat ------------------------------------------------------
    def _on_status(self, sample) -> None:  # a graph thread
        self.reactor.callFromThread(self.lc.set_status, sample.msg.get('data', ''))

    def _beat(self) -> None:
        try:
            self._heartbeat.publish(self.lc.heartbeat(self.machine.state.label))
        except GraphError as exc:
            log.warning('%s: heartbeat not published: %s', self.tier.name, exc)

    def close(self) -> None:
        """Release everything; the last heartbeat says ``leaving`` (a graceful exit)."""
        if self._loop.running:
            self._loop.stop()
        self.lc.release()
        self.lc.leaving = True
        self._beat()
        self.host.close()
        self._status.close()
        self._heartbeat.close()
