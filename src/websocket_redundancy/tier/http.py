"""HTTP on the tier's port: ``/health``, ``/status``, the dashboard, and the
WebSocket upgrade at ``/`` (any path upgrades, as rosbridge clients use ``/``)."""
from __future__ import annotations

import json
from importlib import resources

from autobahn.twisted.resource import WebSocketResource
from twisted.web.resource import Resource


def _json(request, status: int, body) -> bytes:
    request.setResponseCode(status)
    request.setHeader(b'content-type', b'application/json')
    request.setHeader(b'cache-control', b'no-store')
    return json.dumps(body, indent=1).encode() + b'\n'


class TierRoot(Resource):
    """Routes by path; an ``Upgrade: websocket`` request goes to Autobahn."""

    def __init__(self, service, status_source=None):
        super().__init__()
        self.service = service
        self.status_source = status_source  # callable -> dict | None
        self.websocket = WebSocketResource(service.factory)

    def getChildWithDefault(self, name, request):
        upgrade = request.getHeader(b'upgrade') or b''
        if upgrade.lower() == b'websocket':
            return self.websocket
        return self

    def render_GET(self, request):
        path = request.path.split(b'?')[0].rstrip(b'/') or b'/'
        if path == b'/health':
            health = self.service.health()
            return _json(request, 200 if health['state'] == 'active' else 503, health)
        if path == b'/status':
            doc = self.status_source() if self.status_source else None
            if doc is None:
                return _json(request, 503, {'error': 'no status from the coordinator yet',
                                            'tier': self.service.health()})
            return _json(request, 200, doc)
        if path in (b'/', b'/index.html'):
            return self._static(request, 'index.html', b'text/html; charset=utf-8')
        name = path.decode(errors='replace').lstrip('/')
        if name.count('/') == 0 and name.endswith(('.js', '.css')):
            kind = b'text/javascript' if name.endswith('.js') else b'text/css'
            return self._static(request, name, kind)
        return _json(request, 404, {'error': f'no such path {path.decode(errors="replace")}',
                                    'paths': ['/', '/health', '/status']})

    def _static(self, request, name: str, kind: bytes) -> bytes:
        try:
            body = resources.files('websocket_redundancy.web').joinpath(name).read_bytes()
        except (FileNotFoundError, ModuleNotFoundError):
            if name == 'index.html':
                request.setHeader(b'content-type', b'text/plain; charset=utf-8')
                return (f'websocket_redundancy tier {self.service.tier.name}: rosbridge v2 '
                        'WebSocket on this port; see /health and /status\n').encode()
            return _json(request, 404, {'error': f'no such file {name}'})
        request.setHeader(b'content-type', kind)
        return body
