"""recovery: a crashed tier back to ACTIVE (supervisor respawn, then the coordinator's
configure and activate).

Four tiers and the coordinator. Each trial kills (``kill -9``) one tier, rotating
through all four, trials at least ``spacing_s`` apart, so one tier is killed at most
every 4 x ``spacing_s``: beyond the supervisor's 10 s backoff reset and below the
coordinator's crash-loop breaker (5 strikes in 60 s opens the circuit for 30 s; that
is a different measurement). Each trial polls the tier's ``GET /health`` every 20 ms
until it answers 200 with ``state: active`` and a new pid.
The coordinator's own ``recovered`` event (``duration_s``) is read from ``GET
/status`` beside it.
"""
from __future__ import annotations

import os
import signal
import time

from ..context import Context, figure
from ..procs import BenchError, http_json, wait_for
from ..stats import summary
from ..system import TIERS, UpSystem

TARGET_S = 2.0


def _coordinator_duration(system: UpSystem, tier: str, killed_wall: float) -> float | None:
    for name in system.tiers:
        status, doc = http_json(system.ports[name], '/status', timeout=1.0)
        if status == 200 and isinstance(doc, dict):
            found = [e for e in doc.get('events', []) if e.get('tier') == tier
                     and e.get('kind') == 'recovered' and e.get('at', 0) >= killed_wall]
            return found[-1].get('duration_s') if found else None
    return None


def _row(system: UpSystem, tier: str) -> dict | None:
    for name in system.tiers:
        status, doc = http_json(system.ports[name], '/status', timeout=1.0)
        if status == 200 and isinstance(doc, dict):
            return next((r for r in doc.get('tiers', []) if r.get('name') == tier), None)
    return None


def _up(system: UpSystem, tier: str) -> bool:
    status, doc = http_json(system.ports[system.tiers[0]], '/status', timeout=1.0)
    if status != 200 or not isinstance(doc, dict):
        return False
    return any(r.get('name') == tier and r.get('health') == 'UP' for r in doc.get('tiers', []))


def trial(ctx: Context, system: UpSystem, tier: str) -> tuple[float, float | None]:
    timeout = ctx.params['timeout_s']
    wait_for(lambda: _up(system, tier), timeout, f'{tier} UP in the status document')
    old = system.tier_pid(tier)
    port = system.ports[tier]
    killed_wall, killed = time.time(), time.monotonic()
    os.kill(old, signal.SIGKILL)

    def active_again() -> bool:
        health = system.health(port)
        return health.get('state') == 'active' and health.get('pid') not in (None, old)
    try:
        wait_for(active_again, timeout, f'{tier} to answer /health active after kill -9',
                 interval=0.02)
    except BenchError as exc:
        row = _row(system, tier)
        tail = '\n  '.join(system.up.lines[-12:]) if system.up else ''
        raise BenchError(f'{exc}; its status row: {row}; up said:\n  {tail}') from None
    elapsed = time.monotonic() - killed
    try:
        coordinator = wait_for(lambda: _coordinator_duration(system, tier, killed_wall), 5,
                               f"the coordinator's recovered event for {tier}")
    except BenchError:  # reported as missing; the measurement stands
        coordinator = None
    return elapsed, coordinator


def run(ctx: Context) -> dict:
    p = ctx.params
    samples, coordinator, rows = [], [], []
    with UpSystem(ctx.out / 'work', 'recovery', wide=False) as system:
        for i in range(p['trials']):
            tier = TIERS[i % len(TIERS)]
            began = time.monotonic()
            elapsed, duration = trial(ctx, system, tier)
            time.sleep(max(0.0, began + p['spacing_s'] - time.monotonic()))
            samples.append(round(elapsed, 3))
            coordinator.append(None if duration is None else round(duration, 3))
            rows.append({'tier': tier, 'to_active_s': round(elapsed, 3),
                         'coordinator_s': coordinator[-1]})
            ctx.progress('recovery kill', i + 1, p['trials'],
                         f'{tier} active again after {elapsed:.2f} s (coordinator says '
                         f'{"n/a" if duration is None else f"{duration:.2f} s"})')
    s = summary(samples, 3)
    c = summary([d for d in coordinator if d is not None], 3)
    return {
        'figures': [
            figure('kill -9 to ACTIVE p50', s['p50'], 's'),
            figure('kill -9 to ACTIVE p99', s['p99'], 's', f'≤ {TARGET_S:g} s',
                   s['p99'] is not None and s['p99'] <= TARGET_S),
            figure("coordinator's recorded duration p50 / p99",
                   f'{c["p50"]} / {c["p99"]}', 's'),
        ],
        'data': {'samples_s': samples, 'coordinator_s': coordinator, 'trials': rows,
                 'to_active_s': s, 'coordinator_summary_s': c,
                 'setup': f'4 tiers + coordinator, {p["trials"]} kill -9 trials rotating '
                          f'over the tiers, ≥ {p["spacing_s"]:g} s apart; measured from the kill to /health 200 active '
                          'with a new pid (polled every 20 ms)'},
    }
