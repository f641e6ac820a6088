"""failover: kill -9 and SIGSTOP the tier the clients are on, under a steady stream.

Four tiers and the coordinator (every tier serves ``/bench/stream``), the source at
``rate`` Hz, ``clients`` FailoverClient processes. Trials alternate kill and stop.
Each trial: wait until the clients are back on the primary (bounded), fault the tier
client 0 is on, wait until every client has received ``rate / 2`` messages from
another tier, then (stop) SIGCONT. Per client and trial: the gap is the largest
inter-arrival at the application overlapping [fault, end of trial]; lost and
duplicated come from (epoch, seq) continuity over the trial (and, at the end, over
the whole run).
"""
from __future__ import annotations

import os
import signal
import time

from ..clients import AppClient
from ..context import Context, figure
from ..procs import BenchError, sigcont, sigstop, wait_for
from ..stats import continuity, largest_gap, summary
from ..system import UpSystem

TARGETS = {'kill': 100.0, 'stop': 400.0}


def _name(system: UpSystem, tier: str) -> str:
    for name, port in system.ports.items():
        if tier == name or tier.endswith(f':{port}'):
            return name
    return tier


def _all_on(system: UpSystem, clients: list[AppClient], tier: str) -> bool:
    return all(c.tier() and _name(system, c.tier()) == tier for c in clients)


def trial(ctx: Context, system: UpSystem, clients: list[AppClient], kind: str) -> list[dict]:
    p = ctx.params
    try:  # bounded: the next fault hits whatever tier the clients are on
        wait_for(lambda: _all_on(system, clients, 'primary'), p['settle_s'], 'failback')
    except BenchError:
        pass
    victim = _name(system, clients[0].tier())
    pid = system.tier_pid(victim)
    victim_url = system.url(victim)
    start = time.monotonic()
    if kind == 'kill':
        os.kill(pid, signal.SIGKILL)
    else:
        sigstop(pid)
    try:
        need = max(5, int(p['rate'] / 2))
        for c in clients:
            c.wait_rows(need, p['trial_timeout_s'], since=start, tier_not=(victim, victim_url))
    finally:
        if kind == 'stop':
            sigcont(pid)
    end = time.monotonic()
    out = []
    for c in clients:
        rows, events = c.snapshot()
        times = [r[0] for r in rows]
        window = [(r[3], r[4]) for r in rows if start - 1.0 <= r[0] <= end]
        lost, dup = continuity(window)
        switch = next((at for at, k, _ in events if k == 'tier_changed' and at >= start), None)
        out.append({'kind': kind, 'victim': victim,
                    'gap_ms': round(1000 * largest_gap(times, start, end), 1),
                    'switch_ms': None if switch is None else round(1000 * (switch - start), 1),
                    'lost': lost, 'dup': dup})
    return out


def run(ctx: Context) -> dict:
    p = ctx.params
    with UpSystem(ctx.out / 'work', 'failover', wide=True) as system:
        system.source(p['rate'])
        clients = [AppClient(system.urls(), label=f'failover client {i}')
                   for i in range(p['clients'])]
        try:
            for c in clients:
                c.wait_rows(int(p['rate']), 30)
            trials: list[dict] = []
            kinds = [k for _ in range(p['trials']) for k in ('kill', 'stop')]
            done = {'kill': 0, 'stop': 0}
            for kind in kinds:
                done[kind] += 1
                rows = trial(ctx, system, clients, kind)
                trials += rows
                worst = max(rows, key=lambda r: r['gap_ms'])
                ctx.progress(f'failover {kind}', done[kind], p['trials'],
                             f'{worst["victim"]}: gap {worst["gap_ms"]:.0f} ms, '
                             f'lost {sum(r["lost"] for r in rows)}, '
                             f'dup {sum(r["dup"] for r in rows)}')
            time.sleep(0.5)
            whole = [continuity([(r[3], r[4]) for r in c.snapshot()[0]]) for c in clients]
            delivered = sum(len(c.snapshot()[0]) for c in clients)
        finally:
            for c in clients:
                c.stop()
    figures, data = [], {'trials': trials, 'whole_run': {'lost': sum(w[0] for w in whole),
                                                         'dup': sum(w[1] for w in whole),
                                                         'delivered': delivered}}
    for kind, label in (('kill', 'kill -9'), ('stop', 'SIGSTOP')):
        rows = [r for r in trials if r['kind'] == kind]
        gaps = summary([r['gap_ms'] for r in rows])
        data[kind] = {'gap_ms': gaps,
                      'switch_ms': summary([r['switch_ms'] for r in rows
                                            if r['switch_ms'] is not None]),
                      'lost': sum(r['lost'] for r in rows), 'dup': sum(r['dup'] for r in rows)}
        limit = TARGETS[kind]
        figures += [
            figure(f'failover gap p50 / p95 / p99 / max, {label} ({gaps["n"]} samples)',
                   f'{gaps["p50"]} / {gaps["p95"]} / {gaps["p99"]} / {gaps["max"]}', 'ms'),
            figure(f'failover gap p99, {label}', gaps['p99'], 'ms', f'≤ {limit:g} ms',
                   gaps['p99'] is not None and gaps['p99'] <= limit),
            figure(f'lost / duplicated, {label}', f'{data[kind]["lost"]} / {data[kind]["dup"]}',
                   'msgs', '0 / 0', data[kind]['lost'] == 0 and data[kind]['dup'] == 0),
        ]
    data['setup'] = (f'4 tiers + coordinator, source {p["rate"]:g} Hz, {p["clients"]} '
                     f'FailoverClient process(es), {p["trials"]} trials per fault')
    return {'figures': figures, 'data': data}
