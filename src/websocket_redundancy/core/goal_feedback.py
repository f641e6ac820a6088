"""The feedback of one action's goals as a tier saw it, kept per goal for re-attaching.

Every tier follows ``<action>/_action/feedback`` of the actions in its ``services``
scope (the tier shell subscribes; this is the bookkeeping). Each sample carries the
resume key ``(epoch, seq)`` its publisher (the action server) gave it, the same on every
tier, and belongs to one goal (its ``goal_id``). A client that failed over re-attaches
to its goal by id and says which feedback sample it saw last; :meth:`FeedbackLog.since`
answers with the samples of that goal after it, and a gap when the tier cannot tell
that nothing is missing:

* the goal's oldest samples were evicted (more than ``max_items`` per goal, older than
  ``max_age_s``, or the goal itself dropped for newer goals) and the client had not seen
  the newest evicted one: ``buffer too short``;
* the client's last sample is older than the first sample this tier ever saw on the
  topic (it started following the action mid-goal): ``buffer too short`` too, the one
  case where the missing samples may have belonged to other goals;
* otherwise none: samples of other goals fill the holes between this goal's keys.

Keys of one goal come from one server instance: one dense epoch, or sparse ``ts:``
epochs (``core.streamkeys``) that compare as timestamps. Time is an argument.
"""
from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Any

from .ringbuffer import BUFFER_TOO_SHORT
from .streamkeys import is_sparse

Key = tuple[str, int]
MAX_GOALS = 64  # goals of one action whose feedback is kept (the newest-active ones)
FORGOTTEN = 1024  # goal ids remembered as dropped, so a late re-attach hears of it


@dataclass(frozen=True)
class FeedbackGap:
    """Feedback of a goal after ``requested`` (None: from its start) that the tier no
    longer has; ``available`` is the first sample it replays, or None."""
    requested: Key | None
    available: Key | None
    reason: str = BUFFER_TOO_SHORT


def newer(key: Key, than: Key | None) -> bool:
    """``key`` comes after ``than`` (None: before everything). Keys of different dense
    epochs (another server instance) are not ordered: the other one counts as newer."""
    if than is None:
        return True
    if key[0] == than[0]:
        return key[1] > than[1]
    if is_sparse(key[0]) and is_sparse(than[0]):
        return (int(key[0][3:]), key[1]) > (int(than[0][3:]), than[1])
    return True


class _Goal:
    __slots__ = ('items', 'evicted')

    def __init__(self) -> None:
        self.items: deque[tuple[Key, float, Any]] = deque()
        self.evicted: Key | None = None  # the newest sample dropped from ``items``


class FeedbackLog:
    """Feedback samples of one action, per goal, bounded by count, age and goals."""

    def __init__(self, max_items: int, max_age_s: float, max_goals: int = MAX_GOALS) -> None:
        self._max_items, self._max_age_s, self._max_goals = max_items, max_age_s, max_goals
        self._goals: OrderedDict[str, _Goal] = OrderedDict()
        self._forgotten: OrderedDict[str, Key | None] = OrderedDict()
        self.first: Key | None = None  # the first sample this tier saw on the topic

    def add(self, goal_id: str, key: Key, now: float, item: Any) -> bool:
        """Keep ``item`` as goal ``goal_id``'s sample ``key`` received at ``now``; False
        (nothing kept) when it is not newer than the goal's newest."""
        if self.first is None:
            self.first = key
        goal = self._goals.get(goal_id)
        if goal is None:
            goal = self._goals[goal_id] = _Goal()
            goal.evicted = self._forgotten.pop(goal_id, None)
        elif goal.items and not newer(key, goal.items[-1][0]):
            return False
        goal.items.append((key, now, item))
        self._goals.move_to_end(goal_id)
        self._evict(goal, now)
        while len(self._goals) > self._max_goals:
            old_id, old = self._goals.popitem(last=False)
            self._forget(old_id, old.items[-1][0] if old.items else old.evicted)
        return True

    def since(self, goal_id: str, resume: Key | None,
              now: float) -> tuple[list[Any], FeedbackGap | None]:
        """Goal ``goal_id``'s samples after ``resume`` (the client's last, or None when
        it saw none), and the gap before them, if any."""
        goal = self._goals.get(goal_id)
        if goal is None:
            evicted = self._forgotten.get(goal_id)
            if evicted is not None and newer(evicted, resume):
                return [], FeedbackGap(resume, None)
            return [], self._late_start(resume, None)
        self._evict(goal, now)
        held = [(key, item) for key, _, item in goal.items if newer(key, resume)]
        available = held[0][0] if held else None
        items = [item for _, item in held]
        if goal.evicted is not None and newer(goal.evicted, resume):
            return items, FeedbackGap(resume, available)
        return items, self._late_start(resume, available)

    def _late_start(self, resume: Key | None, available: Key | None) -> FeedbackGap | None:
        first = self.first
        if resume is None or first is None or first[0] != resume[0]:
            return None
        if is_sparse(first[0]) and resume[1] < first[1] or \
                not is_sparse(first[0]) and resume[1] + 1 < first[1]:
            return FeedbackGap(resume, available)
        return None

    def _evict(self, goal: _Goal, now: float) -> None:
        horizon = now - self._max_age_s
        items = goal.items
        while items and (len(items) > self._max_items or items[0][1] < horizon):
            goal.evicted = items.popleft()[0]

    def _forget(self, goal_id: str, newest: Key | None) -> None:
        self._forgotten[goal_id] = newest
        while len(self._forgotten) > FORGOTTEN:
            self._forgotten.popitem(last=False)
