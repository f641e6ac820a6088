"""overhead: four tiers + coordinator against one tier, same clients, same run.

Both systems run at once with the tiers' default scopes, each fed by its own source at
``rate`` Hz, each with ``clients`` subscribers on its primary (one ``wsload`` process
per system). Over the same window: the CPU time of every process of each system
(``up`` itself, each tier, the coordinator; /proc/<pid>/stat) and, at the end, their
summed RSS, and their summed PSS (shared pages divided among the processes mapping
them) as a second view of memory. Per process figures are kept in the results, so a
ratio that misses its target says which process costs what.
"""
from __future__ import annotations

import time

from ..clients import LoadClients
from ..context import Context, figure
from ..procs import cpu_seconds, pss_bytes, rss_bytes
from ..stats import ratio
from ..system import UpSystem

CPU_TARGET = 1.20
RSS_TARGET = 2.0


def _pids(system: UpSystem) -> dict[str, int]:
    return {'up': system.up.pid, **system.pids()}


def run(ctx: Context) -> dict:
    p = ctx.params
    work = ctx.out / 'work'
    data = {}
    with UpSystem(work, 'overhead-four', wide=False) as four, \
            UpSystem(work, 'overhead-one', tiers=('primary',), coordinator=False,
                     wide=False) as one:
        systems = {'four': four, 'one': one}
        loads = []
        try:
            for name, system in systems.items():
                system.source(p['rate'])
                loads.append(LoadClients(system.url(), p['clients'], sample=0,
                                         label=f'wsload {name}'))
            time.sleep(2.0)
            pids = {name: _pids(system) for name, system in systems.items()}
            before = {name: {k: cpu_seconds(pid) for k, pid in ps.items()}
                      for name, ps in pids.items()}
            time.sleep(p['window_s'])
            after = {name: {k: cpu_seconds(pid) for k, pid in ps.items()}
                     for name, ps in pids.items()}
            for name, ps in pids.items():
                each = {k: {'cpu_s': round(after[name][k] - before[name][k], 3),
                            'rss_mb': round(rss_bytes(pid) / 2**20, 1),
                            'pss_mb': round(pss_bytes(pid) / 2**20, 1)} for k, pid in ps.items()}
                data[name] = {'processes': len(ps),
                              'cpu_s': round(sum(e['cpu_s'] for e in each.values()), 3),
                              'rss_mb': round(sum(e['rss_mb'] for e in each.values()), 1),
                              'pss_mb': round(sum(e['pss_mb'] for e in each.values()), 1),
                              'per_process': each}
                ctx.progress(f'overhead {name}', text=f'{len(ps)} processes: '
                             f'{data[name]["cpu_s"]} CPU s in {p["window_s"]:g} s, '
                             f'{data[name]["rss_mb"]} MB RSS ({data[name]["pss_mb"]} MB PSS); '
                             + ', '.join(f'{k} {e["cpu_s"]} s {e["rss_mb"]} MB'
                                         for k, e in each.items()))
        finally:
            for load in loads:
                load.stop()
    cpu_ratio = ratio(data['four']['cpu_s'], data['one']['cpu_s'])
    rss_ratio = ratio(data['four']['rss_mb'], data['one']['rss_mb'])
    pss_ratio = ratio(data['four']['pss_mb'], data['one']['pss_mb'])
    data.update(cpu_ratio=cpu_ratio, rss_ratio=rss_ratio, pss_ratio=pss_ratio,
                setup=f'{p["clients"]} clients on the primary of each system, source '
                      f'{p["rate"]:g} Hz each, {p["window_s"]:g} s window, default scopes')
    return {'figures': [
        figure('CPU, four tiers ÷ one', cpu_ratio, '×', f'≤ {CPU_TARGET:.2f}×',
               None if cpu_ratio is None else cpu_ratio <= CPU_TARGET),
        figure('memory (RSS), four tiers ÷ one', rss_ratio, '×', f'≤ {RSS_TARGET:.1f}×',
               None if rss_ratio is None else rss_ratio <= RSS_TARGET),
        figure('memory (PSS), four tiers ÷ one', pss_ratio, '×'),
    ], 'data': data}
