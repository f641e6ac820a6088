"""``websocket-redundancy demo`` unattended: a fault every 3 s for 25 s (seed 26: kill -9
secondary, deactivate primary, SIGSTOP primary, ...), every one recovered, the client's
failovers measured, the summary table printed, and every child stopped."""
from __future__ import annotations

from needs import needs

needs('zenoh', 'rosbags')

import re

import pytest

from .harness import Process, child_env, cli, free_port_block

pytestmark = pytest.mark.integration


def test_demo_recovers_every_injected_fault_and_prints_the_summary():
    """When the demo runs for 25 s with a fault every 3 s, each fault line says
    recovered, the client moved off the primary when it was deactivated or hung, and
    the summary counts every fault as recovered."""
    base, graph = free_port_block(4), free_port_block(7)
    demo = Process(cli('demo', '--interval', '3', '--duration', '25', '--seed', '26',
                       '--base-port', str(base), '--graph-base-port', str(graph),
                       '--domain', str(graph % 200)), child_env())
    try:
        demo.wait_line('websocket-redundancy demo: stopped', timeout=120)
        code = demo.proc.wait(10)
    finally:
        demo.stop()
    out = '\n'.join(demo.lines)
    assert code == 0, out[-3000:]
    print('\n' + '\n'.join(line for line in demo.lines if line.startswith('demo')
                           or re.match(r'^(#|\d+ )', line) or ': median' in line))
    assert f'dashboard: http://127.0.0.1:{base}/' in out
    faults = [ln for ln in demo.lines if re.match(r'demo: #\d+ \w+ \w+: detected', ln)]
    assert len(faults) >= 3, out[-3000:]
    assert all(', recovered in ' in ln for ln in faults), faults
    assert any(ln.startswith('demo: #2 deactivate primary') and 'client primary -> ' in ln
               for ln in faults), faults
    table = re.search(r'(\d+) faults injected, (\d+) recovered', out)
    assert table and table.group(1) == table.group(2) == str(len(faults)), out[-2000:]
    assert 'recovery: median' in out and '0 gaps reported' in out
