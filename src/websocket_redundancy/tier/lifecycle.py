"""What a tier does on each lifecycle transition: one copy for both graphs.

The embedded tier (``tier.node``: the lifecycle-node host) and the ROS tier
(``ros.tier_node``: rclpy's ``LifecycleNode``) call these on the reactor thread:

    configure   build the tier (TierService, HTTP site); nothing listens yet
    activate    listen on the port (WebSocket + HTTP)
    deactivate  stop listening; clients are closed with 1001 so they fail over at once
    release     (cleanup, shutdown, error processing) drop the runner and its graph use

Each returns ``''`` or one sentence saying why the transition failed (the node stays
where it was). ``heartbeat(state)`` is the tier's graph heartbeat in the one format
(``core.heartbeat``), and ``status_doc`` the coordinator's latest status, which
``GET /status`` serves.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import time
from typing import Any

from ..core.heartbeat import Presence, graph_heartbeat
from ..core.settings import Settings, SettingsError
from .runner import TierRunner

log = logging.getLogger(__name__)


class TierLifecycle:
    def __init__(self, settings: Settings, tier_name: str, reactor, endpoint: str) -> None:
        self.settings = settings
        self.tier = settings.tier(tier_name)  # its port: configured, or --port / the ROS
        self.reactor = reactor                # port parameter, folded in at the edge
        self.endpoint = endpoint
        self.bound: int | None = None  # the port it listened on last
        self.runner: TierRunner | None = None
        self.status_doc: dict | None = None
        self.session = os.urandom(6).hex()
        self.tick = self.seq = 0
        self.leaving = False

    def configure(self, graph, settings: Settings | None = None) -> str:
        """Build the tier on ``graph`` (with ``settings`` when they were read only now,
        as ROS parameters are at configure)."""
        if settings is not None:
            self.settings, self.tier = settings, settings.tier(self.tier.name)
        try:
            self.runner = TierRunner(self.settings, self.tier.name, graph, self.reactor,
                                     status_source=lambda: self.status_doc)
        except SettingsError as exc:  # e.g. a TLS file it cannot read: stay unconfigured
            return '; '.join(exc.problems)
        self.runner.service.state = 'inactive'
        return ''

    def activate(self) -> str:
        try:
            self.bound = self.runner.listen()
        except Exception as exc:  # CannotListenError: stay inactive, say why
            return f'cannot listen on {self.tier.host}:{self.runner.port_wanted}: {exc}'
        return ''

    def deactivate(self) -> str:
        self.runner.stop_listening(1001, f'the {self.tier.name} tier is deactivating')
        return ''

    def release(self) -> None:
        if self.runner is not None:
            runner, self.runner = self.runner, None
            runner.close()

    @property
    def url(self) -> str:
        return self.tier.public_url(self.bound or self.tier.port, self.settings.security.tls)

    def set_status(self, data: str) -> None:
        """The coordinator's status document arrived (JSON text)."""
        try:
            self.status_doc = json.loads(data)
        except ValueError:
            log.warning('%s: ignoring a status message that is not JSON', self.tier.name)

    def heartbeat(self, state: str) -> dict[str, Any]:
        """The next graph heartbeat message, this tier in lifecycle ``state``."""
        self.tick += 1
        self.seq += 1
        service = self.runner.service if self.runner is not None else None
        port = service.port if service is not None and service.port else self.bound
        clients = len(service.clients) - len(service.probes) if service is not None else 0
        me = Presence(self.endpoint, self.session, os.getpid(), socket.gethostname(),
                      self.tick, self.seq, state, port, clients,
                      self.settings.security.tls, time.time(), self.leaving)
        return graph_heartbeat(self.tier, me)
