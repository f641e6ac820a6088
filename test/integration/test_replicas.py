"""Replicas end to end, on the shared system (``up`` with four tiers): a second primary
started on another port registers itself, receives about half of 20 new clients,
takes nobody's data with it when killed (its clients move to the other primary replica,
not to a lower tier, with no hole and no repeat), is dropped from the directory once
it is DOWN and gone, and a replica stopped gracefully leaves the directory at once."""
from __future__ import annotations

from needs import needs

needs('zenoh', 'rosbags')

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest

from .harness import ROOT, Process, child_env, cli, free_port_block, http_json, wait_for

pytestmark = pytest.mark.integration
TIERS = ('primary', 'secondary', 'tertiary', 'emergency')


def directory(system) -> list[dict]:
    code, doc = http_json(system['primary'], '/status')
    return doc['tiers'] if code == 200 else []


def endpoint(system, name):
    return next((r for r in directory(system) if r['endpoint'] == name), None)


def start_replica(system, name) -> tuple[Process, int]:
    port = free_port_block(1)
    graph = system['graph']
    argv = cli('tier', 'primary', '--port', str(port), '--endpoint', name,
               '--domain', str(graph['domain']),
               '--graph-listen', f'tcp/127.0.0.1:{free_port_block(1)}',
               *[a for e in graph['endpoints'] for a in ('--graph-connect', e)])
    proc = Process(argv, child_env())
    proc.wait_line('READY tier=primary', timeout=30)
    wait_for(lambda: (r := endpoint(system, name)) and r['health'] == 'UP', 30,
             f'{name} UP in the directory')
    return proc, port


class Clients:
    """``many_clients.py``: 20 failover clients in waves of 5, JSON lines out."""

    def __init__(self, system, n=20) -> None:
        urls = [f'ws://127.0.0.1:{system[name]}' for name in TIERS]
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / 'test' / 'integration' / 'many_clients.py'),
             '--n', str(n), '--wave', '5', '--wave-delay', '1.5', *urls],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=child_env(),
            start_new_session=True)
        self.events: list[dict] = []
        self.other: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            try:
                self.events.append(json.loads(line))
            except ValueError:
                self.other.append(line.rstrip())

    def where(self) -> dict[int, str]:
        now: dict[int, str] = {}
        for e in self.events:
            if e['event'] == 'active':
                now[e['client']] = e['tier']
        return now

    def summary(self) -> list[dict]:
        os.killpg(self.proc.pid, signal.SIGINT)
        self.proc.wait(15)
        time.sleep(0.2)
        done = [e for e in self.events if e['event'] == 'summary']
        assert done, 'no summary from the clients:\n' + '\n'.join(self.other[-20:])
        return done[-1]['clients']

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)


def test_a_second_primary_replica_shares_clients_and_takes_over_a_dead_siblings(system):
    """When a second primary replica joins, 20 new clients split 5-15 each; when it is
    killed, its clients move to the other primary (no hole, no repeat, no gap), and it
    leaves the directory once DOWN and gone; a replica stopped by SIGTERM leaves at once."""
    wait_for(lambda: (r := endpoint(system, 'primary')) and r['health'] == 'UP', 30,
             'primary UP first')
    replica, port = start_replica(system, 'primary-b')
    clients = Clients(system)
    try:
        wait_for(lambda: len(clients.where()) == 20, 40, 'all 20 clients active; output:\n'
                 + '\n'.join(clients.other[-10:]))
        split = Counter(clients.where().values())
        reasons = Counter(e['reason'].split(' ')[-1] for e in clients.events
                          if e['event'] == 'active')
        print(f'\n20 new clients: {dict(split)} (tier changes by reason: {dict(reasons)})')
        assert set(split) == {'primary', 'primary-b'}, split
        assert 5 <= split['primary-b'] <= 15, split
        moved = [c for c, tier in clients.where().items() if tier == 'primary-b']

        killed = time.monotonic()
        os.kill(replica.proc.pid, signal.SIGKILL)
        wait_for(lambda: all(clients.where()[c] == 'primary' for c in moved), 15,
                 f'the clients of primary-b on the other primary: {clients.where()}')
        print(f'kill -9 primary-b: its {len(moved)} clients on primary after '
              f'{time.monotonic() - killed:.2f} s')
        after = [e for e in clients.events if e['event'] == 'active' and e['client'] in moved]
        assert all(e['tier'] != 'secondary' for e in after), after
        time.sleep(1.0)  # deliveries continue after the switch
        summary = clients.summary()
        assert [c for c in summary if c['holes'] or c['dups'] or c['gaps'] or c['unkeyed'] or not c['n']] == []
        assert all(c['n'] > 0 for c in summary)

        wait_for(lambda: endpoint(system, 'primary-b') is None, 40,
                 'primary-b to leave the directory after it was killed')
        print(f'primary-b dropped from the directory {time.monotonic() - killed:.1f} s '
              'after the kill')
    finally:
        clients.kill()
        replica.stop()

    third, _ = start_replica(system, 'primary-c')
    stopped = time.monotonic()
    third.stop()
    wait_for(lambda: endpoint(system, 'primary-c') is None, 5,
             'primary-c to leave the directory at once when stopped')
    print(f'SIGTERM primary-c: left the directory after {time.monotonic() - stopped:.2f} s')
    code, doc = http_json(system['primary'], '/status')
    kinds = [(e['tier'], e['kind']) for e in doc['events']]
    assert ('primary-c', 'joined') in kinds and ('primary-c', 'left') in kinds
