"""The benchmark's view of its client processes: ``latclient`` (one application client,
failover or plain) and ``wsload`` (many raw connections)."""
from __future__ import annotations

import json
import subprocess
import threading
import time

from .procs import BenchError, Child, python, wait_for


class AppClient:
    """A ``latclient`` process; ``rows`` are (monotonic, latency ms, tier, epoch, seq,
    index), ``events`` are (monotonic, kind, text)."""

    def __init__(self, urls: list[str], mode: str = 'failover', label: str = 'client',
                 topic: str = '/bench/stream', max_seconds: float = 900.0) -> None:
        self.rows: list[tuple[float, float, str, str, int | None, int]] = []
        self.events: list[tuple[float, str, str]] = []
        self._lock = threading.Lock()
        args = ['--mode', mode, '--topic', topic, '--max-seconds', f'{max_seconds:g}']
        for url in urls:
            args += ['--url', url]
        self.child = Child(python('benchmarks.latclient', *args), label, on_line=self._line)
        self.child.wait_line('READY', 30)

    def _line(self, _at: float, line: str) -> None:
        parts = line.split(' ', 6)
        if parts[0] == 'M' and len(parts) == 7:
            seq = None if parts[5] == 'None' else int(parts[5])
            row = (float(parts[1]), float(parts[2]), parts[3], parts[4], seq, int(parts[6]))
            with self._lock:
                self.rows.append(row)
        elif parts[0] == 'E' and len(parts) >= 3:
            with self._lock:
                self.events.append((float(parts[1]), parts[2], ' '.join(parts[3:])))

    def count_since(self, since: float, tier_not: tuple[str, ...] = ()) -> int:
        with self._lock:
            return sum(1 for r in self.rows if r[0] >= since and r[2] not in tier_not)

    def wait_rows(self, n: int, timeout: float, since: float = 0.0,
                  tier_not: tuple[str, ...] = ()) -> None:
        wait_for(lambda: self.count_since(since, tier_not) >= n, timeout,
                 f'{n} messages at {self.child.name}'
                 + (f' from a tier other than {tier_not[0]}' if tier_not else ''))

    def tier(self) -> str | None:
        with self._lock:
            return self.rows[-1][2] if self.rows else None

    def snapshot(self) -> tuple[list, list]:
        with self._lock:
            return list(self.rows), list(self.events)

    def stop(self) -> None:
        self.child.stop()


class LoadClients:
    """A ``wsload`` process holding ``clients`` connections to ``url``."""

    def __init__(self, url: str, clients: int, *, idle: bool = False, sample: int = 32,
                 token: str | None = None, topic: str = '/bench/stream',
                 max_seconds: float = 600.0, label: str = 'load',
                 standard: bool = False) -> None:
        args = ['--url', url, '--clients', str(clients), '--sample', str(sample),
                '--topic', topic, '--max-seconds', f'{max_seconds:g}']
        if idle:
            args.append('--idle')
        if standard:
            args.append('--standard')
        if token:
            args += ['--token', token]
        self.clients = clients
        self.child = Child(python('benchmarks.wsload', *args), label, stdin=True)
        line = self.child.wait_line('READY', 60 + clients / 20)
        fields = dict(part.split('=') for part in line.split()[1:])
        self.connected = int(fields['connected'])
        if self.connected < clients:
            raise BenchError(f'{label}: only {self.connected} of {clients} clients connected '
                             f'to {url} ({line})')

    def mark(self) -> tuple[int, int]:
        """(largest index seen, frames so far)."""
        words = self.child.ask('MARK', 'MARK').split()
        return int(words[1]), int(words[2])

    def report(self, first: int, end: int) -> dict:
        return json.loads(self.child.ask(f'REPORT {first} {end}', 'REPORT').split(' ', 1)[1])

    def stop(self) -> None:
        try:
            if self.child.proc.poll() is None:
                self.child.proc.stdin.write('QUIT\n')
                self.child.proc.stdin.flush()
                self.child.proc.wait(5)
        except (OSError, ValueError, subprocess.TimeoutExpired):  # stop() below kills it
            pass
        self.child.stop()


def settle(seconds: float) -> None:
    if seconds > 0:
        time.sleep(seconds)
