"""Several hosts, built on this machine with network namespaces and veth links.

    host A (10.213.0.1)  up --tiers primary,secondary: sim, coordinator, two tiers
    host B (10.213.0.2)  tier primary --port 9090 (registers as primary@10.213.0.2:9090)
    host C (10.213.0.3)  12 failover clients
    a switch namespace   a bridge joining the three veth links

Host A and B are configured only by their YAML files (``graph.listen`` /
``graph.connect``, ``tiers.*.host``). Host B is then cut off (its link set down): the
clients that were on it move to the primary on host A with no hole, the directory marks
B DOWN and finally drops it. Needs root and ``ip netns``; skipped with the reason
otherwise. Every namespace is deleted in a ``finally``.
"""
from __future__ import annotations

from needs import needs

needs('zenoh', 'rosbags')

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from .harness import ROOT, child_env, wait_for

pytestmark = pytest.mark.integration
NET = '10.213.0'
TAG = f'wr{os.getpid() % 100000}'
NS = {name: f'{TAG}-{name}' for name in ('sw', 'a', 'b', 'c')}
B_ENDPOINT = f'primary@{NET}.2:9090'


def ip(*args: str) -> None:
    done = subprocess.run(['ip', *args], capture_output=True, text=True, timeout=10)
    if done.returncode != 0:
        raise RuntimeError(f'ip {" ".join(args)}: {done.stderr.strip()}')


def build_hosts() -> None:
    for ns in NS.values():
        ip('netns', 'add', ns)
        ip('-n', ns, 'link', 'set', 'lo', 'up')
    ip('-n', NS['sw'], 'link', 'add', 'br0', 'type', 'bridge')
    ip('-n', NS['sw'], 'link', 'set', 'br0', 'up')
    for i, host in enumerate(('a', 'b', 'c'), start=1):
        ip('-n', NS[host], 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', f'p{host}',
           'netns', NS['sw'])
        ip('-n', NS['sw'], 'link', 'set', f'p{host}', 'master', 'br0')
        ip('-n', NS['sw'], 'link', 'set', f'p{host}', 'up')
        ip('-n', NS[host], 'addr', 'add', f'{NET}.{i}/24', 'dev', 'eth0')
        ip('-n', NS[host], 'link', 'set', 'eth0', 'up')


def remove_hosts() -> None:
    for ns in NS.values():
        subprocess.run(['ip', 'netns', 'del', ns], capture_output=True, timeout=10)


@pytest.fixture(scope='module')
def hosts():
    if shutil.which('ip') is None:
        pytest.skip('the ip command (iproute2) is not installed')
    if os.geteuid() != 0:
        pytest.skip('building hosts with `ip netns add` needs root')
    try:
        build_hosts()
    except (RuntimeError, OSError) as exc:
        remove_hosts()
        pytest.skip(f'cannot build namespaces here: {exc}')
    try:
        yield NS
    finally:
        remove_hosts()


class InNs:
    """A process in a namespace, its output lines collected."""

    def __init__(self, ns: str, argv: list[str]) -> None:
        self.lines: list[str] = []
        self.proc = subprocess.Popen(['ip', 'netns', 'exec', ns, *argv],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, env=child_env(), start_new_session=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip('\n'))

    def signal(self, sig: int) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)

    def stop(self) -> None:
        self.signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.proc.wait(5)


def directory(ns: str) -> list[dict]:
    """The directory as host A's primary serves it, asked from inside host A."""
    code = ('import json, urllib.request\n'
            f'print(urllib.request.urlopen("http://{NET}.1:8080/status", timeout=2).read().decode())')
    done = subprocess.run(['ip', 'netns', 'exec', ns, sys.executable, '-c', code],
                          capture_output=True, text=True, timeout=10)
    if done.returncode != 0:
        return []
    return json.loads(done.stdout)['tiers']


def row(ns: str, endpoint: str) -> dict | None:
    return next((r for r in directory(ns) if r['endpoint'] == endpoint), None)


def where(lines: list[str]) -> dict[int, str]:
    now: dict[int, str] = {}
    for line in list(lines):
        if line.startswith('{'):
            event = json.loads(line)
            if event['event'] == 'active':
                now[event['client']] = event['tier']
    return now


def test_a_host_cut_off_fails_its_clients_over_and_leaves_the_directory(hosts, tmp_path):
    """When host B (a primary replica) is cut off, its clients move to the primary on
    host A without a hole, and the directory marks B DOWN and then drops it."""
    a_peers = [f'tcp/{NET}.1:{7450 + i}' for i in range(4)]  # up's sim, coordinator, 2 tiers
    (tmp_path / 'a.yaml').write_text(textwrap.dedent(f"""\
        graph: {{listen: [tcp/{NET}.1:7450], connect: [tcp/{NET}.2:7450]}}
        tiers:
          primary: {{host: {NET}.1}}
          secondary: {{host: {NET}.1}}
          tertiary: {{host: {NET}.1}}
          emergency: {{host: {NET}.1}}
        """))
    (tmp_path / 'b.yaml').write_text(textwrap.dedent(f"""\
        graph: {{listen: [tcp/{NET}.2:7450], connect: [{', '.join(a_peers)}]}}
        tiers:
          primary: {{host: {NET}.2}}
        """))
    cli = [sys.executable, '-m', 'websocket_redundancy']
    up = InNs(hosts['a'], [*cli, '--config', str(tmp_path / 'a.yaml'), 'up',
                           '--tiers', 'primary,secondary'])
    replica = clients = None
    try:
        wait_for(lambda: any('tiers ready' in ln for ln in up.lines), 60,
                 'host A up: ' + '\n'.join(up.lines[-20:]))
        replica = InNs(hosts['b'], [*cli, '--config', str(tmp_path / 'b.yaml'), 'tier',
                                    'primary', '--port', '9090'])
        wait_for(lambda: (r := row(hosts['a'], B_ENDPOINT)) and r['health'] == 'UP', 60,
                 f'{B_ENDPOINT} UP in the directory on host A; host B said:\n'
                 + '\n'.join(replica.lines[-20:]))
        clients = InNs(hosts['c'], [
            sys.executable, str(ROOT / 'test' / 'integration' / 'many_clients.py'),
            '--n', '12', '--wave', '4', '--wave-delay', '1.5',
            f'ws://{NET}.1:8080', f'ws://{NET}.1:8081'])
        wait_for(lambda: len(where(clients.lines)) == 12, 40,
                 'all 12 clients on host C active:\n' + '\n'.join(clients.lines[-10:]))
        on_b = [c for c, tier in where(clients.lines).items() if tier == B_ENDPOINT]
        print(f'\nclients on host C: {dict(sorted(where(clients.lines).items()))}')
        assert on_b, 'no client chose the replica on host B'

        cut = time.monotonic()
        ip('-n', hosts['sw'], 'link', 'set', 'pb', 'down')
        wait_for(lambda: all(where(clients.lines)[c] == 'primary' for c in on_b), 15,
                 f'the clients of host B on the primary of host A: {where(clients.lines)}')
        moved = time.monotonic() - cut
        wait_for(lambda: (r := row(hosts['a'], B_ENDPOINT)) and r['health'] == 'DOWN', 15,
                 f'{B_ENDPOINT} DOWN after the cut')
        down = time.monotonic() - cut
        wait_for(lambda: row(hosts['a'], B_ENDPOINT) is None and directory(hosts['a']), 60,
                 f'{B_ENDPOINT} dropped from the directory')
        print(f'host B cut off: its {len(on_b)} clients on host A after {moved:.2f} s, '
              f'B DOWN after {down:.1f} s, dropped after {time.monotonic() - cut:.1f} s')
        clients.signal(signal.SIGINT)
        clients.proc.wait(15)
        summary = next(json.loads(ln) for ln in clients.lines
                       if ln.startswith('{"event": "summary"'))['clients']
        assert [c for c in summary if c['holes'] or c['dups'] or c['gaps'] or c['unkeyed'] or not c['n']] == [], summary
    finally:
        for proc in (clients, replica, up):
            if proc is not None:
                proc.stop()
