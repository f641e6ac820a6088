"""fanout: delivered/offered and server CPU per delivered frame, one tier against a bare
Autobahn broadcaster (``benchmarks.bare``), measured in the same run, interleaved. The
tier is measured twice: with clients that ask for the resume keys (``tier``: the frames
the failover clients get, shaped like the bare broadcaster's) and with plain rosbridge
clients (``standard``: the standard frame, 25 bytes shorter).

One tier (``--no-coordinator``, capacity raised) fed by the benchmark source; per point
(clients, rate, size) and repeat: the tier, then the bare broadcaster (then the
external target, if given), each with a fresh source and a fresh ``wsload`` process
(one client process holding every connection). Window: mark the source's index and
the server's CPU time (/proc/<pid>/stat), wait ``window_s``, mark again, let 1 s drain,
then count the frames the clients got with an index inside the window. offered =
clients x indices sent in the window. The bare broadcaster paces itself, so when the
machine cannot keep up it sends fewer frames rather than queueing them; a point where
a server reached under 95 % of the nominal rate is labelled as such (its CPU per frame
then includes the cost of running saturated).
"""
from __future__ import annotations

import time

from ..clients import LoadClients
from ..context import Context, figure
from ..procs import Child, cpu_seconds, http_json, python
from ..stats import ratio, summary
from ..system import UpSystem
from ..wsframe import split_url

DRAIN_S = 1.0
SATURATED = 0.95  # a server below this share of the nominal rate could not keep up


def measure(ctx: Context, url: str, source: Child | None, pid: int | None, clients: int,
            rate: float, standard: bool = False) -> dict:
    """One window against whatever serves ``url``; ``source`` answers MARK (or None:
    the clients' largest index stands in); ``pid`` is the server's (or None);
    ``standard``: the clients subscribe as plain rosbridge clients (no resume keys)."""
    p = ctx.params
    load = LoadClients(url, clients, sample=16, label=f'wsload {clients}', standard=standard)
    try:
        time.sleep(p['warmup_s'])

        def mark() -> tuple[int, float | None, float]:
            index = (int(source.ask('MARK', 'MARK').split()[1]) if source is not None
                     else load.mark()[0])
            return index, None if pid is None else cpu_seconds(pid), time.monotonic()
        i1, cpu1, t1 = mark()
        time.sleep(p['window_s'])
        i2, cpu2, t2 = mark()
        time.sleep(DRAIN_S)
        got = load.report(i1 + 1, i2 + 1)
    finally:
        load.stop()
    offered = clients * got['indices']
    cpu = None if pid is None else cpu2 - cpu1
    return {'offered': offered, 'delivered': got['received'],
            'delivered_ratio': ratio(got['received'], offered, 4),
            'achieved_rate_hz': round(got['indices'] / (t2 - t1), 1),
            'nominal_rate_hz': rate, 'cpu_s': None if cpu is None else round(cpu, 3),
            'cpu_us_per_frame': (None if cpu is None or not got['received']
                                 else round(1e6 * cpu / got['received'], 2)),
            'client_cpu_s': got['client_cpu_s'],
            'latencies_ms': got.get('latencies_ms', [])}


def run_tier(ctx, system: UpSystem, clients: int, rate: float, size: int,
             standard: bool = False) -> dict:
    source = system.source(rate, size)
    try:
        return measure(ctx, system.url(), source, system.tier_pid('primary'), clients, rate,
                       standard)
    finally:
        system.stop_sources()


def run_bare(ctx, clients: int, rate: float, size: int) -> dict:
    bare = Child(python('benchmarks.bare', '--rate', f'{rate:g}', '--size', str(size)),
                 'bare broadcaster', stdin=True)
    try:
        port = int(bare.wait_line('READY', 30).split('port=')[1].split()[0])
        return measure(ctx, f'ws://127.0.0.1:{port}', bare, bare.pid, clients, rate)
    finally:
        bare.stop()


def target_pid(url: str) -> int | None:
    """The target's pid if it answers ``GET /health`` with one (ours does)."""
    host, port, _ = split_url(url)
    status, body = http_json(port, '/health') if host in ('127.0.0.1', 'localhost') else (0, 0)
    return body.get('pid') if status == 200 and isinstance(body, dict) else None


def run_target(ctx, clients: int, rate: float, size: int) -> dict:
    cmd = ctx.source_cmd.format(rate=f'{rate:g}', size=size, topic='/bench/stream')
    source = Child(['/bin/sh', '-c', 'exec ' + cmd], 'target source', stdin=True)
    try:
        time.sleep(1.5)  # the source connects and the target sees the topic
        mark_source = source if any('READY' in line for line in source.lines) else None
        return measure(ctx, ctx.target, mark_source, target_pid(ctx.target), clients, rate)
    finally:
        source.stop()


def interleave(ctx: Context, label: str, servers, one) -> list[dict]:
    """Every point of ``ctx.params['points']``, ``repeats`` times, each server in turn
    (``one(server, clients, rate, size)`` measures one window); one progress line each."""
    p = ctx.params
    points = [{'clients': c, 'rate': r, 'size': s, **{k: [] for k in servers}}
              for c, r, s in p['points']]
    total, step = p['repeats'] * len(points), 0
    for _ in range(p['repeats']):
        for point in points:
            step += 1
            c, r, s = point['clients'], point['rate'], point['size']
            for server in servers:
                m = one(server, c, r, s)
                point[server].append(m)
                ctx.progress(f'{label} {c}c {r:g}Hz {s}B {server}', step, total,
                             f'delivered/offered {m["delivered_ratio"]}, '
                             f'{m["achieved_rate_hz"]:g} Hz, CPU/frame '
                             f'{m["cpu_us_per_frame"]} µs')
    return points


def run(ctx: Context) -> dict:
    p = ctx.params
    servers = ['tier', 'standard', 'bare'] + (['target'] if ctx.target else [])
    with UpSystem(ctx.out / 'work', 'fanout', tiers=('primary',), coordinator=False,
                  wide=False) as system:
        def one(server, c, r, s):
            if server in ('tier', 'standard'):
                return run_tier(ctx, system, c, r, s, standard=server == 'standard')
            if server == 'bare':
                return run_bare(ctx, c, r, s)
            return run_target(ctx, c, r, s)
        points = interleave(ctx, 'fanout', servers, one)
    return summarize(points, servers, p)


def pooled(runs: list[dict]) -> dict:
    """The windows of one point and server, summed; latency percentiles over every
    sampled frame (the raw samples are not kept)."""
    offered = sum(m['offered'] for m in runs)
    delivered = sum(m['delivered'] for m in runs)
    lat = [x for m in runs for x in m.get('latencies_ms', [])]
    cpus = [m['cpu_s'] for m in runs]
    cpu = None if any(c is None for c in cpus) else sum(cpus)
    return {'offered': offered, 'delivered': delivered,
            'delivered_ratio': ratio(delivered, offered, 4),
            'cpu_us_per_frame': None if cpu is None or not delivered
            else round(1e6 * cpu / delivered, 2),
            'achieved_rate_hz': round(sum(m['achieved_rate_hz'] for m in runs) / len(runs), 1),
            'latency_ms': summary(lat, 2) if lat else None,
            'runs': [{k: v for k, v in m.items() if k != 'latencies_ms'} for m in runs]}


def summarize(points: list[dict], servers: list[str], p: dict) -> dict:
    figures, out = [], []
    for point in points:
        row = {k: point[k] for k in ('clients', 'rate', 'size')}
        for server in servers:
            row[server] = pooled(point[server])
        row['cpu_ratio'] = ratio(row['tier']['cpu_us_per_frame'],
                                 row['bare']['cpu_us_per_frame'])
        if 'standard' in servers:
            row['standard_cpu_ratio'] = ratio(row['standard']['cpu_us_per_frame'],
                                              row['bare']['cpu_us_per_frame'])
        if 'target' in servers:
            row['target_cpu_ratio'] = ratio(row['target']['cpu_us_per_frame'],
                                            row['bare']['cpu_us_per_frame'])
        row['saturated'] = {server: row[server]['achieved_rate_hz'] for server in servers
                            if row[server]['achieved_rate_hz'] < SATURATED * row['rate']}
        out.append(row)
        label = f'{row["clients"]} clients × {row["rate"]:g} Hz × {row["size"]} B'
        behind = ''.join(f' ({server} reached only {hz:g} Hz)'
                         for server, hz in row['saturated'].items())
        figures.append(figure(f'CPU/frame tier ÷ bare, {label}{behind}', row['cpu_ratio'], '×',
                              '≤ 1.0×', None if row['cpu_ratio'] is None
                              else row['cpu_ratio'] <= 1.0))
        if 'standard' in servers:
            std = row['standard_cpu_ratio']
            figures.append(figure(f'CPU/frame tier (standard clients) ÷ bare, {label}', std,
                                  '×', '≤ 1.0×', None if std is None else std <= 1.0))
        d = row['tier']['delivered_ratio']
        frames_s = row['clients'] * row['rate']
        target, ok = '', None
        if row['clients'] == 50 and row['rate'] == 200:
            target, ok = '1.000', d is not None and d >= 0.9995
        elif frames_s >= 50_000:
            target, ok = '≥ 0.99', d is not None and d >= 0.99
        figures.append(figure(f'delivered/offered (tier), {label}', d, 'ratio', target, ok))
        if 'target' in servers:
            figures.append(figure(f'CPU/frame target ÷ bare, {label}', row['target_cpu_ratio'],
                                  '×'))
    setup = ('1 tier (--no-coordinator) with clients that ask for resume keys (tier) and '
             'with plain rosbridge clients (standard) '
             f'vs benchmarks.bare, {p["repeats"]} interleaved '
             f'repeat(s) of {p["window_s"]:g} s windows per point; 1 wsload client process '
             'holds all connections')
    return {'figures': figures, 'data': {'points': out, 'setup': setup}}
