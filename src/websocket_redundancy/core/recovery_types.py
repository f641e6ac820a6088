"""What recovery takes and gives: its settings, the results it is fed and the commands
it returns (frozen dataclasses), apart from the model in ``recovery.py``."""
from __future__ import annotations

from dataclasses import dataclass, fields

from .health import positive_number, whole_number
from .settings import SettingsError


def _fraction(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        return f'must be a number within [0, 1], got {value!r}'
    return ''


@dataclass(frozen=True)
class RecoverySettings:
    """Timeouts, backoff and circuit breaker; bad values raise ``SettingsError``."""

    call_timeout: float = 1.0  # s to answer GetState / ChangeState
    respawn_timeout: float = 5.0  # s from Respawn to ProcessStarted
    startup_grace: float = 3.0  # s after a (re)start when silence is not a failure
    settle: float = 0.2  # s between GetState calls during the startup grace
    catch_up: float = 5.0  # s an answering, active tier has for its witnesses to say UP
    backoff_base: float = 0.1
    backoff_cap: float = 5.0
    jitter_fraction: float = 0.2
    failure_threshold: int = 5  # strikes within failure_window that open the circuit
    failure_window: float = 60.0
    cool_off: float = 30.0  # s the circuit stays open before a half-open attempt

    def problems(self) -> list[str]:
        out = []
        for f in fields(self):
            check = {'jitter_fraction': _fraction,
                     'failure_threshold': whole_number}.get(f.name, positive_number)
            message = check(getattr(self, f.name))
            if message:
                out.append(f'recovery.{f.name} {message}.')
        return out

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise SettingsError(problems)


# Results in (health events are accepted too) ----------------------------------------

@dataclass(frozen=True)
class GetStateResult:
    tier: str
    state_label: str | None  # None: the service did not answer / was unavailable


@dataclass(frozen=True)
class ChangeStateResult:
    tier: str
    transition_label: str
    success: bool


# Commands and records out -----------------------------------------------------------

@dataclass(frozen=True)
class GetState:
    tier: str


@dataclass(frozen=True)
class ChangeState:
    tier: str
    transition_label: str


@dataclass(frozen=True)
class Respawn:
    tier: str


@dataclass(frozen=True)
class MarkFailed:
    tier: str
    reason: str


@dataclass(frozen=True)
class RecoveryStarted:
    tier: str
    reason: str
    at: float


@dataclass(frozen=True)
class RecoveryFinished:
    tier: str
    ok: bool
    duration_s: float
    detail: str
    at: float
