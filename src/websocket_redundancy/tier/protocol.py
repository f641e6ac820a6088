"""The WebSocket protocol of a tier: translate between Autobahn and ``TierService``.

Backpressure: the protocol registers itself as a streaming producer on its transport,
so Twisted says when the socket's buffers are full (``pauseProducing``). While paused,
frames wait in a bounded ``SendQueue``; one slow client never blocks the reactor or
the other clients.

A telemetry frame to a client that is keeping up is written through: one ``send`` on
the socket when Twisted holds nothing for it (what Autobahn's ``sendPreparedMessage``
hands to ``transport.write`` for a connection without per-message compression, which
the tier never negotiates, minus the writer registration and the reactor round trip
per frame); whatever the kernel does not take goes to ``transport.write`` and is sent
in order from there. TLS connections always use ``transport.write``.
"""
from __future__ import annotations

import logging

from autobahn.twisted.websocket import WebSocketServerProtocol
from autobahn.websocket.types import ConnectionDeny
from twisted.internet import tcp
from twisted.internet.interfaces import IPushProducer
from zope.interface import implementer

from ..core.fanout import QueueOverflow, SendQueue

log = logging.getLogger(__name__)


def token_from_request(headers: dict[str, str], params: dict[str, list[str]]) -> str | None:
    """A token from ``Authorization: Bearer``, or ``?token=`` in the URL."""
    auth = headers.get('authorization', '')
    if auth.lower().startswith('bearer '):
        return auth[7:].strip()
    values = params.get('token')
    return values[0] if values else None


@implementer(IPushProducer)
class TierProtocol(WebSocketServerProtocol):
    peer = '?'

    def onConnect(self, request):
        self.peer = request.peer
        service = self.factory.service
        origin = request.headers.get('origin')
        if not service.origin_allowed(origin, request.headers.get('host')):
            service.refused['origin'] += 1
            log.warning('%s: refused a browser connection from origin %s (add it to '
                        'security.allowed_origins to allow it)', service.tier.name, origin)
            raise ConnectionDeny(403, f'origin {origin} is not allowed')
        self._token = token_from_request(request.headers, request.params)
        self._probe = request.headers.get('x-websocket-redundancy-probe') == '1'
        self._refusal = ''
        self._paused = False
        self._held = False  # paused, or frames waiting in the queue: send_data queues
        self.queue = SendQueue(service.limits.send_queue_frames,
                               service.limits.control_queue_frames)
        return None

    def onOpen(self):
        service = self.factory.service
        if service.state != 'active':
            self.close_with(1001, f'the {service.tier.name} tier is {service.state}')
            return
        self._refusal = service.admit(self, self._token, probe=self._probe)
        if self._refusal:
            self.close_with(1013, self._refusal)
            return
        # twisted.web's HTTPChannel registered itself before the upgrade handed the
        # transport over to us; replace it so that pause/resume reach this protocol.
        if getattr(self.transport, 'producer', None) is not None:
            self.transport.unregisterProducer()
        self.transport.registerProducer(self, True)
        transport = self.transport
        if isinstance(transport, tcp.Connection) and not transport.TLS:
            self._socket_send = transport.socket.send

    def onMessage(self, payload, isBinary):
        self.factory.service.receive(self, payload, isBinary)

    def onClose(self, wasClean, code, reason):
        service = getattr(self.factory, 'service', None)
        if service is None:
            return
        if self.localCloseCode == 1009 and not self._refusal:
            service.refused['limit'] += 1
        service.drop(self)

    # ---- sending ------------------------------------------------------------------
    _socket_send = None  # the socket's send, for a plain TCP connection (onOpen)

    def send_data(self, prepared) -> None:
        if self._held:
            self.queue.push_data(prepared)
        else:
            self._write(prepared.payloadHybi)

    def _write(self, data: bytes) -> None:
        """Straight to the socket when Twisted holds nothing for it (so order is kept);
        the rest, or everything, through ``transport.write``."""
        send, transport = self._socket_send, self.transport
        if (send is not None and not transport.dataBuffer and not transport._tempDataLen
                and transport.connected and not transport.disconnecting):
            try:
                sent = send(data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:  # reset or closed: Twisted's own write path notices and reports
                sent = 0
            if sent == len(data):
                return
            data = data[sent:]
        transport.write(data)

    def send_control(self, payload: bytes) -> None:
        if self._held:
            try:
                self.queue.push_control(self.factory.prepareMessage(payload))
            except QueueOverflow as exc:
                log.warning('disconnecting %s: %s', self.peer, exc)
                self.close_with(1008, 'not reading replies')
        else:
            self.sendMessage(payload, False)

    def close_with(self, code: int, reason: str) -> None:
        """Close with any code (Autobahn's sendClose allows only 1000/3000-4999)."""
        self.sendCloseFrame(code=code, reasonUtf8=reason.encode()[:120], isReply=False)

    # ---- IPushProducer ------------------------------------------------------------
    def pauseProducing(self):
        self._paused = self._held = True

    def resumeProducing(self):
        self._paused = False
        while not self._paused:
            prepared = self.queue.pop()
            if prepared is None:
                break
            self._write(prepared.payloadHybi)
        self._held = self._paused or self.queue.waiting

    def stopProducing(self):
        self._paused = self._held = True


