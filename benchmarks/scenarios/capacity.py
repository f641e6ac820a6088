"""capacity: the most clients one tier serves at 10 Hz with p99 <= 50 ms and every
frame delivered (>= 0.99), stepping the client count up; and memory per idle client.

One tier (``--no-coordinator``, capacity raised to 1200), the source at ``rate`` Hz,
one ``wsload`` process per step (latency sampled on 64 connections spread evenly, so
the last clients in the tier's send order are in the sample). Memory: the tier's RSS
before and after ``idle`` connections that subscribe to nothing, divided by ``idle``.
"""
from __future__ import annotations

import time

from ..clients import LoadClients
from ..context import Context, figure
from ..procs import rss_bytes
from ..stats import ratio, summary
from ..system import UpSystem

P99_MS, MIN_RATIO, TARGET_CLIENTS = 50.0, 0.99, 1000


def step(ctx: Context, system: UpSystem, source, clients: int) -> dict:
    p = ctx.params
    load = LoadClients(system.url(), clients, sample=64, label=f'wsload {clients}')
    try:
        time.sleep(1.0)
        i1 = int(source.ask('MARK', 'MARK').split()[1])
        time.sleep(p['window_s'])
        i2 = int(source.ask('MARK', 'MARK').split()[1])
        time.sleep(1.0)
        got = load.report(i1 + 1, i2 + 1)
    finally:
        load.stop()
    lat = summary(got['latencies_ms'])
    delivered = ratio(got['received'], clients * got['indices'], 4)
    held = (delivered is not None and delivered >= MIN_RATIO and lat['p99'] is not None
            and lat['p99'] <= P99_MS)
    return {'clients': clients, 'p50_ms': lat['p50'], 'p99_ms': lat['p99'],
            'delivered_ratio': delivered, 'held': held, 'client_cpu_s': got['client_cpu_s']}


def idle_memory(system: UpSystem, clients: int) -> dict:
    pid = system.tier_pid('primary')
    time.sleep(0.5)
    before = rss_bytes(pid)
    load = LoadClients(system.url(), clients, idle=True, sample=0, label='wsload idle')
    try:
        time.sleep(1.5)
        after = rss_bytes(pid)
    finally:
        load.stop()
    return {'clients': clients, 'rss_before_mb': round(before / 2**20, 1),
            'rss_after_mb': round(after / 2**20, 1),
            'kb_per_client': round((after - before) / 1024 / clients, 1)}


def run(ctx: Context) -> dict:
    p = ctx.params
    steps = []
    with UpSystem(ctx.out / 'work', 'capacity', tiers=('primary',), coordinator=False,
                  wide=False, capacity=1200) as system:
        memory = idle_memory(system, p['idle'])
        ctx.progress('capacity idle', text=f'{memory["clients"]} idle clients: '
                     f'{memory["kb_per_client"]} KB each')
        source = system.source(p['rate'])
        for i, clients in enumerate(p['steps'], start=1):
            s = step(ctx, system, source, clients)
            steps.append(s)
            ctx.progress('capacity step', i, len(p['steps']),
                         f'{clients} clients: p99 {s["p99_ms"]} ms, delivered '
                         f'{s["delivered_ratio"]}, {"held" if s["held"] else "NOT held"}')
    best = max((s['clients'] for s in steps if s['held']), default=0)
    return {'figures': [
        figure(f'clients per tier at {p["rate"]:g} Hz with p99 ≤ 50 ms', best, 'clients',
               f'{TARGET_CLIENTS}', best >= TARGET_CLIENTS),
        *[figure(f'p99 latency at {s["clients"]} clients', s['p99_ms'], 'ms') for s in steps],
        figure('memory per idle client', memory['kb_per_client'], 'KB'),
    ], 'data': {'steps': steps, 'largest_held': best, 'idle_memory': memory,
                'setup': f'1 tier --no-coordinator, capacity 1200, source {p["rate"]:g} Hz, '
                         f'steps {p["steps"]}, {p["window_s"]:g} s windows, 1 wsload process'}}
