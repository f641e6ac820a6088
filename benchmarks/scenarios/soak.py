"""soak: the whole system for an hour-class run, with a fault every few tens of seconds.

Four tiers and the coordinator (every tier serves ``/bench/stream``), the source at
``rate`` Hz, ``clients`` FailoverClient processes reading it the whole time. Faults
come from the demo's own schedule (``core.chaos.FaultPlan``, seeded): ``kill -9``,
``SIGSTOP`` for ``hang_s`` then ``SIGCONT`` (always, in a finally), or a lifecycle
``deactivate`` through the graph's ``/<tier>/change_state`` (``benchmarks.graphctl``),
on a random tier, each after the previous one has recovered plus a random interval.
Detection and recovery are read from the coordinator's status events
(``core.chaos.measure``). Every ``sample_s`` the RSS of every process is sampled.

A client tier change is *explained* when a fault hit the tier it left or joined
between the injection and ``explain_s`` after that fault's recovery (failback has a
2 s hold-down); any other change (after the first connection) is a false failover.
"""
from __future__ import annotations

import os
import re
import signal
import time

from websocket_redundancy.core.chaos import Fault, FaultPlan, Record, measure

from ..clients import AppClient
from ..context import Context, figure
from ..procs import BenchError, Child, python, sigcont, sigstop, wait_for
from ..stats import continuity, summary
from ..system import UpSystem
from ..watch import RssSampler, StatusWatcher, memory_report, tier_changes, up_children

RESTART = re.compile(r'^(\S+) \(pid \d+\) (.*) restarting in')
KILL_TARGET_S = 2.0


def _namer(system: UpSystem):
    def name(label: str) -> str:
        for tier, port in system.ports.items():
            if label == tier or label.endswith(f':{port}'):
                return tier
        return label
    return name


def _inject(ctx: Context, system: UpSystem, ctl: Child, watcher: StatusWatcher,
            clients: list[AppClient], fault: Fault) -> dict:
    """One fault, then wait (bounded) until the coordinator reports it recovered."""
    p = ctx.params
    pid = up_children(system.up.pid).get(fault.tier)
    record = Record(fault, time.time(), client_on=str(clients[0].tier()))
    start = time.monotonic()
    if pid is None:
        record.notes.append(f'{fault.tier} had no process to fault')
    elif fault.kind == 'kill':
        os.kill(pid, signal.SIGKILL)
    elif fault.kind == 'hang':
        sigstop(pid)
        try:
            time.sleep(p['hang_s'])
        finally:
            sigcont(pid)
    else:
        answer = ctl.ask(f'CHANGE {fault.tier} deactivate', 'CHANGED', 15)
        if ' ok' not in answer:
            record.notes.append(answer)
    deadline = start + p['recovery_timeout_s']
    while time.monotonic() < deadline:
        measure(record, watcher.snapshot()[1])
        if record.done:
            break
        time.sleep(0.1)
    return {'n': fault.number, 'kind': fault.kind, 'tier': fault.tier, 'pid': pid,
            'at': start, 'end': time.monotonic(), 'detected_s': record.detected_s,
            'recovered_s': record.recovered_s, 'recovered': record.done,
            'notes': record.notes}


def _classify(changes: list[dict], faults: list[dict], explain_s: float) -> None:
    """The latest fault on the tier a change left or joined, injected before the change
    and recovered at most ``explain_s`` before it, explains it."""
    for c in changes:
        c['fault'] = next((f['n'] for f in reversed(faults) if f['at'] - 0.5 <= c['at']
                           <= f['end'] + explain_s and f['tier'] in (c['from'], c['to'])),
                          None)


def _not_up(watcher: StatusWatcher) -> str:
    rows = watcher.snapshot()[0].get('tiers') or []
    return ', '.join(f'{r.get("name")} {r.get("health")} circuit {r.get("circuit")} '
                     f'lifecycle {r.get("lifecycle")}' for r in rows if r.get('health') != 'UP')


def _duration(seconds: float) -> str:
    return f'{seconds / 60:.0f} min' if seconds >= 120 else f'{seconds:g} s'


def _restarts(lines: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in lines:
        match = RESTART.match(line)
        if match:
            out[match.group(1)] = out.get(match.group(1), 0) + 1
    return out


def run(ctx: Context) -> dict:
    p = ctx.params
    duration, life = p['duration_s'], p['duration_s'] + 600
    faults: list[dict] = []
    with UpSystem(ctx.out / 'work', 'soak', wide=True) as system:
        source = system.source(p['rate'], max_seconds=life)
        clients = [AppClient(system.urls(), label=f'soak client {i}', max_seconds=life)
                   for i in range(p['clients'])]
        ctl = Child(python('benchmarks.graphctl', *system.graph_args(), '--max-seconds',
                           f'{life:g}'), 'graphctl (soak)', stdin=True)
        watcher = StatusWatcher(list(system.ports.values()))
        sampler = RssSampler(lambda: {'up': system.up.pid, 'source': source.pid,
                                      **{f'client {i}': c.child.pid
                                         for i, c in enumerate(clients)},
                                      **up_children(system.up.pid)}, p['sample_s'])
        try:
            ctl.wait_line('READY', 30)
            for c in clients:
                c.wait_rows(int(p['rate']), 30)
            watcher.start()
            sampler.start()
            plan = FaultPlan(system.tiers, tuple(p['interval_s']), seed=p['seed'])
            t0 = time.monotonic()
            end = t0 + duration
            while True:
                delay = plan.delay()
                if time.monotonic() + delay >= end:
                    time.sleep(max(0.0, end - time.monotonic()))
                    break
                time.sleep(delay)
                waited = time.monotonic()
                try:  # bounded: a tier that is not back is itself a finding
                    wait_for(watcher.all_up, p['recovery_timeout_s'], 'every tier UP')
                    not_up = None
                except BenchError:
                    not_up = _not_up(watcher)
                if time.monotonic() >= end:
                    break
                row = _inject(ctx, system, ctl, watcher, clients, plan.next())
                row['waited_for_up_s'] = round(row['at'] - waited, 2)
                if not_up:
                    row['notes'].append(f'not every tier was UP before it: {not_up}')
                faults.append(row)
                ctx.progress('soak fault', text=f'#{row["n"]} {row["kind"]} {row["tier"]}: detected '
                             f'{row["detected_s"]} s, recovered {row["recovered_s"]} s '
                             f'(+{time.monotonic() - t0:.0f}/{duration:g} s)'
                             + ''.join(f' ({n})' for n in row['notes']))
            time.sleep(1.0)
        finally:
            sampler.stop()
            watcher.stop()
            ctl.stop()
            for c in clients:
                c.stop()
        up_lines = list(system.up.lines)
        (ctx.out / 'work' / 'soak-up.log').write_text('\n'.join(up_lines) + '\n')
        doc, events = watcher.snapshot()
    return report(ctx, system, clients, faults, sampler, doc, events, up_lines, t0)


def report(ctx, system, clients, faults, sampler, doc, events, up_lines, t0) -> dict:
    p, name = ctx.params, _namer(system)
    per_client, all_changes = [], []
    for i, c in enumerate(clients):
        rows, evs = c.snapshot()
        lost, dup = continuity([(r[3], r[4]) for r in rows])
        changes = tier_changes(evs, name)
        _classify(changes, faults, p['explain_s'])
        for ch in changes:
            ch['client'] = i
        all_changes += changes
        per_client.append({'delivered': len(rows), 'lost': lost, 'dup': dup,
                           'gaps': sum(1 for e in evs if e[1] == 'gap'),
                           'tier_changes': len(changes),
                           'false_failovers': sum(1 for ch in changes if ch['fault'] is None)})
    recovered = [f['recovered_s'] for f in faults if f['recovered_s'] is not None]
    kills = [f['recovered_s'] for f in faults if f['kind'] == 'kill'
             and f['recovered_s'] is not None]
    by_kind = {k: summary([f['recovered_s'] for f in faults if f['kind'] == k
                           and f['recovered_s'] is not None], 3)
               for k in ('kill', 'hang', 'deactivate')}
    rec, kill = summary(recovered, 3), summary(kills, 3)
    restarts = _restarts(up_lines)
    failed = [e for e in events if e.get('kind') in ('failed', 'recovery_failed')]
    verdicts = sum(1 for e in failed if e.get('kind') == 'failed')
    circuits = {r.get('endpoint') or r.get('name'): r.get('circuit')
                for r in doc.get('tiers') or []}
    memory = memory_report(sampler.samples, p['warm_s'])
    lost, dup = sum(c['lost'] for c in per_client), sum(c['dup'] for c in per_client)
    false = sum(c['false_failovers'] for c in per_client)
    n_ok = sum(1 for f in faults if f['recovered'])
    kinds = ', '.join(f'{sum(1 for f in faults if f["kind"] == k)} {k}'
                      for k in ('kill', 'hang', 'deactivate'))
    figures = [
        figure(f'faults injected / recovered ({kinds})', f'{len(faults)} / {n_ok}', 'msgs'),
        figure(f'recovery p50 / p99, all faults ({rec["n"]})', f'{rec["p50"]} / {rec["p99"]}',
               's'),
        figure(f'recovery p99, kill -9 ({kill["n"]}; injection to coordinator\'s recovered)',
               kill['p99'], 's', f'≤ {KILL_TARGET_S:g} s',
               None if kill['p99'] is None else kill['p99'] <= KILL_TARGET_S),
        figure(f'lost / duplicated over the run, {len(clients)} clients, '
               f'{sum(c["delivered"] for c in per_client)} delivered', f'{lost} / {dup}', 'msgs',
               '0 / 0', lost == 0 and dup == 0),
        figure('gaps reported by the clients', sum(c['gaps'] for c in per_client), 'msgs'),
        figure(f'false failovers ({len(all_changes)} tier changes, each client)', false, 'msgs',
               '0', false == 0),
        figure('coordinator restarts / FAILED verdicts (circuit opened)',
               f'{restarts.get("coordinator", 0)} / {verdicts}', 'msgs'),
    ]
    hours = (sampler.samples[-1][0] / 3600) if sampler.samples else 0
    worst_client = max((k for k in memory if k.startswith('client')),
                       key=lambda k: memory[k]['slope_mb_per_h'] or 0, default=None)
    for key in [k for k in memory if not k.startswith('client')] + [worst_client]:
        if key is None:
            continue
        m = memory[key]
        label = 'clients (the steepest)' if key.startswith('client') else key
        figure_text = (f'{m["start_mb"]} → {m["end_mb"]} MB, {m["slope_mb_per_h"]} MB/h'
                       + (f' ({m["incarnations"]} processes)' if m['incarnations'] > 1 else ''))
        figures.append(figure(f'RSS {label}: start → end, growth', figure_text, ''))
    setup = (f'4 tiers + coordinator, source {p["rate"]:g} Hz, {len(clients)} FailoverClient '
             f'processes, {_duration(p["duration_s"])}, a fault every '
             f'{p["interval_s"][0]:g}-{p["interval_s"][1]:g} s after the previous recovery '
             f'(seed {p["seed"]}; kill -9, SIGSTOP {p["hang_s"]:g} s, deactivate), RSS every '
             f'{p["sample_s"]:g} s ({hours:.2f} h sampled; growth leaves out each process\'s '
             f'first {p["warm_s"]:g} s); a tier change is explained within '
             f'{p["explain_s"]:g} s of its fault\'s recovery')
    for f in faults:
        f['t'], f['t_end'] = round(f.pop('at') - t0, 2), round(f.pop('end') - t0, 2)
    for ch in all_changes:
        ch['t'] = round(ch.pop('at') - t0, 2)
    offset = round(sampler.started - t0, 2)
    return {'figures': figures, 'data': {
        'faults': faults, 'clients': per_client, 'tier_changes': all_changes,
        'recovery_s': rec, 'recovery_by_kind_s': by_kind, 'restarts': restarts,
        'failed_events': failed, 'circuits_at_end': circuits, 'memory': memory,
        'events': events,
        'rss_samples': [[round(s[0] + offset, 2), *s[1:]] for s in sampler.samples],
        'duration_s': p['duration_s'], 'setup': setup}}
