"""The Python failover client end to end: ``echo --jsonl /imu/data`` (50 Hz) against four
real tiers started by ``up`` while the primary is killed (``kill -9``) or hung
(``SIGSTOP``), then comes back; the delivered sequence has no hole and no repeat.

/imu/data is only in the primary's scope by default, so the tiers here run with a
config that lets every tier serve everything (the point is the failover, not scopes).
Each test prints what it measured (pytest -s shows it).
"""
from __future__ import annotations

from needs import needs

needs('zenoh', 'rosbags')

import json
import os
import signal
import subprocess
import threading
import time

import pytest

from .harness import Process, child_env, cli, free_port_block, http_json, wait_for

TIERS = ('primary', 'secondary', 'tertiary', 'emergency')
CONFIG = 'tiers:\n' + ''.join(f"  {name}: {{subscribe: ['**']}}\n" for name in TIERS)


@pytest.fixture(scope='module')
def wide(tmp_path_factory):
    config = tmp_path_factory.mktemp('client') / 'all-scopes.yaml'
    config.write_text(CONFIG)
    base = free_port_block(4)
    graph = free_port_block(6)
    up = Process(cli('--config', str(config), 'up', '--base-port', str(base),
                     '--graph-base-port', str(graph), '--domain', str(graph % 200)),
                 child_env())
    try:
        up.wait_line('tiers ready', timeout=60)
        ports = {name: base + i for i, name in enumerate(TIERS)}
        for name, port in ports.items():
            wait_for(lambda port=port: http_json(port, '/health')[0] == 200, 30,
                     f'{name} to be active')
        yield {'ports': ports, 'config': str(config), 'up': up}
    finally:
        up.stop()


class Echo:
    """``websocket-redundancy echo --jsonl``; stdout rows and stderr lines with the
    monotonic time each arrived."""

    def __init__(self, ports: dict[str, int], topic: str = '/imu/data') -> None:
        urls = [a for name in TIERS if name in ports
                for a in ('--url', f'ws://127.0.0.1:{ports[name]}')]
        self.proc = subprocess.Popen(cli('echo', topic, '--jsonl', *urls),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=child_env(), text=True, start_new_session=True)
        self.rows: list[tuple[float, dict]] = []
        self.err: list[tuple[float, str]] = []
        for stream, sink in ((self.proc.stdout, self._row), (self.proc.stderr, self._err)):
            threading.Thread(target=self._pump, args=(stream, sink), daemon=True).start()

    @staticmethod
    def _pump(stream, sink) -> None:
        for line in stream:
            sink(time.monotonic(), line.rstrip('\n'))

    def _row(self, at: float, line: str) -> None:
        self.rows.append((at, json.loads(line)))

    def _err(self, at: float, line: str) -> None:
        self.err.append((at, line))

    def wait_rows(self, n: int, timeout: float, what: str) -> None:
        target = len(self.rows) + n
        wait_for(lambda: len(self.rows) >= target, timeout,
                 f'{n} more messages {what}; stderr:\n' + self.stderr())

    def wait_err(self, fragment: str, after: float, timeout: float) -> float:
        """The arrival time of the first stderr line after ``after`` holding ``fragment``."""
        def found():
            return next((at for at, line in self.err if at >= after and fragment in line),
                        None)
        return wait_for(found, timeout, f'{fragment!r} on echo stderr; got:\n' + self.stderr())

    def stderr(self) -> str:
        return '\n'.join(line for _, line in self.err[-20:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)


@pytest.fixture
def echo(wide):
    runs = []

    def start():
        runs.append(Echo(wide['ports']))
        return runs[-1]
    yield start
    for run in runs:
        run.stop()


def assert_no_hole_no_repeat(rows: list[tuple[float, dict]]) -> None:
    keys = [(row['epoch'], row['seq']) for _, row in rows]
    assert len(set(keys)) == len(keys), 'a sample was delivered twice'
    jumps = [(a, b) for a, b in zip(keys, keys[1:], strict=False)
             if a[0] == b[0] and b[1] != a[1] + 1]
    assert jumps == [], f'holes or reordering in the delivered sequence: {jumps[:5]}'
    assert len({epoch for epoch, _ in keys}) == 1, 'the simulator restarted during the test'


def largest_pause(rows, start: float) -> float:
    times = [at for at, _ in rows if at >= start - 1.0]
    return max((b - a for a, b in zip(times, times[1:], strict=False)), default=0.0)


def primary_pid(wide) -> int:
    status, health = http_json(wide['ports']['primary'], '/health')
    assert status == 200, f'primary /health answered {status}: {health}'
    return health['pid']


def test_kill_9_of_the_primary_loses_nothing_and_fails_back(wide, echo):
    """When the primary is killed with SIGKILL under a 50 Hz stream, the client switches
    tier at once with no hole and no repeat; when up has restarted the primary, the client
    fails back to it, still without a hole or a repeat."""
    run = echo()
    run.wait_rows(100, 20, 'from the primary')
    old = primary_pid(wide)
    killed = time.monotonic()
    os.kill(old, signal.SIGKILL)
    switched = run.wait_err('tier changed', killed, 10)
    run.wait_rows(100, 10, 'after the switch')
    wait_for(lambda: http_json(wide['ports']['primary'], '/health')[0] == 200
             and primary_pid(wide) != old, 30, 'up to restart the primary')
    back = run.wait_err('(failback)', switched, 30)
    run.wait_rows(100, 10, 'after the failback')
    assert_no_hole_no_repeat(run.rows)
    assert run.rows[-1][1]['tier'] in ('primary', f'ws://127.0.0.1:{wide["ports"]["primary"]}')
    print(f'\nkill -9: switch noticed {1000 * (switched - killed):.0f} ms after the kill, '
          f'largest pause in delivery {1000 * largest_pause(run.rows, killed):.0f} ms, '
          f'failback {back - killed:.1f} s after the kill, {len(run.rows)} messages, '
          'no hole, no repeat')


def test_sigstop_of_the_primary_loses_nothing_and_fails_back(wide, echo):
    """When the primary hangs (SIGSTOP), the client notices the missing heartbeats,
    switches with no hole and no repeat, and after SIGCONT fails back to it."""
    run = echo()
    run.wait_rows(100, 20, 'from the primary')
    pid = primary_pid(wide)
    stopped = time.monotonic()
    os.kill(pid, signal.SIGSTOP)
    try:
        switched = run.wait_err('tier changed', stopped, 10)
        run.wait_rows(100, 10, 'after the switch')
    finally:
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            pass  # the coordinator replaced the hung process
    resumed = time.monotonic()
    back = run.wait_err('(failback)', resumed, 30)
    run.wait_rows(100, 10, 'after the failback')
    assert_no_hole_no_repeat(run.rows)
    print(f'\nSIGSTOP: switch noticed {1000 * (switched - stopped):.0f} ms after the stop, '
          f'largest pause in delivery {1000 * largest_pause(run.rows, stopped):.0f} ms, '
          f'failback {back - resumed:.1f} s after SIGCONT, {len(run.rows)} messages, '
          'no hole, no repeat')
