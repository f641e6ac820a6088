"""Per-tier recovery decisions, sans-IO: ``handle(event, now)``, ``tick(now)``, ``next_deadline()``.

Never reset-all: each tier has its own little machine. When a tier goes DOWN, reports a
non-active primary state, or restarts, recovery asks ``GetState`` first, then walks the
shortest legal lifecycle path to ACTIVE one ``ChangeState`` at a time, each awaited with
a timeout. A process that exited is respawned only where the coordinator supervises it;
a respawned node comes back unconfigured and is configured and activated.

Every incident of a tier that was once active, and every failed step, is a *strike*
(bringing a new tier up the first time is not). Retries wait ``backoff(...)``; when
``failure_threshold`` strikes fall within ``failure_window`` the circuit opens (the tier
is FAILED, ``MarkFailed``), and after ``cool_off`` one half-open attempt is made. A hung
tier (alive, not answering) only ever gets ever rarer ``GetState`` calls, strikes once
per incident and is never respawned; a tier that answers ``active`` while its witnesses
still say DOWN gets ``catch_up`` seconds before that counts as a failure.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .backoff import backoff
from .health import (
    DOWN,
    UNKNOWN,
    UP,
    HealthChanged,
    ProcessExited,
    ProcessStarted,
    SessionChanged,
    TransitionEvent,
)
from .lifecycle import WAIT, LifecycleError, LifecycleMachine, shortest_path
from .recovery_types import (
    ChangeState,
    ChangeStateResult,
    GetState,
    GetStateResult,
    MarkFailed,
    RecoveryFinished,
    RecoverySettings,
    RecoveryStarted,
    Respawn,
)

__all__ = [
    'ChangeState', 'ChangeStateResult', 'GetState', 'GetStateResult', 'MarkFailed',
    'RecoveryFinished', 'RecoveryModel', 'RecoverySettings', 'RecoveryStarted', 'Respawn',
    'backoff',
]


IDLE, QUERYING, CHANGING, RESPAWNING, WAITING, FAILED = (
    'idle', 'querying', 'changing', 'respawning', 'waiting', 'failed')


@dataclass
class _Tier:
    supervised: bool
    phase: str = IDLE
    deadline: float | None = None
    pending: str | None = None  # transition label awaiting its ChangeState answer
    lifecycle: str | None = None
    health: str = UNKNOWN
    alive: bool | None = None
    started_at: float | None = None
    since: float | None = None  # when the current recovery began
    strikes: deque[float] = field(default_factory=deque)
    circuit: str = 'closed'
    restarts: int = 0
    held: bool = False
    last_failure: str = ''
    silence: int = 0  # GetState calls in a row that got no answer at all
    active_since: float | None = None  # first answered 'active' while still DOWN
    ever_active: bool = False  # bringing a new tier up the first time is no failure


class RecoveryModel:
    """Recovery of every tier; feed it events, call ``tick(now)`` at ``next_deadline()``."""

    def __init__(self, settings: RecoverySettings | None = None,
                 supervised: Iterable[str] = (), rand: Callable[[], float] = random.random):
        self.settings = settings or RecoverySettings()
        self._supervised = frozenset(supervised)
        self._rand = rand
        self._tiers: dict[str, _Tier] = {}

    # queries ---------------------------------------------------------------------

    def snapshot(self, tier: str) -> dict[str, object]:
        """When status is built: phase, circuit, restarts, strikes, last failure."""
        t = self._tier(tier)
        return {'phase': t.phase, 'circuit': t.circuit, 'restarts': t.restarts,
                'strikes': len(t.strikes), 'last_failure': t.last_failure, 'held': t.held}

    def next_deadline(self) -> float | None:
        return min((t.deadline for t in self._tiers.values() if t.deadline is not None),
                   default=None)

    def forget(self, tier: str) -> None:
        """When an endpoint leaves the directory, drop its machine (no more commands)."""
        self._tiers.pop(tier, None)

    def hold(self, tier: str, held: bool = True) -> None:
        """When an operator holds a tier (maintenance), new incidents are not acted on."""
        self._tier(tier).held = held

    # inputs ----------------------------------------------------------------------

    def handle(self, event: object, now: float) -> list[object]:
        """When an event or a service result arrives, decide that tier's next command."""
        name = getattr(event, 'tier', None)
        if not isinstance(name, str):
            raise TypeError(f'RecoveryModel cannot handle {type(event).__name__}.')
        t = self._tier(name)
        if isinstance(event, GetStateResult):
            return self._got_state(name, t, event.state_label, now) if t.phase == QUERYING else []
        if isinstance(event, ChangeStateResult):
            if t.phase != CHANGING or event.transition_label != t.pending:
                return []  # late or foreign answer
            return self._changed(name, t, event.success, now)
        if isinstance(event, HealthChanged):
            t.health = event.new
            if event.new == DOWN:
                return self._incident(name, t, f'health DOWN: {event.reason}', now)
            if event.new == UP and t.phase in (WAITING, FAILED):
                return self._retry(name, t, now)  # it healed: confirm with GetState now
            return []
        if isinstance(event, TransitionEvent):
            if t.phase != IDLE:
                return []  # mostly our own steps; GetState / ChangeState are the authority
            t.lifecycle = event.state_label
            t.ever_active = t.ever_active or event.state_label == 'active'
            if event.state_label in ('unconfigured', 'inactive', 'finalized'):
                return self._incident(name, t, f'lifecycle state is {event.state_label}', now,
                                      strike=t.ever_active)
            return []
        if isinstance(event, ProcessExited):
            t.alive, t.started_at = False, None
            if t.phase in (QUERYING, CHANGING) and t.supervised:
                return self._act(name, t, now)  # drop the call to the dead process
            how = '' if event.code is None else f' with code {event.code}'
            return self._incident(name, t, f'process exited{how}', now)
        if isinstance(event, (ProcessStarted, SessionChanged)):
            if isinstance(event, ProcessStarted):
                t.alive = True
            t.started_at, t.lifecycle = now, 'unconfigured'
            if t.phase in (QUERYING, CHANGING, RESPAWNING, WAITING):
                return self._query(name, t, now)
            return self._incident(name, t, 'process restarted', now, strike=False)
        raise TypeError(f'RecoveryModel cannot handle {type(event).__name__}.')

    def tick(self, now: float) -> list[object]:
        """When a deadline has passed: time out the call, retry, or try half-open."""
        out: list[object] = []
        for name, t in self._tiers.items():
            if t.deadline is None or now < t.deadline:
                continue
            t.deadline = None
            timeout = self.settings.call_timeout
            if t.phase == QUERYING:
                out += self._got_state(name, t, None, now,
                                       f'GetState got no answer within {timeout:g} s')
            elif t.phase == CHANGING:
                out += self._fail(name, t, f'ChangeState {t.pending} got no answer within '
                                           f'{timeout:g} s', now)
            elif t.phase == RESPAWNING:
                out += self._fail(name, t, 'respawned process did not start within '
                                           f'{self.settings.respawn_timeout:g} s', now)
            else:  # WAITING or FAILED
                out += self._retry(name, t, now)
        return out

    # internals -------------------------------------------------------------------

    def _tier(self, name: str) -> _Tier:
        if name not in self._tiers:
            self._tiers[name] = _Tier(supervised=name in self._supervised)
        return self._tiers[name]

    def _in_grace(self, t: _Tier, now: float) -> bool:
        return t.started_at is not None and now < t.started_at + self.settings.startup_grace

    def _strike(self, t: _Tier, now: float) -> int:
        t.strikes.append(now)
        while t.strikes and t.strikes[0] <= now - self.settings.failure_window:
            t.strikes.popleft()
        return len(t.strikes)

    def _wait(self, t: _Tier, delay: float, now: float) -> list[object]:
        t.phase, t.deadline, t.pending = WAITING, now + delay, None
        return []

    def _incident(self, name: str, t: _Tier, reason: str, now: float,
                  strike: bool = True) -> list[object]:
        """Start recovering; a restart notice alone is no strike (its exit was one)."""
        if t.held or t.phase != IDLE:
            return []
        t.since, t.silence, t.active_since = now, 0, None
        out: list[object] = [RecoveryStarted(name, reason, now)]
        if not strike:
            return out + self._act(name, t, now)
        strikes = self._strike(t, now)
        if strikes >= self.settings.failure_threshold:
            return out + self._open(name, t, f'{strikes} incidents within '
                                             f'{self.settings.failure_window:g} s', now)
        if strikes == 1:
            return out + self._act(name, t, now)
        return out + self._wait(t, self._delay(strikes), now)

    def _delay(self, strikes: int) -> float:
        s = self.settings
        return backoff(max(0, strikes - 2), s.backoff_base, s.backoff_cap,
                       s.jitter_fraction, self._rand())

    def _act(self, name: str, t: _Tier, now: float) -> list[object]:
        """The first step of an attempt: respawn a dead supervised process, else ask."""
        if t.alive is False and t.supervised:
            t.phase, t.deadline, t.pending = RESPAWNING, now + self.settings.respawn_timeout, None
            t.restarts += 1
            return [Respawn(name)]
        return self._query(name, t, now)

    def _query(self, name: str, t: _Tier, now: float) -> list[object]:
        t.phase, t.deadline, t.pending = QUERYING, now + self.settings.call_timeout, None
        return [GetState(name)]

    def _retry(self, name: str, t: _Tier, now: float) -> list[object]:
        if t.phase == FAILED:
            t.circuit, t.since = 'half-open', now
            return [RecoveryStarted(name, 'half-open retry after cool-off', now),
                    *self._act(name, t, now)]
        return self._act(name, t, now)

    def _got_state(self, name: str, t: _Tier, label: str | None, now: float,
                   silent: str = 'GetState was not answered') -> list[object]:
        if label is None:
            if self._in_grace(t, now):
                return self._wait(t, self.settings.settle, now)  # still starting up
            # No answer at all: hung (SIGSTOP) or unreachable, not failing. Ask again,
            # less and less often, with no further strike: the incident was the strike,
            # the breaker is for crash loops and failing transitions, and a tier hung
            # twice in a minute must not end up FAILED.
            t.silence += 1
            t.last_failure = silent
            return self._wait(t, self._delay(t.silence + 1), now)
        t.silence = 0
        t.lifecycle = label
        t.ever_active = t.ever_active or label == 'active'
        try:
            path = shortest_path(label)
        except LifecycleError as exc:
            return self._fail(name, t, str(exc), now)
        if path == []:
            if t.health == DOWN and self._in_grace(t, now):
                return self._wait(t, self.settings.settle, now)  # witnesses catching up
            if t.health == DOWN:
                # It answers and is active (e.g. just resumed after SIGSTOP): its
                # heartbeat and probe need a few observations to say UP. Wait for them,
                # without a strike, before calling it a failure.
                if t.active_since is None:
                    t.active_since = now
                if now < t.active_since + self.settings.catch_up:
                    return self._wait(t, 2 * self.settings.settle, now)
                return self._fail(name, t, 'lifecycle is active but the tier is DOWN', now)
            return self._succeed(name, t, 'already active', now)
        if path is None and t.supervised:
            t.alive = False
            return self._act(name, t, now)
        if path is None or path == WAIT:
            if path == WAIT and self._in_grace(t, now):
                return self._wait(t, self.settings.settle, now)
            return self._fail(name, t, f'lifecycle state is {label}', now)
        return self._change(name, t, path[0], now)

    def _change(self, name: str, t: _Tier, label: str, now: float) -> list[object]:
        t.phase, t.deadline, t.pending = CHANGING, now + self.settings.call_timeout, label
        return [ChangeState(name, label)]

    def _changed(self, name: str, t: _Tier, success: bool, now: float) -> list[object]:
        if not success:
            return self._fail(name, t, f'ChangeState {t.pending} failed', now)
        machine = LifecycleMachine(t.lifecycle or 'unknown')
        try:
            machine.begin(t.pending or '')
            t.lifecycle = machine.finish('success').label
        except LifecycleError:
            return self._query(name, t, now)  # our idea of its state was stale: ask
        path = shortest_path(t.lifecycle)
        if path == []:
            return self._succeed(name, t, 'active', now)
        if isinstance(path, list):
            return self._change(name, t, path[0], now)
        return self._query(name, t, now)

    def _fail(self, name: str, t: _Tier, reason: str, now: float) -> list[object]:
        t.last_failure = reason
        strikes = self._strike(t, now)
        if t.circuit == 'half-open' or strikes >= self.settings.failure_threshold:
            return self._open(name, t, reason, now)
        return self._wait(t, self._delay(strikes), now)

    def _open(self, name: str, t: _Tier, reason: str, now: float) -> list[object]:
        t.phase, t.deadline, t.pending = FAILED, now + self.settings.cool_off, None
        t.circuit, t.last_failure = 'open', reason
        return [MarkFailed(name, reason), self._finished(name, t, False, reason, now)]

    def _succeed(self, name: str, t: _Tier, detail: str, now: float) -> list[object]:
        if t.circuit == 'half-open':
            t.strikes.clear()
        t.phase, t.deadline, t.pending, t.circuit = IDLE, None, None, 'closed'
        t.ever_active = True
        return [self._finished(name, t, True, detail, now)]

    def _finished(self, name: str, t: _Tier, ok: bool, detail: str,
                  now: float) -> RecoveryFinished:
        since, t.since = t.since, None
        return RecoveryFinished(name, ok, round(now - (now if since is None else since), 6),
                                detail, now)
