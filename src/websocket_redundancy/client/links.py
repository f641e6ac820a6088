"""One connection of the Python failover client, on Autobahn/Twisted, and the directory
fetch. Nothing here decides anything: the protocol translates WebSocket events into
calls on a :class:`WsLink`, which forwards them to the shell's ``LinkEvents`` until the
shell closes it (after that it reports nothing, as ``core.failover_types`` requires).
"""
from __future__ import annotations

import json
import logging
from typing import Any, Protocol

from autobahn.twisted.websocket import WebSocketClientFactory, WebSocketClientProtocol
from twisted.internet.defer import CancelledError, Deferred

from ..core.failover import HANG_CODE
from ..wsurl import client_endpoint, split_ws_url, status_url

__all__ = ['LinkEvents', 'WsLink', 'connect_ws', 'fetch_status', 'split_ws_url', 'status_url']

log = logging.getLogger(__name__)


class LinkEvents(Protocol):
    """What a connection reports to the shell."""

    def opened(self) -> None: ...
    def frame(self, data: dict[str, Any]) -> None: ...
    def closed(self, code: int, reason: str) -> None: ...


class TierClientProtocol(WebSocketClientProtocol):
    """Translates Autobahn's callbacks into ``WsLink`` calls; nothing else."""

    def onOpen(self):
        self.factory.link.on_open(self)

    def onMessage(self, payload, isBinary):
        if isBinary:
            return
        try:
            data = json.loads(payload)
        except ValueError:
            log.warning('%s sent a frame that is not JSON; ignored', self.factory.link.url)
            return
        if isinstance(data, dict):
            self.factory.link.on_frame(data)

    def onClose(self, wasClean, code, reason):
        self.factory.link.on_close(code or 1006, reason or '')


class WsLink:
    """One connection attempt to ``url``; ``send`` and ``close`` are the shell's commands."""

    def __init__(self, reactor, url: str, headers: dict[str, str], timeout: float,
                 events: LinkEvents) -> None:
        self.url = url
        self._events = events
        self._proto: TierClientProtocol | None = None
        self._open = False
        self._done = False
        factory = WebSocketClientFactory(url, headers=headers or None)
        factory.protocol = TierClientProtocol
        factory.link = self
        factory.setProtocolOptions(openHandshakeTimeout=timeout, closeHandshakeTimeout=1.0)
        endpoint = client_endpoint(reactor, url, timeout)
        self._attempt: Deferred = endpoint.connect(factory)
        self._attempt.addCallbacks(self._connected, self._failed)

    def _connected(self, proto: TierClientProtocol) -> None:
        self._proto = proto

    def _failed(self, failure) -> None:
        if not failure.check(CancelledError):
            self.on_close(1006, failure.getErrorMessage())

    def on_open(self, proto: TierClientProtocol) -> None:
        self._proto, self._open = proto, True
        if not self._done:
            self._events.opened()

    def on_frame(self, data: dict[str, Any]) -> None:
        if not self._done:
            self._events.frame(data)

    def on_close(self, code: int, reason: str) -> None:
        if not self._done:
            self._done = True
            self._events.closed(code, reason)

    def send(self, frame: dict[str, Any]) -> None:
        if self._open and not self._done and self._proto is not None:
            self._proto.sendMessage(json.dumps(frame).encode(), isBinary=False)

    def close(self, code: int, reason: str) -> None:
        """Close (or stop opening); a hung tier's TCP connection is dropped at once."""
        self._done = True
        if self._proto is None:
            self._attempt.cancel()
        elif not self._open or code == HANG_CODE or self._proto.transport is None:
            if self._proto.transport is not None:
                self._proto.transport.abortConnection()
        else:
            valid = code == 1000 or 3000 <= code <= 4999
            self._proto.sendClose(code if valid else 1000, reason or None)


def connect_ws(reactor, url: str, headers: dict[str, str], timeout: float,
               events: LinkEvents) -> WsLink:
    """The shell's default way to open a connection."""
    return WsLink(reactor, url, headers, timeout, events)


def fetch_status(reactor, clock, url: str, headers: dict[str, str],
                 timeout: float) -> Deferred:
    """``GET url`` with Twisted's Agent: the JSON document, or None when the tier has none
    (503) or answers something else. Fails on a network error or after ``timeout``."""
    from twisted.web.client import Agent, readBody
    from twisted.web.http_headers import Headers

    agent = Agent(reactor, connectTimeout=timeout)
    hdrs = Headers({k.encode(): [v.encode()] for k, v in headers.items()})
    d = agent.request(b'GET', url.encode(), hdrs)

    def got(response):
        body = readBody(response)
        return body.addCallback(lambda raw: (response.code, raw))

    def parse(result):
        code, raw = result
        if code != 200:
            return None
        doc = json.loads(raw)
        return doc if isinstance(doc, dict) else None

    d.addCallback(got).addCallback(parse)
    d.addTimeout(timeout, clock)
    return d
