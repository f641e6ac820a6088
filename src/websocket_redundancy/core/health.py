"""Per-tier health from four witnesses, sans-IO: ``handle(event, now)`` and ``check(now)``.

Witnesses: the process (where local), lifecycle transition events, the graph heartbeat
(20 Hz, with the tier's loop-tick counter) and an active WebSocket probe.

- A tier is **DOWN** at once when its process exits or it reports ``errorprocessing`` or
  ``finalized``, and when two witnesses fail together.
- It is **SUSPECT** when one witness fails (from UNKNOWN, UP or SUSPECT; a DOWN tier
  stays DOWN until it is UP again).
- It is **UP** after ``rise`` consecutive good observations with no witness failing.

A busy tier is not a dead one: the heartbeat witness watches the *tick* advancing, not
message arrival, so a burst of late heartbeats with advancing ticks is healthy; a slow
probe that answers is healthy; one stale witness alone is never DOWN.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from .settings import SettingsError

__all__ = [
    'DOWN', 'SUSPECT', 'UNKNOWN', 'UP', 'HealthChanged', 'HealthModel', 'HealthSettings',
    'Heartbeat', 'ProbeResult', 'ProcessExited', 'ProcessStarted', 'SessionChanged',
    'TransitionEvent',
]

UNKNOWN, UP, SUSPECT, DOWN = 'UNKNOWN', 'UP', 'SUSPECT', 'DOWN'  # as core.ranking orders them
_HARD_STATES = ('errorprocessing', 'finalized')


def positive_number(value: object) -> str:
    """Validator: '' when ``value`` is a number above zero, else the rest of a sentence."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        return f'must be a positive number, got {value!r}'
    return ''


def whole_number(value: object) -> str:
    """Validator: '' when ``value`` is an int of at least 1, else the rest of a sentence."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return f'must be a whole number of at least 1, got {value!r}'
    return ''


@dataclass(frozen=True)
class HealthSettings:
    """Thresholds; constructing bad ones raises ``SettingsError`` naming each field."""

    heartbeat_timeout: float = 1.0  # s without the tick advancing: heartbeat witness fails
    probe_failures: int = 2  # consecutive failed probes: probe witness fails
    rise: int = 3  # consecutive good observations, all witnesses passing: UP

    def problems(self) -> list[str]:
        out = []
        for f in fields(self):
            message = _VALIDATORS[f.name](getattr(self, f.name))
            if message:
                out.append(f'health.{f.name} {message}.')
        return out

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise SettingsError(problems)


_VALIDATORS = {'heartbeat_timeout': positive_number, 'probe_failures': whole_number,
               'rise': whole_number}


# Events in ------------------------------------------------------------------------

@dataclass(frozen=True)
class ProcessStarted:
    tier: str
    pid: int
    session: str


@dataclass(frozen=True)
class ProcessExited:
    tier: str
    code: int | None


@dataclass(frozen=True)
class TransitionEvent:
    tier: str
    state_label: str  # the state the tier is now in (goal_state of TransitionEvent)


@dataclass(frozen=True)
class Heartbeat:
    tier: str
    session: str
    tick: int  # the tier's event-loop tick counter
    seq: int


@dataclass(frozen=True)
class ProbeResult:
    tier: str
    ok: bool
    latency_s: float | None = None


# Events out -----------------------------------------------------------------------

@dataclass(frozen=True)
class HealthChanged:
    tier: str
    old: str
    new: str
    reason: str
    at: float


@dataclass(frozen=True)
class SessionChanged:
    """A tier's heartbeat session changed: it restarted (and is unconfigured)."""
    tier: str
    old: str
    new: str
    at: float


_EVENTS = (Heartbeat, ProbeResult, TransitionEvent, ProcessExited, ProcessStarted)


@dataclass
class _Tier:
    since: float  # heartbeat baseline: last tick advance, or when watching began
    health: str = UNKNOWN
    changed_at: float | None = None
    exit_code: int | None = None
    exited: bool = False
    pid: int | None = None
    lifecycle: str | None = None
    session: str | None = None
    tick: int | None = None
    stale: bool = False
    probe_fails: int = 0
    latency_s: float | None = None
    good: int = 0


class HealthModel:
    """Health of every tier; feed it events, call ``check(now)`` at ``next_deadline()``."""

    def __init__(self, settings: HealthSettings | None = None, tiers: tuple[str, ...] = (),
                 now: float = 0.0) -> None:
        self.settings = settings or HealthSettings()
        self._tiers: dict[str, _Tier] = {}
        for name in tiers:
            self._tier(name, now)

    # queries ---------------------------------------------------------------------

    def health(self, tier: str) -> str:
        return self._tiers[tier].health if tier in self._tiers else UNKNOWN

    def tiers(self) -> list[str]:
        return list(self._tiers)

    def forget(self, tier: str) -> None:
        """When an endpoint leaves the directory, drop everything known about it."""
        self._tiers.pop(tier, None)

    def snapshot(self, tier: str) -> dict[str, object]:
        """When status is built: health, lifecycle label, last change, probe latency."""
        t = self._tiers[tier]
        lifecycle = 'unknown' if t.exited or t.lifecycle is None else t.lifecycle
        return {'health': t.health, 'lifecycle': lifecycle,
                'last_change': t.changed_at, 'probe_latency_s': t.latency_s,
                'pid': t.pid, 'session': t.session}

    def next_deadline(self) -> float | None:
        """The earliest time a heartbeat witness can go stale (``None``: nothing to do)."""
        times = [t.since + self.settings.heartbeat_timeout
                 for t in self._tiers.values() if not t.stale and not t.exited]
        return min(times, default=None)

    # inputs ----------------------------------------------------------------------

    def check(self, now: float) -> list[HealthChanged]:
        """When a heartbeat has not advanced for ``heartbeat_timeout``, its witness fails."""
        out: list[HealthChanged] = []
        for name, t in self._tiers.items():
            if not t.stale and not t.exited and now >= t.since + self.settings.heartbeat_timeout:
                t.stale = True
                out += self._observe(name, t, False, now)
        return out

    def handle(self, event: object, now: float) -> list[HealthChanged | SessionChanged]:
        """When an event arrives, update that tier's witnesses and report any change."""
        if not isinstance(event, _EVENTS):
            raise TypeError(f'HealthModel cannot handle {type(event).__name__}.')
        name = event.tier
        t = self._tier(name, now)
        if isinstance(event, Heartbeat):
            return self._heartbeat(name, t, event, now)
        if isinstance(event, ProbeResult):
            t.probe_fails = 0 if event.ok else t.probe_fails + 1
            if event.latency_s is not None:
                t.latency_s = event.latency_s
            return self._observe(name, t, event.ok, now)
        if isinstance(event, TransitionEvent):
            t.lifecycle = event.state_label
            return self._observe(name, t, event.state_label == 'active', now)
        if isinstance(event, ProcessExited):
            t.exited, t.exit_code, t.pid = True, event.code, None
            return self._observe(name, t, False, now)
        else:  # ProcessStarted
            # A respawned lifecycle node comes back unconfigured, with a new session.
            t.exited, t.exit_code, t.pid = False, None, event.pid
            t.lifecycle, t.session, t.tick = 'unconfigured', event.session or None, None
            t.since, t.stale, t.probe_fails = now, False, 0
        return self._observe(name, t, False, now)

    # internals -------------------------------------------------------------------

    def _tier(self, name: str, now: float) -> _Tier:
        if name not in self._tiers:
            self._tiers[name] = _Tier(since=now)
        return self._tiers[name]

    def _heartbeat(self, name: str, t: _Tier, hb: Heartbeat,
                   now: float) -> list[HealthChanged | SessionChanged]:
        out: list[HealthChanged | SessionChanged] = []
        if hb.session != t.session:
            if t.session is not None:
                out.append(SessionChanged(name, t.session, hb.session, now))
                t.lifecycle = 'unconfigured' if t.lifecycle is not None else None
            t.session, t.tick = hb.session, None
        if t.tick is not None and hb.tick <= t.tick:
            return out  # the publisher is alive but its loop is not turning: no news
        t.tick, t.since, t.stale = hb.tick, now, False
        return out + self._observe(name, t, True, now)

    def _failing(self, t: _Tier) -> tuple[list[str], bool]:
        """The failing witnesses' reasons, and whether any one of them is fatal alone."""
        reasons, hard = [], False
        if t.exited:
            reasons.append('process exited' if t.exit_code is None
                           else f'process exited with code {t.exit_code}')
            hard = True
        if t.lifecycle is not None and t.lifecycle != 'active':
            reasons.append(f'lifecycle state is {t.lifecycle}')
            hard = hard or t.lifecycle in _HARD_STATES
        if t.stale and not t.exited:
            reasons.append(f'no heartbeat tick for {self.settings.heartbeat_timeout:g} s')
        if t.probe_fails >= self.settings.probe_failures:
            reasons.append(f'{t.probe_fails} probes failed in a row')
        return reasons, hard

    def _observe(self, name: str, t: _Tier, good: bool, now: float) -> list[HealthChanged]:
        reasons, hard = self._failing(t)
        if reasons or not good:
            t.good = 0
        else:
            t.good += 1
        if hard or len(reasons) >= 2:
            new = DOWN
        elif reasons:
            new = DOWN if t.health == DOWN else SUSPECT
        elif t.health == UP or t.good >= self.settings.rise:
            new = UP
        else:
            new = t.health
        if new == t.health:
            return []
        reason = '; '.join(reasons) or f'{t.good} good observations in a row'
        old, t.health, t.changed_at = t.health, new, now
        return [HealthChanged(name, old, new, reason, now)]
