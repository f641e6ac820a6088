"""The versioned status document (plain, JSON-serialisable dict) and its terminal table.

The same document is served everywhere (topic, service, ``GET /status``, the CLI, the
dashboard); ``schema/status.schema.json`` describes it exactly. Version 2: each row of
``tiers`` is an *endpoint* (one running tier process); several rows may share a tier
``name`` (replicas), ``endpoint`` is unique, and events name the endpoint. Models keep monotonic
times; ``build_status`` turns them into wall times with the two clocks passed in.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .endpoints import Joined, Left
from .health import HealthChanged, HealthModel, SessionChanged
from .recovery import MarkFailed, RecoveryFinished, RecoveryModel, RecoveryStarted, Respawn

__all__ = ['STATUS_VERSION', 'CoordinatorInfo', 'EventLog', 'TierView', 'build_status',
           'render_table']

STATUS_VERSION = 2
EVENTS_KEPT = 50


@dataclass(frozen=True)
class TierView:
    """What the shell knows of an endpoint beyond health: configuration and client count."""

    name: str  # the tier it serves
    priority: int
    url: str
    capacity: int
    subscribe: tuple[str, ...] = ()
    publish: tuple[str, ...] = ()
    clients: int = 0
    endpoint: str = ''  # unique id; '' means the tier's own (configured) endpoint
    host: str = ''

    @property
    def key(self) -> str:
        """The id the models know this endpoint by."""
        return self.endpoint or self.name


@dataclass(frozen=True)
class CoordinatorInfo:
    session: str
    started_at: float  # wall time
    host: str = ''
    mode: str = 'embedded'  # 'embedded' or 'ros'


class EventLog:
    """The last ``size`` notable things, kept with monotonic times."""

    def __init__(self, size: int = EVENTS_KEPT) -> None:
        self._items: deque[dict[str, Any]] = deque(maxlen=size)

    def record(self, item: object, now: float) -> None:
        """When a health change, restart or recovery record happens, keep it (else skip)."""
        entry = _event_entry(item)
        if entry is not None:
            self._items.append({'at': now, **entry})

    def entries(self) -> list[dict[str, Any]]:
        return [dict(e) for e in self._items]

    def as_wall(self, wall: Callable[[float], float | None]) -> list[dict[str, Any]]:
        """The entries with wall-clock ``at``, converted once per entry: every status
        document then gives an event the same time, so a reader can tell repeats."""
        out = []
        for e in self._items:
            if '_wall' not in e:
                e['_wall'] = wall(e['at'])
            out.append({k: v for k, v in e.items() if k != '_wall'} | {'at': e['_wall']})
        return out


def _event_entry(item: object) -> dict[str, Any] | None:
    if isinstance(item, HealthChanged):
        return {'tier': item.tier, 'kind': 'health',
                'detail': f'{item.old} -> {item.new}: {item.reason}', 'duration_s': None}
    if isinstance(item, SessionChanged):
        return {'tier': item.tier, 'kind': 'restarted',
                'detail': f'session {item.old} -> {item.new}', 'duration_s': None}
    if isinstance(item, Respawn):
        return {'tier': item.tier, 'kind': 'respawn', 'detail': 'respawning the process',
                'duration_s': None}
    if isinstance(item, RecoveryStarted):
        return {'tier': item.tier, 'kind': 'recovery_started', 'detail': item.reason,
                'duration_s': None}
    if isinstance(item, RecoveryFinished):
        return {'tier': item.tier, 'kind': 'recovered' if item.ok else 'recovery_failed',
                'detail': item.detail, 'duration_s': item.duration_s}
    if isinstance(item, MarkFailed):
        return {'tier': item.tier, 'kind': 'failed', 'detail': item.reason,
                'duration_s': None}
    if isinstance(item, Joined):
        return {'tier': item.endpoint, 'kind': 'joined',
                'detail': f'a {item.tier} endpoint registered itself', 'duration_s': None}
    if isinstance(item, Left):
        detail = 'left gracefully' if item.reason == 'left' else 'DOWN and gone from the graph'
        return {'tier': item.endpoint, 'kind': 'left', 'detail': detail, 'duration_s': None}
    return None


def build_status(*, generated_at: float, now: float, coordinator: CoordinatorInfo,
                 tiers: Iterable[TierView], health: HealthModel, recovery: RecoveryModel,
                 events: EventLog | None = None) -> dict[str, Any]:
    """The status document at wall time ``generated_at`` (= monotonic ``now``)."""
    def wall(t: float | None) -> float | None:
        return None if t is None else round(generated_at - (now - t), 3)

    known = set(health.tiers())
    rows = []
    for view in sorted(tiers, key=lambda v: (v.priority, v.name, v.key)):
        h = health.snapshot(view.key) if view.key in known else {}
        r = recovery.snapshot(view.key)
        latency = h.get('probe_latency_s')
        rows.append({
            'name': view.name,
            'endpoint': view.key,
            'host': view.host,
            'priority': view.priority,
            'url': view.url,
            'health': h.get('health', 'UNKNOWN'),
            'lifecycle': h.get('lifecycle', 'unknown'),
            'clients': view.clients,
            'capacity': view.capacity,
            'load': round(view.clients / view.capacity, 3) if view.capacity > 0 else 0.0,
            'scope': {'subscribe': list(view.subscribe), 'publish': list(view.publish)},
            'restarts': r['restarts'],
            'last_change': wall(h.get('last_change')),  # type: ignore[arg-type]
            'probe_latency_ms': None if latency is None else round(latency * 1000, 2),
            'circuit': r['circuit'],
        })
    return {
        'version': STATUS_VERSION,
        'generated_at': generated_at,
        'coordinator': {
            'session': coordinator.session,
            'host': coordinator.host,
            'mode': coordinator.mode,
            'started_at': coordinator.started_at,
            'uptime_s': round(max(0.0, generated_at - coordinator.started_at), 3),
        },
        'tiers': rows,
        'events': events.as_wall(wall) if events else [],
    }


_COLUMNS = [('ENDPOINT', 'endpoint'), ('PRI', 'priority'), ('HEALTH', 'health'),
            ('LIFECYCLE', 'lifecycle'), ('CLIENTS', 'clients'), ('LOAD', 'load'),
            ('CIRCUIT', 'circuit'), ('RESTARTS', 'restarts'), ('PROBE', 'probe_latency_ms'),
            ('URL', 'url')]
_RIGHT = {'priority', 'clients', 'load', 'restarts', 'probe_latency_ms'}


def _cell(key: str, row: Mapping[str, Any]) -> str:
    value = row[key]
    if key == 'clients':
        return f"{value}/{row['capacity']}"
    if key == 'load':
        return f'{value:.0%}'
    if key == 'probe_latency_ms':
        return '-' if value is None else f'{value:.1f} ms'
    return str(value)


def _clock_time(wall_s: float) -> str:
    """Wall time as local HH:MM:SS.mmm (events are minutes apart, not days)."""
    whole = time.localtime(wall_s)
    return time.strftime('%H:%M:%S', whole) + f'.{int((wall_s % 1) * 1000):03d}'


def render_table(doc: Mapping[str, Any], events: int = 5) -> str:
    """When a person runs ``websocket-redundancy status``: one aligned row per tier."""
    c = doc['coordinator']
    lines = [f"coordinator {c['session']} ({c['mode']}) on {c['host'] or '?'}, "
             f"up {c['uptime_s']:.0f} s, status v{doc['version']}"]
    table = [[title for title, _ in _COLUMNS]]
    table += [[_cell(key, row) for _, key in _COLUMNS] for row in doc['tiers']]
    widths = [max(len(r[i]) for r in table) for i in range(len(_COLUMNS))]
    for r in table:
        cells = [cell.rjust(w) if key in _RIGHT else cell.ljust(w)
                 for cell, w, (_, key) in zip(r, widths, _COLUMNS, strict=True)]
        lines.append('  '.join(cells).rstrip())
    recent = doc['events'][-events:] if events > 0 else []
    if recent:
        lines.append('')
        lines.append('recent events:')
        for e in recent:
            took = '' if e['duration_s'] is None else f" ({e['duration_s']:.3f} s)"
            lines.append(f"  {_clock_time(e['at'])}  {e['tier']:<10} {e['kind']:<16} "
                         f"{e['detail']}{took}")
    return '\n'.join(lines) + '\n'
