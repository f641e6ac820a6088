"""The application's action goals over the failover client's connections.

A goal is sent through the active tier with a ``goal_id`` the shell made, and stays
with the connection it went through while that connection is open (a failback leaves
it where it is). When that connection is lost, the goal is re-attached
(``attach_action_goal``) on the active tier, or on the next one to become active, with
``resume`` from the last feedback sample delivered, and a pending cancel is sent again.

What the application gets, per goal:

* the result **exactly once**: the first ``action_result`` ends the goal here; a
  connection that is gone delivers nothing more. If the action server no longer knows
  the goal (it restarted, or dropped the result) the result is a failure saying so;
* feedback **at most once, in order**: a sample not newer than the last delivered is
  dropped; samples the new tier no longer held are reported as ``goal_gap``;
* a tier whose scope lacks the action refuses to attach (``attached: false``): the goal
  is reported ``scope_degraded`` (its action as the topic) and re-attached when a tier
  that has not refused it becomes active.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import failover_types as t
from .failover_conn import Conn, position
from .goal_feedback import newer
from .ranking import TierInfo

GOAL_PREFIX = 'send_action_goal:'


@dataclass
class _Goal:
    ev: t.SendGoal
    url: str | None  # the connection following the goal now
    last: t.Position | None = None  # the newest feedback delivered
    refused: set[str] = field(default_factory=set)  # tiers that cannot follow it
    cancel: bool = False


class Goals:
    """Goals in flight, by the application's id; ``tier_of`` names a connection."""

    def __init__(self, tier_of: Callable[[Conn], TierInfo]) -> None:
        self.goals: dict[str, _Goal] = {}
        self._tier_of = tier_of

    def send(self, ev: t.SendGoal, active: Conn | None) -> list:
        """When the app sends a goal, the active tier gets it (else it fails at once)."""
        if ev.id in self.goals:
            return [t.GoalResult(ev.id, False, 0, f'a goal with id {ev.id!r} is in flight; '
                                 'give each goal its own id', '')]
        if active is None:
            return [t.GoalResult(ev.id, False, 0, 'no tier is connected', '')]
        self.goals[ev.id] = _Goal(ev, active.url)
        return [t.Send(active.url, {
            'op': 'send_action_goal', 'id': GOAL_PREFIX + ev.id, 'action': ev.action,
            'action_type': ev.type, 'args': ev.goal, 'feedback': True,
            'goal_id': ev.goal_id})]

    def cancel(self, ev: t.CancelGoal) -> list:
        """When the app cancels, the tier following the goal asks its server (again on
        the next tier if this one is lost first)."""
        goal = self.goals.get(ev.id)
        if goal is None or goal.cancel:
            return []
        goal.cancel = True
        return [] if goal.url is None else [t.Send(goal.url, _cancel_frame(goal))]

    def frame(self, conn: Conn, data: dict) -> list:
        call_id = data.get('id')
        goal_key = call_id[len(GOAL_PREFIX):] if isinstance(call_id, str) and \
            call_id.startswith(GOAL_PREFIX) else None
        goal = self.goals.get(goal_key) if goal_key is not None else None
        if goal is None or goal.url != conn.url:
            return []
        op, label = data.get('op'), self._tier_of(conn).label
        if op == 'action_feedback':
            key = position(data)
            if key is not None and goal.last is not None and not newer(key, goal.last):
                return []
            goal.last = key or goal.last
            return [t.GoalFeedback(goal_key, data.get('values'), label,
                                   *(key or (None, None)))]
        if op == 'action_feedback_gap':
            return [t.Notify(t.GOAL_GAP, t.GoalGap(
                goal_key, str(data.get('reason')), position(data.get('requested')),
                position(data.get('available')), label))]
        if op != 'action_result':
            return []
        if data.get('attached') is False:  # this tier cannot follow it; the goal runs on
            goal.refused.add(conn.url)
            goal.url = None
            return [t.Notify(t.SCOPE_DEGRADED, t.ScopeChange(goal.ev.action, label))]
        del self.goals[goal_key]
        return [t.GoalResult(goal_key, bool(data.get('result')), _status(data.get('status')),
                             data.get('values'), label)]

    def lost(self, conn: Conn) -> None:
        """When ``conn`` is gone, its goals wait for a tier to re-attach on."""
        for goal in self.goals.values():
            if goal.url == conn.url:
                goal.url = None

    def attach(self, active: Conn | None) -> list:
        """Re-attach every goal that lost its tier on ``active`` (unless it refused)."""
        if active is None or not active.is_open:
            return []
        out = []
        for goal in self.goals.values():
            if goal.url is not None or active.url in goal.refused:
                continue
            goal.url = active.url
            ev = goal.ev
            frame: dict[str, Any] = {
                'op': 'attach_action_goal', 'id': GOAL_PREFIX + ev.id, 'action': ev.action,
                'action_type': ev.type, 'goal_id': ev.goal_id, 'feedback': True}
            if goal.last is not None:
                frame['resume'] = {'epoch': goal.last[0], 'seq': goal.last[1]}
            out.append(t.Send(active.url, frame))
            if goal.cancel:
                out.append(t.Send(active.url, _cancel_frame(goal)))
        return out


def _cancel_frame(goal: _Goal) -> dict[str, Any]:
    return {'op': 'cancel_action_goal', 'id': GOAL_PREFIX + goal.ev.id,
            'action': goal.ev.action}


def _status(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
