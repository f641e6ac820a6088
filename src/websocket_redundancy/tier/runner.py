"""A tier's listening and loops: the WebSocket + HTTP site of one ``TierService`` on its
port (TLS when configured), the client heartbeat and the topic tracking. The process
around it is ``app.processes.run_tier``."""
from __future__ import annotations

import logging

from twisted.internet import reactor as default_reactor
from twisted.internet.task import LoopingCall
from twisted.web.server import Site

from ..core.settings import Settings
from ..graph.port import Graph
from ..wsurl import server_tls_context
from .http import TierRoot
from .service import TierService

log = logging.getLogger(__name__)
TRACK_INTERVAL_S = 0.5  # how often an active tier looks for new in-scope topics


class TierRunner:
    """Listening and the heartbeat loop of one ``TierService``."""

    def __init__(self, settings: Settings, tier_name: str, graph: Graph, reactor=None,
                 status_source=None):
        self.reactor = reactor or default_reactor
        self.service = TierService(settings, tier_name, graph, self.reactor)
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

    @property
    def port_wanted(self) -> int:
        """The configured port (0: any free one); once bound, the bound one, so a
        re-listen after deactivate keeps it."""
        return self.service.port or self.service.tier.port

    def listen(self) -> int:
        tier = self.service.tier
        if self._tls is not None:
            self._listening = self.reactor.listenSSL(self.port_wanted, self.site, self._tls,
                                                     interface=tier.host)
        else:
            self._listening = self.reactor.listenTCP(self.port_wanted, self.site,
                                                     interface=tier.host)
        self.service.port = self._listening.getHost().port
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
