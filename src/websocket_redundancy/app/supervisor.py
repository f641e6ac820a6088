"""The process supervisor behind ``websocket-redundancy up``.

Starts each child (simulator or replay, the tiers, the coordinator) as its own
process, reports when each is ready (its ``READY`` line), restarts a child that dies
with a growing delay (reset once it has stayed up), forwards children's warnings with
their name, and on stop sends SIGTERM, then SIGKILL to what is still running after a
grace period.

A child that cannot start is not restarted forever: one that exits with the usage
code (a bad configuration or environment) stops ``up`` at once, and one that fails
the same way before it was ready ``START_FAILURES`` times in a row (same exit code,
same last ``error:`` line) stops it too, naming the child and the cause.
"""
from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from twisted.internet import defer, protocol

from ..core.backoff import backoff


@dataclass
class ChildSpec:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    restart: bool = True


USAGE_ERROR = 2  # the CLI's exit code for a bad configuration or environment
START_FAILURES = 3  # identical failures before ready, in a row, that stop ``up``


def restart_delay(restarts_in_a_row: int, base: float = 0.1, cap: float = 5.0) -> float:
    """Seconds to wait before restart number ``restarts_in_a_row`` (0-based)."""
    return backoff(restarts_in_a_row, base, cap, 0.0, 0.0)


class _ChildProtocol(protocol.ProcessProtocol):
    def __init__(self, supervisor: Supervisor, child: _Child):
        self.supervisor = supervisor
        self.child = child
        self._buffers = {1: b'', 2: b''}

    def childDataReceived(self, fd, data):
        buffer = self._buffers.get(fd, b'') + data
        *lines, self._buffers[fd] = buffer.split(b'\n')
        for line in lines:
            self.supervisor.on_line(self.child, fd, line.decode(errors='replace'))

    def processEnded(self, reason):
        self.supervisor.on_exit(self.child, reason.value)


@dataclass
class _Child:
    spec: ChildSpec
    transport: object = None
    pid: int | None = None
    started_at: float = 0.0
    ready: bool = False
    restarts: int = 0
    restarts_in_a_row: int = 0
    ended: defer.Deferred | None = None
    last_error: str = ''  # this run's last ``error:`` line on stderr
    start_failure: tuple[int | None, str] | None = None  # (exit code, error) of the last
    start_failures: int = 0  # ... and how many runs in a row failed that way


class Supervisor:
    def __init__(self, reactor, specs: list[ChildSpec], out: Callable[[str], None] = print,
                 clock: Callable[[], float] = time.monotonic, stable_after: float = 10.0):
        self.reactor = reactor
        self.children = {spec.name: _Child(spec) for spec in specs}
        self.out = out
        self.clock = clock
        self.stable_after = stable_after
        self.stopping = False
        self.on_ready: Callable[[str, str], None] = lambda name, line: None
        self.on_fatal: Callable[[str], None] = lambda name: None

    def start(self) -> None:
        for child in self.children.values():
            self._spawn(child)

    def _spawn(self, child: _Child) -> None:
        if self.stopping:
            return
        env = {**os.environ, 'PYTHONUNBUFFERED': '1', **child.spec.env}
        proto = _ChildProtocol(self, child)
        child.ready = False
        child.last_error = ''
        child.ended = defer.Deferred()
        child.transport = self.reactor.spawnProcess(
            proto, child.spec.argv[0], child.spec.argv, env=env,
            childFDs={0: 'w', 1: 'r', 2: 'r'})
        child.pid = child.transport.pid
        child.started_at = self.clock()

    def on_line(self, child: _Child, fd: int, line: str) -> None:
        if fd == 1 and line.startswith('READY ') and not child.ready:
            child.ready = True
            child.start_failure, child.start_failures = None, 0
            self.on_ready(child.spec.name, line)
            return
        if fd == 2 and line.startswith('error: '):
            child.last_error = line[len('error: '):].strip()
        if line.strip():
            self.out(f'[{child.spec.name}] {line}')

    def on_exit(self, child: _Child, reason) -> None:
        ended, child.ended = child.ended, None
        child.transport = None
        if ended is not None:
            ended.callback(None)
        if self.stopping or not child.spec.restart:
            return
        ran_for = self.clock() - child.started_at
        code = getattr(reason, 'exitCode', None)
        if not child.ready and self._cannot_start(child, code):
            return
        if ran_for >= self.stable_after:
            child.restarts_in_a_row = 0
        delay = restart_delay(child.restarts_in_a_row)
        child.restarts_in_a_row += 1
        child.restarts += 1
        sig = getattr(reason, 'signal', None)
        how = f'killed by signal {sig}' if sig else f'exited with code {code}'
        self.out(f'{child.spec.name} (pid {child.pid}) {how} after {ran_for:.1f} s; '
                 f'restarting in {delay:.1f} s (restart #{child.restarts})')
        self.reactor.callLater(delay, self._spawn, child)

    def _cannot_start(self, child: _Child, code: int | None) -> bool:
        """Count a failure before ready; True (and ``up`` told) when restarting would
        only repeat it: the usage exit code, or the same failure START_FAILURES times."""
        name = child.spec.name
        cause = child.last_error or f'exit code {code}'
        if code == USAGE_ERROR:
            self.out(f'{name} cannot start: {cause}; not restarting it')
            self.on_fatal(name)
            return True
        if code is None:  # killed by a signal: not a start-up failure of its own
            child.start_failure, child.start_failures = None, 0
            return False
        failure = (code, child.last_error)
        child.start_failures = child.start_failures + 1 if failure == child.start_failure else 1
        child.start_failure = failure
        if child.start_failures < START_FAILURES:
            return False
        self.out(f'{name} failed to start {child.start_failures} times in a row '
                 f'(exit {code}): {cause}; not restarting it')
        self.on_fatal(name)
        return True

    def stop(self, grace: float = 5.0) -> defer.Deferred:
        """SIGTERM every child; SIGKILL the ones still running after ``grace``."""
        self.stopping = True
        waits = []
        for child in self.children.values():
            if child.transport is None:
                continue
            waits.append(child.ended)
            self._signal(child, 'TERM')
            self.reactor.callLater(grace, self._signal, child, 'KILL')
        return defer.DeferredList(waits)

    @staticmethod
    def _signal(child: _Child, name: str) -> None:
        if child.transport is not None:
            try:
                child.transport.signalProcess(name)
            except (OSError, ProcessLookupError):
                pass
            except Exception as exc:  # twisted.internet.error.ProcessExitedAlready
                if type(exc).__name__ != 'ProcessExitedAlready':
                    raise


def python_argv(*args: str) -> list[str]:
    """argv that runs this package's CLI with the current interpreter."""
    return [sys.executable, '-m', 'websocket_redundancy', *args]


__all__ = ['START_FAILURES', 'ChildSpec', 'Supervisor', 'python_argv', 'restart_delay', 'signal']
