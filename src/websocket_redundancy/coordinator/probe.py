"""The active WebSocket probe: one rosbridge client per tier, on Autobahn/Twisted.

A probe connects to the tier's URL like any client, subscribes to
``/websocket_redundancy/heartbeat`` and notes every heartbeat frame the tier's own
event loop sends (≥ 10 Hz). The coordinator calls ``take()`` once per probe interval:
``(ok, latency_s)`` says whether a frame arrived since the last call and how old the
newest one was when it arrived (receive wall time minus the tier's ``sent``; clocks
on different hosts may disagree, so it is clamped at 0).

The connection is kept by Twisted's ``ClientService``, which reconnects with backoff
after a refusal (1001 inactive, 1013 full), a drop or a failed connect; ``clock`` is
the reactor's time, so tests may pass ``task.Clock()``. The protocol only translates
frames into ``ProbeState.frame`` calls; nothing here decides health.
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

from autobahn.twisted.websocket import WebSocketClientFactory, WebSocketClientProtocol
from twisted.application.internet import ClientService, backoffPolicy

from ..core.settings import HEARTBEAT_TOPIC
from ..tier.service import PROBE_HEADER
from ..wsurl import client_endpoint

log = logging.getLogger(__name__)
SUBSCRIBE = json.dumps({'op': 'subscribe', 'id': 'coordinator-probe', 'topic': HEARTBEAT_TOPIC,
                        'type': 'std_msgs/msg/String'}).encode()


class ProbeState:
    """What the probe saw since the coordinator last asked; pure bookkeeping."""

    def __init__(self, wall: Callable[[], float] = time.time) -> None:
        self._wall = wall
        self.frames = 0
        self.latency_s: float | None = None
        self.session: str | None = None
        self.connected = False
        self.last_close: tuple[int | None, str] | None = None

    def frame(self, beat: dict) -> None:
        """When a heartbeat frame arrives, count it and note its one-way latency."""
        self.frames += 1
        sent = beat.get('sent')
        if isinstance(sent, (int, float)) and not isinstance(sent, bool):
            self.latency_s = max(0.0, self._wall() - float(sent))
        session = beat.get('session')
        if isinstance(session, str):
            self.session = session

    def take(self) -> tuple[bool, float | None]:
        """When the probe interval ends: (a frame arrived since the last take, latency)."""
        ok, latency = self.frames > 0, self.latency_s
        self.frames, self.latency_s = 0, None
        return ok, latency if ok else None


class ProbeProtocol(WebSocketClientProtocol):
    def onOpen(self):
        self.factory.state.connected = True
        self.sendMessage(SUBSCRIBE, isBinary=False)

    def onMessage(self, payload, isBinary):
        if isBinary:
            return
        try:
            frame = json.loads(payload)
            if frame.get('op') != 'publish' or frame.get('topic') != HEARTBEAT_TOPIC:
                return
            beat = json.loads(frame['msg']['data'])
        except (ValueError, KeyError, TypeError, AttributeError):
            log.debug('probe %s: ignored a frame that is not a heartbeat', self.factory.url)
            return
        if isinstance(beat, dict):
            self.factory.state.frame(beat)

    def onClose(self, wasClean, code, reason):
        state = self.factory.state
        if state.connected or code not in (None, 1006):
            log.info('probe %s closed: %s %s', self.factory.url, code, reason or '')
        state.connected = False
        state.last_close = (code, reason or '')



class WebSocketProbe:
    """One tier's probe connection, reconnecting until ``stop()``."""

    def __init__(self, reactor, url: str, interval: float = 0.5,
                 wall: Callable[[], float] = time.time) -> None:
        self.url = url
        self.state = ProbeState(wall)
        factory = WebSocketClientFactory(url, headers={PROBE_HEADER: '1'})
        factory.protocol = ProbeProtocol
        factory.state = self.state
        factory.url = url
        factory.setProtocolOptions(openHandshakeTimeout=max(1.0, 2 * interval),
                                   closeHandshakeTimeout=1.0)
        self._service = ClientService(
            client_endpoint(reactor, url, timeout=max(1.0, 2 * interval)), factory,
            retryPolicy=backoffPolicy(initialDelay=min(0.2, interval), maxDelay=2.0,
                                      factor=1.5),
            clock=reactor)
        self._service.startService()

    def take(self) -> tuple[bool, float | None]:
        return self.state.take()

    def stop(self):
        """Close the connection and stop reconnecting; returns a Deferred."""
        return self._service.stopService()
