"""stress: false failovers under CPU stress (no faults at all).

Four tiers and the coordinator (every tier serves ``/bench/stream``), the source at
``rate`` Hz, ``clients`` FailoverClient processes. First ``before_s`` seconds as they
are (the baseline), then ``busy_per_core`` busy-loop processes per core (bounded: each
ends by itself ``duration_s`` + 60 s later if nothing stops it) for ``duration_s``.
Any client tier change after its first connection is a false failover (nothing was
broken); DOWN and SUSPECT verdicts are counted in the coordinator's status events.
Delivered/offered counts the source's indices received in the stress window (the
source's own ``MARK`` at its start and end), per client; latency is receive wall time
minus the send time in ``msg.data``, before vs under stress.
"""
from __future__ import annotations

import os
import sys
import time

from ..clients import AppClient
from ..context import Context, figure
from ..procs import Child, cpu_seconds
from ..stats import continuity, percentile, ratio, summary
from ..system import UpSystem
from ..watch import StatusWatcher, tier_changes

BUSY = ('import sys, time\nend = time.monotonic() + float(sys.argv[1])\n'
        'while time.monotonic() < end:\n    pass\n')


def _mark(source: Child) -> int:
    return int(source.ask('MARK', 'MARK').split()[1])


def _series(rows: list, t0: float) -> list[list]:
    """Per second since ``t0``: [t, p50, p99, messages] over every client."""
    bins: dict[int, list[float]] = {}
    for r in rows:
        bins.setdefault(int(r[0] - t0), []).append(r[1])
    return [[t, round(percentile(v, 50), 2), round(percentile(v, 99), 2), len(v)]
            for t, v in sorted(bins.items()) if t >= 0]


def run(ctx: Context) -> dict:
    p = ctx.params
    life = p['before_s'] + p['duration_s'] + 600
    busy: list[Child] = []
    with UpSystem(ctx.out / 'work', 'stress', wide=True) as system:
        source = system.source(p['rate'], max_seconds=life)
        clients = [AppClient(system.urls(), label=f'stress client {i}', max_seconds=life)
                   for i in range(p['clients'])]
        watcher = StatusWatcher(list(system.ports.values()))
        try:
            for c in clients:
                c.wait_rows(int(p['rate']), 30)
            watcher.start()
            time.sleep(1.0)
            t0, wall0 = time.monotonic(), time.time()
            ctx.progress('stress', text=f'baseline for {p["before_s"]:g} s')
            time.sleep(p['before_s'])
            m0, s0, swall0 = _mark(source), time.monotonic(), time.time()
            count = p['busy_per_core'] * (os.cpu_count() or 1)
            busy = [Child([sys.executable, '-c', BUSY, f'{p["duration_s"] + 60:g}'],
                          f'busy loop {i}') for i in range(count)]
            ctx.progress('stress', text=f'{count} busy loops for {p["duration_s"]:g} s')
            time.sleep(p['duration_s'])
            busy_cpu = sum(cpu_seconds(b.pid) for b in busy if b.proc.poll() is None)
            m1, s1, swall1 = _mark(source), time.monotonic(), time.time()
            for b in busy:
                b.stop()
            busy.clear()
            time.sleep(2.0)  # what was in flight at the end of the window
        finally:
            for b in busy:
                b.stop()
            watcher.stop()
            for c in clients:
                c.stop()
    _, events = watcher.snapshot()

    def name(label: str) -> str:
        return next((t for t, port in system.ports.items()
                     if label == t or label.endswith(f':{port}')), label)
    per_client, all_rows, changes = [], [], []
    for i, c in enumerate(clients):
        rows, evs = c.snapshot()
        all_rows += rows
        mine = tier_changes(evs, name)
        for ch in mine:
            ch.update(client=i, t=round(ch.pop('at') - t0, 2),
                      under_stress=s0 <= ch['t'] + t0 <= s1)
        changes += mine
        got = {r[5] for r in rows if m0 < r[5] <= m1}
        lost, dup = continuity([(r[3], r[4]) for r in rows])
        per_client.append({'delivered': len(got), 'offered': m1 - m0,
                           'delivered_ratio': ratio(len(got), m1 - m0, 4),
                           'lost': lost, 'dup': dup,
                           'gaps': sum(1 for e in evs if e[1] == 'gap'),
                           'tier_changes': len(mine)})
    before = summary([r[1] for r in all_rows if t0 <= r[0] < s0], 2)
    under = summary([r[1] for r in all_rows if s0 <= r[0] <= s1], 2)
    false_under = sum(1 for ch in changes if ch['under_stress'])
    downs = [e for e in events if e.get('kind') == 'health' and '-> DOWN' in str(e.get('detail'))
             and swall0 <= e.get('at', 0) <= swall1 + 2]
    suspects = [e for e in events if e.get('kind') == 'health'
                and '-> SUSPECT' in str(e.get('detail')) and swall0 <= e.get('at', 0) <= swall1 + 2]
    notable = [e for e in events if e.get('at', 0) >= wall0]
    worst = min((c['delivered_ratio'] or 0 for c in per_client), default=None)
    cores = busy_cpu / (s1 - s0)
    lost, dup = sum(c['lost'] for c in per_client), sum(c['dup'] for c in per_client)
    figures = [
        figure(f'false failovers under CPU stress (any tier change, {len(clients)} clients)',
               false_under, 'msgs', '0', false_under == 0),
        figure('tier changes in the baseline (no stress)', len(changes) - false_under, 'msgs'),
        figure('DOWN verdicts under stress (status events)', len(downs), 'msgs', '0',
               not downs),
        figure('SUSPECT verdicts under stress', len(suspects), 'msgs'),
        figure('delivered/offered under stress (worst client)', worst, 'ratio'),
        figure('latency p50 before / under stress', f'{before["p50"]} / {under["p50"]}', 'ms'),
        figure('latency p99 before / under stress', f'{before["p99"]} / {under["p99"]}', 'ms'),
        figure('latency p99 ratio, under ÷ before', ratio(under['p99'], before['p99']), '×'),
        figure('lost / duplicated over the run', f'{lost} / {dup}', 'msgs', '0 / 0',
               lost == 0 and dup == 0),
        figure(f'CPU taken by the busy loops ({count} processes)', round(cores, 2), 'cores'),
    ]
    s_rel, e_rel = round(s0 - t0, 2), round(s1 - t0, 2)
    return {'figures': figures, 'data': {
        'clients': per_client, 'tier_changes': changes, 'latency_before_ms': before,
        'latency_under_ms': under, 'series': _series(all_rows, t0),
        'stress_window': [s_rel, e_rel], 'busy_processes': count,
        'busy_cores': round(cores, 3), 'down_events': downs, 'suspect_events': suspects,
        'events': notable,
        'verdicts': [[round(e['at'] - wall0, 2), e.get('tier'), e.get('detail')]
                     for e in downs + suspects],
        'setup': f'4 tiers + coordinator, source {p["rate"]:g} Hz, {len(clients)} '
                 f'FailoverClient processes, no faults; {p["before_s"]:g} s baseline, then '
                 f'{count} busy-loop processes ({p["busy_per_core"]} per core) for '
                 f'{p["duration_s"]:g} s'}}
