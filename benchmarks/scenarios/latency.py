"""latency: source publish to client receive, redundancy on vs off.

on: four tiers + coordinator (every tier serves ``/bench/stream``, so every tier
buffers it for resume), read through the FailoverClient (warm standby, heartbeats,
de-duplication). off: one tier with ``--no-coordinator``, read by a plain Autobahn
client. Both systems run at once, each fed by its own source at ``rate`` Hz, and are
measured in alternating rounds (on/off, then off/on), so background load hits both.
Latency is the receive wall time minus the send time carried in ``msg.data``.
"""
from __future__ import annotations

import time

from ..clients import AppClient
from ..context import Context, figure
from ..procs import Child
from ..stats import ratio, summary
from ..system import UpSystem

TARGET_RATIO = 1.2
WARMUP_S = 1.0


def sample(urls: list[str], mode: str, window_s: float, label: str) -> list[float]:
    client = AppClient(urls, mode=mode, label=label)
    try:
        client.wait_rows(5, 20)
        time.sleep(WARMUP_S)
        start = time.monotonic()
        time.sleep(window_s)
        end = time.monotonic()
        rows, _ = client.snapshot()
    finally:
        client.stop()
    return [r[1] for r in rows if start <= r[0] <= end]


def run(ctx: Context) -> dict:
    p = ctx.params
    samples: dict[str, list[float]] = {'on': [], 'off': [], 'target': []}
    work = ctx.out / 'work'
    with UpSystem(work, 'latency-on', wide=True) as on, \
            UpSystem(work, 'latency-off', tiers=('primary',), coordinator=False,
                     wide=False) as off:
        on.source(p['rate'])
        off.source(p['rate'])
        target_source = None
        if ctx.target:
            cmd = ctx.source_cmd.format(rate=f'{p["rate"]:g}', size=100, topic='/bench/stream')
            target_source = Child(['/bin/sh', '-c', 'exec ' + cmd], 'target source')
            time.sleep(1.5)
        runs = {'on': (on.urls(), 'failover'), 'off': ([off.url()], 'plain')}
        if ctx.target:
            runs['target'] = ([ctx.target], 'plain')
        try:
            for i in range(p['rounds']):
                order = list(runs) if i % 2 == 0 else list(reversed(runs))
                for key in order:
                    urls, mode = runs[key]
                    got = sample(urls, mode, p['window_s'], f'latency {key}')
                    samples[key] += got
                    s = summary(got)
                    ctx.progress(f'latency {key}', i + 1, p['rounds'],
                                 f'{s["n"]} msgs, p50 {s["p50"]} ms, p99 {s["p99"]} ms')
        finally:
            if target_source is not None:
                target_source.stop()
    stats = {key: summary(values, 2) for key, values in samples.items() if values}
    on_s, off_s = stats.get('on', {}), stats.get('off', {})
    p99_ratio = ratio(on_s.get('p99'), off_s.get('p99'))
    figures = [
        figure('latency p50 on / off', f'{on_s.get("p50")} / {off_s.get("p50")}', 'ms'),
        figure('latency p99 on / off', f'{on_s.get("p99")} / {off_s.get("p99")}', 'ms'),
        figure('latency p99 ratio, on ÷ off', p99_ratio, '×', f'≤ {TARGET_RATIO:g}×',
               None if p99_ratio is None else p99_ratio <= TARGET_RATIO),
    ]
    if 'target' in stats:
        t = stats['target']
        figures += [figure('latency p50 / p99, external target', f'{t["p50"]} / {t["p99"]}',
                           'ms'),
                    figure('latency p99 ratio, target ÷ off', ratio(t['p99'], off_s.get('p99')),
                           '×')]
    return {'figures': figures, 'data': {
        'on_ms': samples['on'], 'off_ms': samples['off'], 'target_ms': samples['target'],
        'summary_ms': stats, 'p99_ratio': p99_ratio,
        'setup': f'source {p["rate"]:g} Hz into each system, {p["rounds"]} alternating '
                 f'rounds of {p["window_s"]:g} s per side; on = 4 tiers + coordinator + '
                 'FailoverClient, off = 1 tier --no-coordinator + plain Autobahn client'}}
