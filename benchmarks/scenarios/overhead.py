"""overhead: four tiers + coordinator against one tier, same clients, same run.

Both systems run at once with the tiers' default scopes, each fed by its own source at
``rate`` Hz, each with ``clients`` subscribers on its primary (one ``wsload`` process
per system). Over the same window: the CPU time of every process of each system
(``up`` itself, each tier, the coordinator; /proc/<pid>/stat) and, at the end, their
summed RSS.
"""
from __future__ import annotations

import time

from ..clients import LoadClients
from ..context import Context, figure
from ..procs import cpu_seconds, rss_bytes
from ..stats import ratio
from ..system import UpSystem

TARGET = 1.10


def _pids(system: UpSystem) -> list[int]:
    return [system.up.pid, *system.pids().values()]


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
            before = {name: sum(cpu_seconds(pid) for pid in ps) for name, ps in pids.items()}
            time.sleep(p['window_s'])
            after = {name: sum(cpu_seconds(pid) for pid in ps) for name, ps in pids.items()}
            for name, ps in pids.items():
                data[name] = {'processes': len(ps),
                              'cpu_s': round(after[name] - before[name], 3),
                              'rss_mb': round(sum(rss_bytes(pid) for pid in ps) / 2**20, 1)}
                ctx.progress(f'overhead {name}', text=f'{len(ps)} processes: '
                             f'{data[name]["cpu_s"]} CPU s in {p["window_s"]:g} s, '
                             f'{data[name]["rss_mb"]} MB')
        finally:
            for load in loads:
                load.stop()
    cpu_ratio = ratio(data['four']['cpu_s'], data['one']['cpu_s'])
    rss_ratio = ratio(data['four']['rss_mb'], data['one']['rss_mb'])
    data.update(cpu_ratio=cpu_ratio, rss_ratio=rss_ratio,
                setup=f'{p["clients"]} clients on the primary of each system, source '
                      f'{p["rate"]:g} Hz each, {p["window_s"]:g} s window, default scopes')
    return {'figures': [
        figure('CPU, four tiers ÷ one', cpu_ratio, '×', '≤ 1.10×',
               None if cpu_ratio is None else cpu_ratio <= TARGET),
        figure('memory (RSS), four tiers ÷ one', rss_ratio, '×'),
    ], 'data': data}
