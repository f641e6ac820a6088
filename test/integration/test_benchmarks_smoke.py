"""The benchmarks run end to end in their tiny variant and write well-formed results.

This checks that every scenario produces its figures, the Markdown table and a plot,
including the external-target path (pointed at one of our own tiers); it never
checks how fast anything is: figures are the benchmarks' business, not the tests'.
"""
from __future__ import annotations

from needs import needs

needs('zenoh', 'rosbags', 'matplotlib')

import importlib
import importlib.util
import json
import math
import subprocess
import sys

import pytest

from .harness import ROOT

if str(ROOT) not in sys.path:  # benchmarks/ lives at the repo root, beside src/
    sys.path.insert(0, str(ROOT))
procs = importlib.import_module('benchmarks.procs')
DEFAULT = importlib.import_module('benchmarks.profiles').DEFAULT
system = importlib.import_module('benchmarks.system')
TOKEN, UpSystem = system.TOKEN, system.UpSystem

pytestmark = pytest.mark.integration
PNG = b'\x89PNG\r\n\x1a\n'


def numbers(value):
    """Every number anywhere inside ``value``."""
    if isinstance(value, bool):
        return
    if isinstance(value, (int, float)):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from numbers(item)
    elif isinstance(value, list):
        for item in value:
            yield from numbers(item)


@pytest.fixture(scope='module')
def smoke(tmp_path_factory):
    """``python -m benchmarks --smoke`` with an external target: a separate one-tier
    system, fed through its own WebSocket by ``benchmarks.source --ws``."""
    out = tmp_path_factory.mktemp('bench')
    (out / 'work').mkdir()
    target = UpSystem(out / 'work', 'target', tiers=('primary',), coordinator=False,
                      wide=False)
    try:
        target.start()
        url = target.url()
        source = (f'{sys.executable} -m benchmarks.source --ws {url} --token {TOKEN} '
                  '--rate {rate} --size {size} --topic {topic}')
        run = subprocess.run(
            [sys.executable, '-m', 'benchmarks', '--smoke', '--out', str(out),
             '--target', url, '--source-cmd', source],
            cwd=ROOT, env=procs.env(), capture_output=True, text=True, timeout=300)
    finally:
        target.stop()
        procs.stop_all()
    return out, run


def test_every_scenario_writes_its_figures(smoke):
    """When the smoke run ends, results.json holds the machine, the command and, per
    scenario, figures with a name, a unit and a finite (or absent) value."""
    out, run = smoke
    assert run.returncode == 0, run.stderr[-3000:]
    results = json.loads((out / 'results.json').read_text())
    assert {'nproc', 'cpu_model', 'python'} <= results['machine'].keys()
    assert results['command'].startswith('python -m benchmarks --smoke')
    assert list(results['scenarios']) == list(DEFAULT)
    for name, scenario in results['scenarios'].items():
        assert 'error' not in scenario, f'{name}: {scenario.get("error")}'
        assert scenario['figures'], f'{name} reported no figure'
        for fig in scenario['figures']:
            assert {'name', 'value', 'unit', 'target', 'ok'} <= fig.keys(), fig
    assert all(math.isfinite(x) for x in numbers(results)), 'a number is not finite'


def test_the_external_target_is_measured_beside_ours(smoke):
    """When --target and --source-cmd are given, fanout and latency report the target."""
    out, _ = smoke
    scenarios = json.loads((out / 'results.json').read_text())['scenarios']
    point = scenarios['fanout']['data']['points'][0]
    assert point['target']['delivered'] > 0
    assert scenarios['latency']['data']['summary_ms']['target']['n'] > 0


def test_the_table_and_the_plots_are_written(smoke):
    """When the smoke run ends, results.md has one table row per figure, each beside
    its target, and every scenario has a PNG."""
    out, run = smoke
    table = (out / 'results.md').read_text()
    results = json.loads((out / 'results.json').read_text())
    rows = [line for line in table.splitlines() if line.startswith('| ')][1:]
    assert len(rows) == sum(len(s['figures']) for s in results['scenarios'].values())
    assert '| target |' in table and results['machine']['cpu_model'] in table
    for name in DEFAULT:
        png = out / f'{name}.png'
        assert png.read_bytes()[:8] == PNG, f'{png} is not a PNG'
    assert sorted(results['plots']) == sorted(f'{n}.png' for n in DEFAULT)
    assert '[failover kill 1/1]' in run.stderr


def test_soak_and_stress_report_their_runs(smoke):
    """When the smoke run ends, soak has faults (each with its kind, tier and whether it
    recovered), per-client continuity, classified tier changes and RSS samples of every
    process; stress has its window, per-client delivered/offered and the verdict counts.
    Only the shape is checked: how many faults recovered or failed over is the figures'."""
    out, run = smoke
    scenarios = json.loads((out / 'results.json').read_text())['scenarios']
    soak = scenarios['soak']['data']
    assert soak['faults'], 'soak injected no fault'
    for fault in soak['faults']:
        assert fault['kind'] in ('kill', 'hang', 'deactivate') and fault['tier'], fault
        assert isinstance(fault['recovered'], bool) and fault['t_end'] >= fault['t'], fault
    assert len(soak['clients']) == 2
    for client in soak['clients']:
        assert client['delivered'] > 0 and {'lost', 'dup', 'gaps', 'false_failovers'} <= (
            client.keys()), client
    for change in soak['tier_changes']:
        assert {'from', 'to', 'reason', 'fault', 't', 'client'} <= change.keys(), change
    named = {s[1] for s in soak['rss_samples']}
    assert {'up', 'source', 'coordinator', 'primary', 'secondary', 'tertiary',
            'emergency', 'client 0', 'client 1'} <= named, named
    assert set(soak['memory']) == named
    stress = scenarios['stress']['data']
    start, end = stress['stress_window']
    assert 0 < start < end and stress['busy_processes'] >= 1
    for client in stress['clients']:
        assert client['offered'] > 0 and client['delivered'] <= client['offered'], client
    assert stress['latency_before_ms']['n'] > 0 and stress['latency_under_ms']['n'] > 0
    names = [f['name'] for f in scenarios['stress']['figures']]
    assert any(n.startswith('false failovers under CPU stress') for n in names), names
    assert '[soak fault] #1 ' in run.stderr and '[stress] ' in run.stderr


def test_the_rosbridge_scenario_says_why_it_cannot_run_without_ros(tmp_path):
    """Without ROS 2, ``--ros`` records the rosbridge scenario as skipped, with the reason,
    in results.json and results.md, and the run still succeeds."""
    if importlib.util.find_spec('rclpy') is not None:
        pytest.skip('ROS 2 is sourced here: the scenario would run, not skip')
    run = subprocess.run([sys.executable, '-m', 'benchmarks', '--smoke', '--ros', '--only',
                          'rosbridge', '--out', str(tmp_path)], cwd=ROOT, env=procs.env(),
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    scenario = json.loads((tmp_path / 'results.json').read_text())['scenarios']['rosbridge']
    assert scenario['skipped'].startswith('rclpy is not importable'), scenario
    assert '| rosbridge | (skipped) | rclpy is not importable' in (
        tmp_path / 'results.md').read_text()
