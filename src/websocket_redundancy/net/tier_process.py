"""Run one tier in this process: graph, WebSocket + HTTP port, heartbeat loop.

Prints one line ``READY tier=<name> url=<ws url> port=<port> pid=<pid>`` on stdout
when the port is listening (with ``port 0`` the line names the port it got), so a
supervisor or a test knows when to connect.
"""
from __future__ import annotations

import logging
import os
import sys

from twisted.internet import reactor as default_reactor
from twisted.internet.task import LoopingCall
from twisted.web.server import Site

from ..core.settings import Settings
from ..graph.port import Graph
from .http import TierRoot
from .signals import run_until_signalled, stop_once
from .tier import TierService
from .wsurl import server_tls_context

log = logging.getLogger(__name__)
TRACK_INTERVAL_S = 0.5  # how often an active tier looks for new in-scope topics


class TierRunner:
    """Listening and the heartbeat loop of one ``TierService``."""

    def __init__(self, settings: Settings, tier_name: str, graph: Graph, reactor=None,
                 port: int | None = None, status_source=None):
        self.reactor = reactor or default_reactor
        self.service = TierService(settings, tier_name, graph, self.reactor)
        self.port_wanted = self.service.tier.port if port is None else port
        # Site.timeout drops connections idle that long before (or without) an upgrade,
        # e.g. half-open handshakes; after the upgrade Autobahn owns the connection.
        self.site = Site(TierRoot(self.service, status_source or (lambda: None)),
                         timeout=self.service.limits.handshake_timeout_s)
        self.site.noisy = False
        security = settings.security
        self._tls = (server_tls_context(security.tls_key, security.tls_cert) if security.tls
                     else None)
        self._listening = None
        self._beat = LoopingCall(self.service.beat)
        self._beat.clock = self.reactor
        self._track = LoopingCall(self.service.track_topics)
        self._track.clock = self.reactor

    def listen(self) -> int:
        tier = self.service.tier
        if self._tls is not None:
            self._listening = self.reactor.listenSSL(self.port_wanted, self.site, self._tls,
                                                     interface=tier.host)
        else:
            self._listening = self.reactor.listenTCP(self.port_wanted, self.site,
                                                     interface=tier.host)
        self.service.port = self._listening.getHost().port
        self.port_wanted = self.service.port  # a re-listen keeps the same port
        self.service.state = 'active'
        if not self._beat.running:
            self._beat.start(1.0 / self.service.limits.heartbeat_hz, now=False)
        if not self._track.running:
            self._track.start(TRACK_INTERVAL_S, now=True)
        return self.service.port

    def stop_listening(self, code: int = 1001, reason: str = 'tier going away'):
        self.service.state = 'inactive'
        self.service.close_clients(code, reason)
        for loop in (self._beat, self._track):
            if loop.running:
                loop.stop()
        if self._listening is not None:
            listening, self._listening = self._listening, None
            return listening.stopListening()
        return None

    def close(self) -> None:
        self.stop_listening()
        self.service.release()


def run_tier(settings: Settings, tier_name: str, graph: Graph, port: int | None = None,
             autostart: bool = True, endpoint: str | None = None) -> int:
    """Serve ``tier_name`` until SIGINT/SIGTERM or lifecycle shutdown; the exit code.

    With ``autostart`` the tier configures and activates itself; without, it waits
    unconfigured for a coordinator (or ``ros2 lifecycle``-style calls) to do it.
    """
    from .tier_node import TierNode

    def ready(bound: int) -> None:
        url = node.tier.public_url(bound, settings.security.tls)
        print(f'READY tier={tier_name} url={url} port={bound} '
              f'pid={os.getpid()}', flush=True)

    node = TierNode(settings, tier_name, graph, default_reactor, port=port, on_ready=ready,
                    endpoint=endpoint)
    exit_code = [0]

    def start() -> None:
        for transition in ('configure', 'activate'):
            ok, reason = node.change_state(transition)
            if not ok:
                print(f'error: tier {tier_name} could not {transition}: {reason}',
                      file=sys.stderr, flush=True)
                exit_code[0] = 2
                stop_once(default_reactor)
                return

    def shutdown() -> None:
        node.close()
        graph.close()

    default_reactor.addSystemEventTrigger('before', 'shutdown', shutdown)
    if autostart:
        default_reactor.callWhenRunning(start)
    run_until_signalled(default_reactor)
    return exit_code[0]
