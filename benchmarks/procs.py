"""Child processes, /proc readings, ports and bounded waits for the benchmarks.

Every child is started in its own session and registered, so ``stop_all`` (called on
exit and on Ctrl-C) can SIGCONT anything we stopped, then SIGTERM and, after a grace,
SIGKILL each child's process group, by its id.
"""
from __future__ import annotations

import json
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLK_TCK = os.sysconf('SC_CLK_TCK')
_children: list[Child] = []
_stopped: set[int] = set()


class BenchError(RuntimeError):
    """A scenario could not run (a process did not start, a wait timed out)."""


def env(**extra: str) -> dict[str, str]:
    out = {**os.environ, 'PYTHONUNBUFFERED': '1', **extra}
    paths = [str(ROOT / 'src'), str(ROOT)]
    out['PYTHONPATH'] = os.pathsep.join(paths + [out.get('PYTHONPATH', '')])
    return out


class Child:
    """A registered child; stdout lines are collected (with their arrival time) by a
    thread and also passed to ``on_line`` if given. ``stdin`` stays open for commands."""

    def __init__(self, argv: list[str], name: str, extra_env: dict[str, str] | None = None,
                 on_line: Callable[[float, str], None] | None = None, stdin: bool = False,
                 shell: bool = False) -> None:
        self.name = name
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._on_line = on_line
        self.proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL, env=env(**(extra_env or {})),
            start_new_session=True, shell=shell)
        _children.append(self)
        threading.Thread(target=self._read, daemon=True).start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read(self) -> None:
        for line in self.proc.stdout:
            line = line.rstrip('\n')
            at = time.monotonic()
            if self._on_line is not None:
                self._on_line(at, line)
            with self._cond:
                self.lines.append(line)
                self._cond.notify_all()

    def wait_line(self, prefix: str, timeout: float, after: int = 0) -> str:
        """The first line from index ``after`` on that starts with ``prefix``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.lines[after:]:
                    if line.lstrip().startswith(prefix):
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    tail = '\n  '.join(self.lines[-15:])
                    why = (f'exited with {self.proc.returncode}' if self.proc.poll() is not None
                           else f'timed out after {timeout:.0f} s')
                    raise BenchError(f'{self.name}: {why} waiting for {prefix!r}; last output:'
                                     f'\n  {tail}')
                self._cond.wait(min(left, 0.2))

    def ask(self, command: str, answer: str, timeout: float = 30.0) -> str:
        """Send one stdin line and wait for the reply line starting with ``answer``."""
        with self._cond:
            mark = len(self.lines)
        self.proc.stdin.write(command + '\n')
        self.proc.stdin.flush()
        return self.wait_line(answer, timeout, after=mark)

    def stop(self, grace: float = 5.0) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
            except ProcessLookupError:
                pass
        if self in _children:
            _children.remove(self)


def python(module: str, *args: str) -> list[str]:
    return [sys.executable, '-m', module, *args]


def sigstop(pid: int) -> None:
    _stopped.add(pid)
    os.kill(pid, signal.SIGSTOP)


def sigcont(pid: int) -> None:
    _stopped.discard(pid)
    try:
        os.kill(pid, signal.SIGCONT)
    except ProcessLookupError:
        pass


def stop_all() -> None:
    """SIGCONT what we stopped, then stop every registered child (newest first)."""
    for pid in list(_stopped):
        sigcont(pid)
    for child in reversed(list(_children)):
        child.stop()


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` (all its threads), from /proc/<pid>/stat."""
    with open(f'/proc/{pid}/stat', encoding='ascii') as handle:
        fields = handle.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_bytes(pid: int) -> int:
    with open(f'/proc/{pid}/status', encoding='ascii') as handle:
        for line in handle:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) * 1024
    return 0


def pss_bytes(pid: int) -> int:
    """Proportional set size: resident pages, each shared page divided among the
    processes that map it (the interpreter and libraries the tiers share)."""
    try:
        with open(f'/proc/{pid}/smaps_rollup', encoding='ascii') as handle:
            for line in handle:
                if line.startswith('Pss:'):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def free_port_block(count: int) -> int:
    """The first of ``count`` consecutive free TCP ports on 127.0.0.1."""
    rng = random.Random(os.getpid() ^ time.monotonic_ns())
    for _ in range(200):
        base = rng.randrange(20000, 60000 - count)
        sockets = []
        try:
            for port in range(base, base + count):
                s = socket.socket()
                s.bind(('127.0.0.1', port))
                sockets.append(s)
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise BenchError(f'no block of {count} free ports found on 127.0.0.1')


def http_json(port: int, path: str, timeout: float = 2.0):
    """(status, body) of GET http://127.0.0.1:port/path; (None, None) if unreachable."""
    try:
        with urllib.request.urlopen(f'http://127.0.0.1:{port}{path}', timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read() or b'null')
        except ValueError:
            return exc.code, None
    except (OSError, ValueError):
        return None, None


def wait_for(predicate: Callable[[], object], timeout: float, what: str,
             interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise BenchError(f'timed out after {timeout:.0f} s waiting for {what}')


def machine() -> dict:
    model = platform.processor() or '?'
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'):
                model = line.split(':', 1)[1].strip()
                break
    except OSError:
        pass
    return {'nproc': os.cpu_count(), 'cpu_model': model,
            'python': platform.python_version(), 'platform': platform.platform(),
            'loadavg_at_start': [round(x, 2) for x in os.getloadavg()]}
