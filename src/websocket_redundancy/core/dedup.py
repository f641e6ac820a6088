"""The client-side delivery filter: each sample at most once, in order, holes reported.

Samples are keyed by ``(epoch, seq)`` as assigned by the source publisher, so the same
sample arriving from two tiers (hot standby, make-before-break failback, a replay that
overlaps what was already delivered) has the same key and is delivered once.

Per topic:

* the first sample is delivered;
* same epoch: ``seq <= last`` is dropped, ``last + 1`` is delivered, a larger seq is
  delivered and reported as a ``hole`` (``last + 1 .. seq - 1`` are missing);
* a new epoch (the source restarted) is delivered and reported as ``epoch changed``;
  an epoch left behind is never accepted again, so a lagging tier still sending the
  old epoch cannot interleave it.

A discontinuity the tier already reported (``resume_gap``) can be excused so that the
application hears about it once.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

HOLE = 'hole'
EPOCH_CHANGED = 'epoch changed'

Position = tuple[str, int]


@dataclass(frozen=True)
class Discontinuity:
    """Delivery of ``topic`` jumped from ``last`` to ``next`` (both ``(epoch, seq)``)."""

    topic: str
    reason: str
    last: Position
    next: Position


class _TopicState:
    __slots__ = ('position', 'retired', 'excused', 'excuse_up_to')

    def __init__(self, retired_kept: int) -> None:
        self.position: Position | None = None
        self.retired: deque[str] = deque(maxlen=retired_kept)
        self.excused = False
        self.excuse_up_to: Position | None = None


class DeliveryFilter:
    """Decides, per topic, whether a sample is delivered and whether it follows a hole."""

    def __init__(self, retired_epochs_kept: int = 16) -> None:
        if retired_epochs_kept < 1:
            raise ValueError(
                'DeliveryFilter retired_epochs_kept must be at least 1, '
                f'got {retired_epochs_kept!r}.')
        self._retired_kept = retired_epochs_kept
        self._topics: dict[str, _TopicState] = {}

    def position(self, topic: str) -> Position | None:
        """The last delivered ``(epoch, seq)`` of ``topic``, or None."""
        state = self._topics.get(topic)
        return None if state is None else state.position

    def offer(self, topic: str, epoch: str, seq: int) -> tuple[bool, Discontinuity | None]:
        """When a sample arrives, say whether to deliver it and what was skipped before it.

        A delivered sample becomes the topic's position.
        """
        state = self._topics.get(topic)
        if state is None:
            state = self._topics[topic] = _TopicState(self._retired_kept)
        last = state.position
        if last is None:
            state.position = (epoch, seq)
            state.excused = False
            return True, None
        if epoch == last[0]:
            if seq <= last[1]:
                return False, None
            reason = None if seq == last[1] + 1 else HOLE
        elif epoch in state.retired:
            return False, None
        else:
            state.retired.append(last[0])
            reason = EPOCH_CHANGED
        state.position = (epoch, seq)
        if reason is not None and self._is_excused(state, epoch, seq):
            reason = None
        state.excused = False
        return True, None if reason is None else Discontinuity(topic, reason, last, (epoch, seq))

    def excuse(self, topic: str, up_to: Position | None) -> None:
        """When the tier already reported a gap, don't report the jump it explains.

        The next discontinuity of ``topic`` that lands at or before ``up_to`` (any, if
        ``up_to`` is None) is delivered silently; the excuse ends with the next delivery.
        """
        state = self._topics.get(topic)
        if state is None:
            state = self._topics[topic] = _TopicState(self._retired_kept)
        state.excused = True
        state.excuse_up_to = up_to

    def forget(self, topic: str) -> None:
        """When the application unsubscribes, the topic starts afresh next time."""
        self._topics.pop(topic, None)

    @staticmethod
    def _is_excused(state: _TopicState, epoch: str, seq: int) -> bool:
        if not state.excused:
            return False
        up_to = state.excuse_up_to
        return up_to is None or (epoch == up_to[0] and seq <= up_to[1])
