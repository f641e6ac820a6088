"""Events, commands and settings of the failover client machine (frozen dataclasses).

The shell (Twisted, a browser, a test) turns what happens into events, calls
``FailoverMachine.handle(event, now)`` and carries out the commands it gets back, in
order. Contract for the shell: after it carries out ``CloseConn(url)`` it reports no
further events for that connection; it reports ``Tick`` at ``next_deadline()``.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from .ranking import TierInfo
from .settings import HEARTBEAT_TOPIC, SettingsError

Position = tuple[str, int]

# ---- events -------------------------------------------------------------------------


@dataclass(frozen=True)
class Start:
    """Bootstrap from one URL or a list, most preferred first; with
    ``directory_wait_s`` the first endpoint is picked from the first ``Directory``
    when one arrives within that time (so new clients spread over replicas)."""
    urls: tuple[str, ...]
    directory_wait_s: float = 0.0


@dataclass(frozen=True)
class Directory:
    """A status document's tiers (see ``ranking.tiers_from_status``)."""
    tiers: tuple[TierInfo, ...]


@dataclass(frozen=True)
class Opened:
    url: str


@dataclass(frozen=True)
class Closed:
    """The connection closed, or could not be opened (code 1006 when there was no code)."""
    url: str
    code: int
    reason: str = ''


@dataclass(frozen=True)
class Frame:
    """A decoded server frame."""
    url: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Tick:
    """``next_deadline()`` was reached."""


@dataclass(frozen=True)
class Subscribe:
    topic: str
    type: str
    throttle_rate: int = 0
    queue_length: int = 0


@dataclass(frozen=True)
class Unsubscribe:
    topic: str


@dataclass(frozen=True)
class Publish:
    topic: str
    type: str
    msg: dict[str, Any]


@dataclass(frozen=True)
class CallService:
    service: str
    args: dict[str, Any]
    id: str


@dataclass(frozen=True)
class SendGoal:
    """Send an action goal; ``goal_id`` (a UUID, base64, made by the shell) names it on
    the graph, so that the client can follow it from another tier after a failover."""
    id: str
    action: str
    type: str
    goal: dict[str, Any]
    goal_id: str


@dataclass(frozen=True)
class CancelGoal:
    id: str


# ---- commands -----------------------------------------------------------------------


@dataclass(frozen=True)
class Open:
    url: str


@dataclass(frozen=True)
class CloseConn:
    url: str
    code: int
    reason: str = ''


@dataclass(frozen=True)
class Send:
    url: str
    frame: dict[str, Any]


@dataclass(frozen=True)
class Deliver:
    """Hand one sample to the application (epoch and seq are None from a plain server)."""
    topic: str
    msg: dict[str, Any]
    tier: str
    epoch: str | None
    seq: int | None


@dataclass(frozen=True)
class Notify:
    """Tell the application something it should know; ``detail`` depends on ``kind``."""
    kind: str
    detail: Any = None


@dataclass(frozen=True)
class Respond:
    """The outcome of a ``CallService``; ``result`` is False if no tier could answer."""
    id: str
    result: bool
    values: Any = None


@dataclass(frozen=True)
class GoalFeedback:
    """One feedback sample of goal ``id``, delivered once (``epoch``/``seq``: its key)."""
    id: str
    values: Any
    tier: str
    epoch: str | None
    seq: int | None


@dataclass(frozen=True)
class GoalResult:
    """How goal ``id`` ended, exactly once: ``ok`` with the server's ``status`` (4
    succeeded, 5 canceled, 6 aborted) and Result, or not ``ok`` (status 0) with the
    reason in ``values``: refused, never ran, or the server does not know it."""
    id: str
    ok: bool
    status: int
    values: Any
    tier: str


# ---- notification details -----------------------------------------------------------

TIER_CHANGED = 'tier_changed'
GAP = 'gap'
SCOPE_DEGRADED = 'scope_degraded'
SCOPE_RESTORED = 'scope_restored'
ALL_DOWN = 'all_down'
PUBLISH_DROPPED = 'publish_dropped'
GOAL_GAP = 'goal_gap'


@dataclass(frozen=True)
class TierChange:
    previous: str | None
    current: str
    reason: str


@dataclass(frozen=True)
class GapInfo:
    """Samples of ``topic`` after ``last`` and before ``next`` were not delivered."""
    topic: str
    reason: str  # 'hole' | 'epoch changed' | 'buffer too short' | 'out of scope'
    last: Position | None
    next: Position | None
    tier: str


@dataclass(frozen=True)
class GoalGap:
    """Feedback of goal ``id`` after ``last`` (None: from its start) and before ``next``
    that the tier it re-attached to no longer had."""
    id: str
    reason: str
    last: Position | None
    next: Position | None
    tier: str


@dataclass(frozen=True)
class ScopeChange:
    topic: str
    tier: str


@dataclass(frozen=True)
class AllDown:
    attempt: int
    retry_in: float


@dataclass(frozen=True)
class Dropped:
    topic: str
    reason: str


# ---- settings -----------------------------------------------------------------------


@dataclass(frozen=True)
class FailoverSettings:
    """How the client detects failure and how eagerly it moves between tiers."""

    heartbeat_timeout_s: float = 0.3  # 3 missed heartbeats at 10 Hz: treat as closed
    connect_timeout_s: float = 1.0
    failback_hold_s: float = 2.0  # a higher tier must stay healthy this long
    catchup_timeout_s: float = 2.0  # make-before-break gives up waiting after this
    backoff_base_s: float = 0.1
    backoff_cap_s: float = 5.0
    warm_standby: bool = True  # keep the next-ranked tier open, heartbeat only
    hot_standby: bool = False  # ... and subscribed to every app topic too
    heartbeat_topic: str = field(default=HEARTBEAT_TOPIC)

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise SettingsError(problems)

    def problems(self) -> list[str]:
        """Every setting that cannot work, one sentence each (empty when all is well)."""
        out = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name.endswith('_s') and (isinstance(value, bool)
                                          or not isinstance(value, (int, float))
                                          or value <= 0):
                out.append(f'failover {f.name} must be a positive number of seconds, '
                           f'got {value!r}')
        if self.hot_standby and not self.warm_standby:
            out.append('failover hot_standby needs warm_standby (the standby connection); '
                       'set warm_standby: true')
        if not (isinstance(self.backoff_cap_s, (int, float))
                and isinstance(self.backoff_base_s, (int, float))) or \
                self.backoff_cap_s < self.backoff_base_s:
            out.append('failover backoff_cap_s must be at least backoff_base_s')
        return out
