"""One PNG per scenario (matplotlib, Agg backend: no display needed)."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402 - the backend is chosen first


def _save(fig, out: Path, name: str) -> Path:
    path = out / f'{name}.png'
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def failover(data: dict, ax) -> None:
    kinds = [('kill', 'kill -9', 100), ('stop', 'SIGSTOP', 400)]
    values = [[t['gap_ms'] for t in data['trials'] if t['kind'] == k] or [0] for k, _, _ in kinds]
    ax.boxplot(values, whis=(0, 100))
    for i, (vals, (_, _, target)) in enumerate(zip(values, kinds, strict=False), start=1):
        ax.scatter([i] * len(vals), vals, s=10, alpha=0.6)
        ax.hlines(target, i - 0.4, i + 0.4, colors='red', linestyles='dashed')
    ax.set_xticks([1, 2], [label for _, label, _ in kinds])
    ax.set_ylabel('largest gap at the application (ms)')
    ax.set_title('failover gap per trial (red: p99 target)')


def recovery(data: dict, ax) -> None:
    samples = sorted(data['samples_s'])
    ax.plot(range(1, len(samples) + 1), samples, 'o-', label='kill -9 to /health active')
    coord = sorted(d for d in data.get('coordinator_s', []) if d is not None)
    if coord:
        ax.plot(range(1, len(coord) + 1), coord, 's--', label="coordinator's duration")
    ax.axhline(2.0, color='red', linestyle='dashed', label='p99 target')
    ax.set_xlabel('trial (sorted)')
    ax.set_ylabel('seconds')
    ax.legend()
    ax.set_title('crashed tier back to ACTIVE')


def fanout(data: dict, ax) -> None:
    points = data['points']
    labels = [f'{p["clients"]}c {p["rate"]:g}Hz {p["size"]}B' for p in points]
    xs = range(len(points))
    ax.bar([x - 0.2 for x in xs], [p.get('cpu_ratio') or 0 for p in points], 0.4,
           label='CPU/frame tier ÷ bare')
    ax.bar([x + 0.2 for x in xs], [p['tier'].get('delivered_ratio') or 0 for p in points], 0.4,
           label='tier delivered/offered')
    ax.axhline(1.0, color='red', linestyle='dashed')
    ax.set_xticks(list(xs), labels, rotation=30, ha='right', fontsize=8)
    ax.legend(fontsize=8)
    ax.set_title('fan-out against a bare Autobahn broadcaster')


def latency(data: dict, ax) -> None:
    for key, label in (('on_ms', 'redundancy on'), ('off_ms', 'redundancy off'),
                       ('target_ms', 'external target')):
        values = sorted(data.get(key) or [])
        if values:
            ax.plot(values, [i / len(values) for i in range(1, len(values) + 1)], label=label)
    ax.set_xscale('log')
    ax.set_xlabel('source publish to client receive (ms)')
    ax.set_ylabel('fraction of messages')
    ax.legend()
    ax.set_title('latency CDF')


def capacity(data: dict, ax) -> None:
    steps = data['steps']
    ax.plot([s['clients'] for s in steps], [s['p99_ms'] or 0 for s in steps], 'o-',
            label='p99 latency (ms)')
    ax.axhline(50, color='red', linestyle='dashed', label='50 ms')
    ax.set_xlabel('clients on one tier (10 Hz)')
    ax.set_ylabel('ms')
    ax2 = ax.twinx()
    ax2.plot([s['clients'] for s in steps], [s['delivered_ratio'] or 0 for s in steps], 's:',
             color='green', label='delivered/offered')
    ax2.set_ylim(0, 1.05)
    ax.legend(loc='upper left')
    ax2.legend(loc='lower right')
    ax.set_title('clients per tier')


def overhead(data: dict, ax) -> None:
    names = ['one tier', 'four tiers + coordinator']
    cpu = [data['one']['cpu_s'], data['four']['cpu_s']]
    rss = [data['one']['rss_mb'], data['four']['rss_mb']]
    ax.bar([0, 1], cpu, 0.4, label='CPU s in the window')
    ax.set_ylabel('CPU seconds')
    ax2 = ax.twinx()
    ax2.bar([0.4, 1.4], rss, 0.4, color='orange', label='RSS MB')
    ax2.set_ylabel('MB')
    ax.set_xticks([0.2, 1.2], names)
    ax.legend(loc='upper left')
    ax2.legend(loc='upper right')
    ax.set_title('four tiers vs one, same clients')


FAULT_COLOURS = {'kill': 'red', 'hang': 'orange', 'deactivate': 'purple'}


def soak(data: dict):
    """RSS of every process over time (top); faults and client tier changes (bottom)."""
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 7), sharex=True,
                                      gridspec_kw={'height_ratios': [2, 1]})
    names = sorted({s[1] for s in data['rss_samples']})
    for i, name in enumerate(names):
        rows = [s for s in data['rss_samples'] if s[1] == name]
        for j, pid in enumerate(dict.fromkeys(r[2] for r in rows)):  # one line per process
            mine = [r for r in rows if r[2] == pid]
            top.plot([r[0] / 60 for r in mine], [r[3] for r in mine], color=f'C{i % 10}',
                     label=None if j else name, marker='.' if len(mine) == 1 else None,
                     linestyle=':' if name.startswith('client') else '-')
    top.set_ylabel('RSS (MB)')
    top.legend(fontsize=7, ncol=3)
    top.set_title('soak: memory of every process (a new line is a restarted process)')
    tiers = ['primary', 'secondary', 'tertiary', 'emergency']
    for f in data['faults']:
        y = tiers.index(f['tier']) if f['tier'] in tiers else len(tiers)
        bottom.plot([f['t'] / 60, f['t_end'] / 60], [y, y], color=FAULT_COLOURS[f['kind']],
                    linewidth=6, solid_capstyle='butt')
    for ch in data['tier_changes']:
        y = tiers.index(ch['to']) if ch['to'] in tiers else len(tiers)
        bottom.scatter([ch['t'] / 60], [y + 0.3], marker='v', s=18,
                       color='black' if ch['fault'] is not None else 'red')
    for kind, colour in FAULT_COLOURS.items():
        bottom.plot([], [], color=colour, linewidth=6, label=kind)
    bottom.scatter([], [], marker='v', color='black', label='client tier change')
    bottom.scatter([], [], marker='v', color='red', label='false failover')
    bottom.set_yticks(range(len(tiers)), tiers)
    bottom.set_xlabel('minutes')
    bottom.legend(fontsize=7, ncol=5, loc='upper center', bbox_to_anchor=(0.5, -0.35))
    bottom.set_title('faults (injection to recovery) and client tier changes')
    return fig


def stress(data: dict, ax) -> None:
    series = data['series']
    ax.plot([s[0] for s in series], [s[2] for s in series], label='p99 per second')
    ax.plot([s[0] for s in series], [s[1] for s in series], label='p50 per second')
    start, end = data['stress_window']
    ax.axvspan(start, end, color='orange', alpha=0.2,
               label=f'{data["busy_processes"]} busy loops')
    for at, _tier, detail in data["verdicts"]:
        ax.axvline(at, color='red' if '-> DOWN' in detail else 'grey', linestyle=':')
    for ch in data['tier_changes']:
        ax.axvline(ch['t'], color='red', linewidth=2)
    ax.set_yscale('log')
    ax.set_xlabel('seconds (dotted: SUSPECT grey, DOWN red; solid red: tier change)')
    ax.set_ylabel('latency (ms)')
    ax.legend(fontsize=8)
    ax.set_title('latency before and under CPU stress')


DRAW = {'failover': failover, 'recovery': recovery, 'fanout': fanout, 'latency': latency,
        'capacity': capacity, 'overhead': overhead, 'stress': stress}
FIGURES = {'soak': soak}  # these draw their own figure


def draw(name: str, data: dict, out: Path) -> Path | None:
    if name in FIGURES:
        return _save(FIGURES[name](data), out, name)
    if name not in DRAW:
        return None
    fig, ax = plt.subplots(figsize=(7, 4.5))
    DRAW[name](data, ax)
    return _save(fig, out, name)
