"""The chaos demo's decisions, sans-IO: what to break next, when, and what it cost.

``FaultPlan`` picks a random fault (``kill`` = SIGKILL, ``hang`` = SIGSTOP for a few
seconds then SIGCONT, ``deactivate`` = a lifecycle ``change_state``) on a random tier,
from a seeded ``random.Random``, and how long to wait before it: uniform within the
interval, counted from when the previous fault was recovered (so faults never pile up).

``measure`` reads what the coordinator recorded (the status document's events, wall
times) for one fault: *detection* is the first health change away from UP or the
start of a recovery for that tier after the injection; *recovery* is its ``recovered``
event (or its health back to UP) after that. *Failover* comes from the demo's own
failover client: the first tier change away from the faulted tier after injection.
"""
from __future__ import annotations

import random
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

FAULTS = ('kill', 'hang', 'deactivate')


def parse_interval(text: str) -> tuple[float, float]:
    """``'20-40'`` -> (20.0, 40.0); ``'3'`` -> (3.0, 3.0); ValueError with a sentence."""
    lo, _, hi = str(text).partition('-')
    try:
        low, high = float(lo), float(hi or lo)
    except ValueError:
        raise ValueError(f'--interval {text!r} must be seconds (3) or a range (20-40)') from None
    if low <= 0 or high < low:
        raise ValueError(f'--interval {text!r} must be positive, low-high with low <= high')
    return low, high


def parse_faults(text: str) -> tuple[str, ...]:
    kinds = tuple(k.strip() for k in text.split(',') if k.strip())
    bad = [k for k in kinds if k not in FAULTS]
    if bad or not kinds:
        raise ValueError(f'--faults {text!r}: choose from {", ".join(FAULTS)}')
    return kinds


@dataclass(frozen=True)
class Fault:
    number: int
    kind: str
    tier: str


class FaultPlan:
    def __init__(self, tiers: Sequence[str], interval: tuple[float, float],
                 kinds: Sequence[str] = FAULTS, seed: int | None = None) -> None:
        if not tiers:
            raise ValueError('the demo needs at least one tier to break')
        self.tiers, self.interval, self.kinds = tuple(tiers), interval, tuple(kinds)
        self._rng = random.Random(seed)
        self._count = 0

    def delay(self) -> float:
        """Seconds to wait before the next fault."""
        return self._rng.uniform(*self.interval)

    def next(self) -> Fault:
        self._count += 1
        return Fault(self._count, self._rng.choice(self.kinds), self._rng.choice(self.tiers))


@dataclass
class Record:
    """One injected fault and what was measured (seconds after injection)."""

    fault: Fault
    wall: float  # injection, wall time (the coordinator's events are wall times)
    detected_s: float | None = None
    failover_s: float | None = None
    recovered_s: float | None = None
    client_on: str = ''  # where the demo client was when the fault hit
    moved_to: str = ''
    notes: list[str] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.recovered_s is not None


def measure(record: Record, events: Iterable[Mapping[str, Any]]) -> None:
    """When a status document arrives, fill in detection and recovery from its events."""
    for e in events:
        at = e.get('at')
        if e.get('tier') != record.fault.tier or not isinstance(at, (int, float)):
            continue
        after = round(at - record.wall, 3)
        if after < 0:
            continue
        kind, detail = e.get('kind'), str(e.get('detail', ''))
        went_bad = kind == 'health' and ('-> DOWN' in detail or '-> SUSPECT' in detail)
        if record.detected_s is None and (went_bad or kind == 'recovery_started'):
            record.detected_s = after
        elif record.detected_s is not None and record.recovered_s is None and (
                kind == 'recovered' or (kind == 'health' and detail.startswith('DOWN -> UP'))
                or (kind == 'health' and detail.startswith('SUSPECT -> UP'))):
            record.recovered_s = after


def _s(value: float | None) -> str:
    return '-' if value is None else f'{value:.2f} s'


def event_line(r: Record) -> str:
    moved = (f'client {r.client_on} -> {r.moved_to} in {_s(r.failover_s)}' if r.moved_to
             else f'client stayed on {r.client_on or "?"} (not affected)')
    state = 'recovered' if r.done else 'NOT recovered'
    return (f'demo: #{r.fault.number} {r.fault.kind} {r.fault.tier}: detected in '
            f'{_s(r.detected_s)}, {moved}, {state} in {_s(r.recovered_s)}')


def summary_table(records: Sequence[Record], delivered: int = 0, gaps: int = 0) -> str:
    """When the demo ends: one row per fault and the medians."""
    rows = [('#', 'FAULT', 'TIER', 'DETECT', 'FAILOVER', 'RECOVER', 'RESULT')]
    for r in records:
        rows.append((str(r.fault.number), r.fault.kind, r.fault.tier, _s(r.detected_s),
                     _s(r.failover_s) if r.moved_to else '-', _s(r.recovered_s),
                     'recovered' if r.done else
                     'interrupted' if 'interrupted' in r.notes else 'not recovered'))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ['  '.join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    recovered = sum(1 for r in records if r.done)
    lines.append(f'{len(records)} faults injected, {recovered} recovered; '
                 f'client delivered {delivered} messages, {gaps} gaps reported')
    for label, values in (('detection', [r.detected_s for r in records]),
                          ('failover', [r.failover_s for r in records if r.moved_to]),
                          ('recovery', [r.recovered_s for r in records])):
        known = [v for v in values if v is not None]
        if known:
            lines.append(f'{label}: median {statistics.median(known):.2f} s, '
                         f'max {max(known):.2f} s ({len(known)} measured)')
    return '\n'.join(lines)
