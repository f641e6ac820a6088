"""The client-side delivery filter: each sample at most once, in order, holes reported.

Samples are keyed by ``(epoch, seq)`` as assigned by the source publisher, so the same
sample arriving from two tiers (hot standby, make-before-break failback, a replay that
overlaps what was already delivered) has the same key and is delivered once.

A topic may have several publishers at once (``/emergency_stop``: the rover and a
judge's console), each with its own epoch, so every ``(topic, epoch)`` is an
independent **stream**. Per stream:

* the first sample is delivered silently (a new stream is not a gap; a restarted
  source is a new stream too);
* dense keys (``core.streamkeys``): ``seq <= last`` is dropped, ``last + 1`` is
  delivered, a larger seq is delivered and reported as a ``hole`` (``last + 1 .. seq -
  1`` are missing);
* sparse keys (source timestamps): a key already delivered, or older than the reorder
  window before the newest delivered one, is dropped; any other is delivered, and a
  hole is never reported (nothing between two timestamps can be judged missing).

Per topic the filter remembers the last seq of the ``max_epochs`` most recently used
streams (LRU); a stream evicted from that memory counts as new if it ever returns.
``position(topic)`` is the most recently delivered ``(epoch, seq)``, ``positions(topic)``
every remembered stream's last seq.

A discontinuity the tier already reported (``resume_gap``) can be excused so that the
application hears about it once.
"""
from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass

from .streamkeys import REORDER_WINDOW, is_sparse

HOLE = 'hole'
EPOCH_CHANGED = 'epoch changed'  # reported by tiers in resume_gap, never by this filter

Position = tuple[str, int]

_ANY = None  # the key of an excuse that covers the next discontinuity of any stream


@dataclass(frozen=True)
class Discontinuity:
    """Delivery of ``topic`` jumped from ``last`` to ``next`` (both ``(epoch, seq)``)."""

    topic: str
    reason: str
    last: Position
    next: Position


class _Recent:
    """The keys of a sparse stream delivered within the reorder window of its newest."""

    __slots__ = ('keys', 'order')

    def __init__(self) -> None:
        self.keys: set[int] = set()
        self.order: deque[int] = deque()  # arrival order: nearly key order

    def add(self, seq: int, newest: int) -> None:
        self.keys.add(seq)
        self.order.append(seq)
        while self.order and self.order[0] <= newest - REORDER_WINDOW:
            self.keys.discard(self.order.popleft())


class _TopicState:
    __slots__ = ('position', 'streams', 'recent', 'excuses')

    def __init__(self) -> None:
        self.position: Position | None = None
        self.streams: OrderedDict[str, int] = OrderedDict()  # epoch -> last seq, LRU last
        self.recent: dict[str, _Recent] = {}  # sparse epoch -> keys in the window
        self.excuses: dict[str | None, int | None] = {}  # epoch (or _ANY) -> up to seq


class DeliveryFilter:
    """Decides, per ``(topic, epoch)`` stream, whether a sample is delivered and whether
    it follows a hole."""

    def __init__(self, max_epochs: int = 32) -> None:
        if not isinstance(max_epochs, int) or max_epochs < 1:
            raise ValueError(
                f'DeliveryFilter max_epochs must be a positive integer, got {max_epochs!r}.')
        self._max_epochs = max_epochs
        self._topics: dict[str, _TopicState] = {}

    def position(self, topic: str) -> Position | None:
        """The most recently delivered ``(epoch, seq)`` of ``topic``, or None."""
        state = self._topics.get(topic)
        return None if state is None else state.position

    def positions(self, topic: str) -> dict[str, int]:
        """Every remembered stream of ``topic``: epoch -> last delivered seq."""
        state = self._topics.get(topic)
        return {} if state is None else dict(state.streams)

    def offer(self, topic: str, epoch: str, seq: int) -> tuple[bool, Discontinuity | None]:
        """When a sample arrives, say whether to deliver it and what was skipped before it.

        A delivered sample becomes its stream's last seq and the topic's position (for a
        sparse stream: the newest key delivered).
        """
        state = self._state(topic)
        last = state.streams.get(epoch)
        if is_sparse(epoch):
            recent = state.recent.setdefault(epoch, _Recent())
            if seq in recent.keys or (last is not None and seq <= last - REORDER_WINDOW):
                return False, None
            reason, seq_now = None, seq if last is None else max(last, seq)
            recent.add(seq, seq_now)
        else:
            if last is not None and seq <= last:
                return False, None
            reason = None if last is None or seq == last + 1 else HOLE
            seq_now = seq
        state.streams[epoch] = seq_now
        state.streams.move_to_end(epoch)
        while len(state.streams) > self._max_epochs:
            old, _ = state.streams.popitem(last=False)
            state.recent.pop(old, None)
        state.position = (epoch, seq_now)
        if self._use_excuse(state, epoch, seq):
            reason = None
        if reason is None:
            return True, None
        return True, Discontinuity(topic, reason, (epoch, last), (epoch, seq))

    def excuse(self, topic: str, up_to: Position | None) -> None:
        """When the tier already reported a gap, don't report the jump it explains.

        The next discontinuity of stream ``up_to[0]`` that lands at or before ``up_to``
        is delivered silently; the excuse ends with that stream's next delivery. With
        ``up_to`` None it covers the next discontinuity of any stream of the topic and
        ends with the topic's next delivery.
        """
        state = self._state(topic)
        if up_to is None:
            state.excuses[_ANY] = None
        else:
            state.excuses[up_to[0]] = up_to[1]
        while len(state.excuses) > self._max_epochs:
            del state.excuses[next(iter(state.excuses))]

    def forget(self, topic: str) -> None:
        """When the application unsubscribes, the topic starts afresh next time."""
        self._topics.pop(topic, None)

    def _state(self, topic: str) -> _TopicState:
        state = self._topics.get(topic)
        if state is None:
            state = self._topics[topic] = _TopicState()
        return state

    @staticmethod
    def _use_excuse(state: _TopicState, epoch: str, seq: int) -> bool:
        """Consume the excuses a delivery of ``(epoch, seq)`` ends; True if one covers it."""
        covered = False
        if epoch in state.excuses:
            up_to = state.excuses.pop(epoch)
            covered = up_to is not None and seq <= up_to
        if _ANY in state.excuses:
            del state.excuses[_ANY]
            covered = True
        return covered
