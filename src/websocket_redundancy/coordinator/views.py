"""Translations for the coordinator: graph heartbeats in; directory rows, progress lines and
``/diagnostics`` out. No decisions here; health and recovery live in ``core``."""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from ..core import endpoints as e
from ..core import health as h
from ..core import recovery as r
from ..core.heartbeat import is_int
from ..core.settings import TierSettings
from ..core.status import TierView

DIAGNOSTICS_TOPIC = '/diagnostics'
DIAGNOSTICS_TYPE = 'diagnostic_msgs/msg/DiagnosticArray'
OK, WARN, ERROR, STALE = 0, 1, 2, 3
_LEVELS = {'UP': OK, 'SUSPECT': WARN, 'DOWN': ERROR}


def configured_view(tier: TierSettings) -> TierView:
    """Before a tier's first heartbeat: what the configuration says about it."""
    return TierView(tier.name, tier.priority, tier.public_url(), tier.capacity,
                    tuple(tier.subscribe.patterns), tuple(tier.publish.patterns),
                    endpoint=tier.name)


def _reachable(url: str) -> bool:
    """A ``ws://``/``wss://`` URL with a host and a port a client can dial (not 0)."""
    try:
        parts = urlsplit(url)
        return (parts.scheme in ('ws', 'wss') and bool(parts.hostname)
                and (parts.port is None or 0 < parts.port))
    except ValueError:  # a port out of range
        return False


def view_from_heartbeat(view: TierView, beat: dict[str, Any]) -> TierView:
    """The directory row updated with what the tier announces about itself."""
    changes: dict[str, Any] = {}
    url = beat.get('url')
    if isinstance(url, str) and _reachable(url):
        changes['url'] = url
    host = beat.get('host')
    if isinstance(host, str):
        changes['host'] = host
    for key in ('priority', 'capacity', 'clients'):
        if is_int(beat.get(key)) and beat[key] >= 0:
            changes[key] = beat[key]
    scope = beat.get('scope')
    if isinstance(scope, dict):
        for key in ('subscribe', 'publish'):
            patterns = scope.get(key)
            if isinstance(patterns, list) and all(isinstance(p, str) for p in patterns):
                changes[key] = tuple(patterns)
    return replace(view, **changes)


def stamp(wall: float) -> dict[str, int]:
    nanos = int(round(wall * 1e9))
    return {'sec': nanos // 1_000_000_000, 'nanosec': nanos % 1_000_000_000}


def diagnostics_message(doc: dict[str, Any], wall: float) -> dict[str, Any]:
    """When the status document is published to rqt/Foxglove: one status per tier."""
    statuses = []
    for row in doc['tiers']:
        failed = row['circuit'] == 'open'
        level = ERROR if failed else _LEVELS.get(row['health'], STALE)
        health = 'FAILED' if failed else row['health']
        latency = row['probe_latency_ms']
        values = {'health': health, 'lifecycle': row['lifecycle'],
                  'clients': row['clients'], 'capacity': row['capacity'],
                  'restarts': row['restarts'],
                  'probe_latency_ms': '' if latency is None or not math.isfinite(latency)
                  else f'{latency:.2f}'}
        statuses.append({
            'level': level, 'name': f"websocket_redundancy: {row['endpoint']}",
            'message': f"{health}, lifecycle {row['lifecycle']}",
            'hardware_id': row['url'],
            'values': [{'key': k, 'value': str(v)} for k, v in values.items()],
        })
    return {'header': {'stamp': stamp(wall), 'frame_id': ''}, 'status': statuses}


def state_label(response: dict) -> str | None:
    label = (response.get('current_state') or {}).get('label')
    return label if isinstance(label, str) and label else None


def progress_line(item: object, follow: Iterable[object] = ()) -> str:
    if isinstance(item, h.HealthChanged):
        recovering = any(isinstance(f, r.RecoveryStarted) for f in follow)
        return (f'coordinator: {item.tier} {item.new} ({item.reason})'
                + (' -> recovering' if recovering else ''))
    if isinstance(item, h.SessionChanged):
        return f'coordinator: {item.tier} restarted (session {item.new})'
    if isinstance(item, r.RecoveryStarted):
        return f'coordinator: {item.tier} recovering ({item.reason})'
    if isinstance(item, r.Respawn):
        return f'coordinator: {item.tier} process gone -> waiting for its supervisor to restart it'
    if isinstance(item, r.RecoveryFinished):
        if item.ok:
            return f'coordinator: {item.tier} recovered in {item.duration_s:.2f} s'
        return f'coordinator: {item.tier} recovery failed after {item.duration_s:.2f} s: {item.detail}'
    if isinstance(item, e.Joined):
        return f'coordinator: {item.endpoint} joined the directory ({item.tier} replica)'
    if isinstance(item, e.Left):
        how = 'left' if item.reason == 'left' else 'DOWN and gone from the graph; removed'
        return f'coordinator: {item.endpoint} {how}'
    if isinstance(item, r.MarkFailed):
        return f'coordinator: {item.tier} FAILED ({item.reason}); circuit open'
    return ''
