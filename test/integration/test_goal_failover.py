"""An action goal survives a failover of the client that sent it: the Python failover
client sends a /navigate_to_pose goal (served by the simulator) through the primary,
the primary is killed (``kill -9``) mid-goal, the client re-attaches to the goal on the
secondary, feedback continues from there without a repeat and exactly one result
arrives."""
from __future__ import annotations

from needs import needs

needs('zenoh', 'rosbags')

import json  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from .harness import Process, child_env, cli, free_port_block, http_json, wait_for  # noqa: E402

TOKEN = 'goal-failover-token'
TIERS = ('primary', 'secondary', 'tertiary', 'emergency')
pytestmark = pytest.mark.integration


@pytest.fixture(scope='module')
def own_system():
    """Its own `up` (the test kills the primary; the shared system must not see that)."""
    base, graph = free_port_block(4), free_port_block(6)
    up = Process(cli('up', '--base-port', str(base), '--graph-base-port', str(graph),
                     '--domain', str(graph % 200)), child_env(WR_TOKEN_TEAM=TOKEN))
    try:
        up.wait_line('tiers ready', timeout=60)
        ports = {name: base + i for i, name in enumerate(TIERS)}
        for name in ('primary', 'secondary'):
            wait_for(lambda p=ports[name]: http_json(p, '/health')[0] == 200, 30,
                     f'{name} to be active')
        yield ports
    finally:
        up.stop()


def rows(proc: Process, kind: str) -> list[dict]:
    found = []
    for line in list(proc.lines):
        if line.startswith('{'):
            row = json.loads(line)
            if row['kind'] == kind:
                found.append(row)
    return found


def test_kill_9_of_the_primary_mid_goal_keeps_feedback_and_one_result(own_system):
    ports = own_system
    urls = [f'ws://127.0.0.1:{ports[name]}' for name in ('primary', 'secondary')]
    client = Process([sys.executable, str(Path(__file__).with_name('goal_client.py')), TOKEN,
                      '6.0', *urls], child_env())
    try:
        wait_for(lambda: len(rows(client, 'feedback')) >= 5, 20,
                 'feedback through the primary; output:\n' + '\n'.join(client.lines[-20:]))
        status, health = http_json(ports['primary'], '/health')
        assert status == 200, f'primary /health answered {status}'
        os.kill(health['pid'], signal.SIGKILL)
        wait_for(lambda: len(rows(client, 'tier_changed')) >= 2, 10, 'the switch')
        wait_for(lambda: rows(client, 'result'), 40,
                 'the result; output:\n' + '\n'.join(client.lines[-20:]))
        time.sleep(1.0)  # a repeated result or feedback would arrive within this
        feedback, results = rows(client, 'feedback'), rows(client, 'result')
        tiers = [row['tier'] for row in feedback]
        after = [row for row in feedback if row['tier'] != tiers[0]]
        assert after, f'no feedback after the failover (feedback came from {set(tiers)})'
        keys = [(row['epoch'], row['seq']) for row in feedback]
        assert len(set(keys)) == len(keys), 'a feedback sample was delivered twice'
        assert keys == sorted(keys), 'feedback out of order'
        assert len(results) == 1, f'{len(results)} results: {results}'
        assert results[0]['ok'] and results[0]['status'] == 4, results[0]
        assert rows(client, 'goal_gap') == [], 'the secondary reported lost feedback'
        print(f'\ngoal failover: {len(feedback) - len(after)} feedback samples through '
              f'{tiers[0]}, {len(after)} through {after[0]["tier"]}, one result '
              f'(status {results[0]["status"]})')
    finally:
        client.stop()
