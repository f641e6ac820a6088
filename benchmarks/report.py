"""Write the results: ``results.json`` (everything), ``results.md`` (the table, each
figure beside its target) and one PNG per scenario (see ``plots``)."""
from __future__ import annotations

import json
import math
from pathlib import Path

from . import plots


def _finite(value):
    """JSON has no NaN or infinity: write them as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _cell(value, unit: str) -> str:
    if value is None:
        return 'n/a'
    if isinstance(value, float):
        text = f'{value:.3f}' if unit in ('×', 'ratio') else f'{value:g}'
    else:
        text = str(value)
    return f'{text} {unit}' if unit and unit not in ('×', 'ratio', 'msgs') else (
        f'{text}×' if unit == '×' else text)


def _met(ok) -> str:
    return '' if ok is None else ('yes' if ok else '**no**')


def markdown(results: dict) -> str:
    m = results['machine']
    lines = [f'# Benchmark results ({results["mode"]} mode)', '',
             f'- command: `{results["command"]}`',
             f'- machine: {m["nproc"]} CPUs, {m["cpu_model"]}, Python {m["python"]}, '
             f'{m["platform"]}; load average at start {m["loadavg_at_start"]}',
             f'- started {results["started_at"]}, wall time {results["wall_s"]:.0f} s'
             + (' (interrupted)' if results.get('interrupted') else ''), '',
             '| scenario | figure | measured | target | met |',
             '|---|---|---|---|---|']
    notes = []
    for name, scenario in results['scenarios'].items():
        if scenario.get('error'):
            lines.append(f'| {name} | (failed) | {scenario["error"][:120]} | | |')
        if scenario.get('skipped'):
            lines.append(f'| {name} | (skipped) | {scenario["skipped"][:120]} | | |')
        for fig in scenario.get('figures', []):
            lines.append(f'| {name} | {fig["name"]} | {_cell(fig["value"], fig["unit"])} | '
                         f'{fig["target"]} | {_met(fig["ok"])} |')
        setup = scenario.get('data', {}).get('setup')
        if setup:
            notes.append(f'- **{name}** ({scenario.get("wall_s", 0):.0f} s): {setup}')
    return '\n'.join(lines + ['', 'Setup per scenario:', ''] + notes) + '\n'


def write(out: Path, results: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    results = _finite(results)
    results['plots'] = []
    for name, scenario in results['scenarios'].items():
        if scenario.get('error') or not scenario.get('data'):
            continue
        try:
            path = plots.draw(name, scenario['data'], out)
        except Exception as exc:  # a plot must never lose the numbers
            scenario['plot_error'] = f'{type(exc).__name__}: {exc}'
            continue
        if path is not None:
            results['plots'].append(path.name)
    (out / 'results.json').write_text(json.dumps(results, indent=1, allow_nan=False) + '\n')
    (out / 'results.md').write_text(markdown(results))
