"""The tier-side replay buffer for one topic: the frames a resuming client may ask for.

A tier keeps the serialised ``publish`` frames of the current source epoch, bounded by
count and by age, so that a client that failed over from another tier can say "I have
everything up to (epoch, seq)" and get the rest before the live stream continues.

Semantics of :meth:`ReplayBuffer.since` (``requested`` is the client's last sample):

* same epoch, and ``seq + 1`` is still held: the frames after ``seq``, no gap;
* same epoch, and the client is at or ahead of the newest sample: nothing, no gap;
* same epoch, but ``seq + 1`` was evicted: every held frame, gap ``buffer too short``;
* another epoch (the source restarted): the current epoch's frames, gap
  ``epoch changed``;
* nothing ever appended: nothing, no gap (the tier cannot judge yet; the client's
  delivery filter reports a discontinuity when live frames arrive).

``available`` in a gap is the oldest sample that will be replayed, or ``None`` if the
buffer holds nothing. Time is an argument; nothing here reads a clock.
"""
from __future__ import annotations

from bisect import bisect_right
from collections import deque
from dataclasses import dataclass

EPOCH_CHANGED = 'epoch changed'
BUFFER_TOO_SHORT = 'buffer too short'
OUT_OF_SCOPE = 'out of scope'


@dataclass(frozen=True)
class Gap:
    """Samples after ``requested`` that a replay cannot provide.

    ``requested`` and ``available`` are ``(epoch, seq)`` pairs; ``available`` is the
    first sample the replay does provide, or ``None`` when it provides none.
    """

    requested: tuple[str, int]
    available: tuple[str, int] | None
    reason: str

    def to_wire(self, topic: str, sub_id: str | None) -> dict:
        """When a tier reports the gap, this is the ``resume_gap`` frame it sends."""
        return {
            'op': 'resume_gap',
            'topic': topic,
            'id': sub_id,
            'requested': {'epoch': self.requested[0], 'seq': self.requested[1]},
            'available': (
                None if self.available is None
                else {'epoch': self.available[0], 'seq': self.available[1]}
            ),
            'reason': self.reason,
        }


class ReplayBuffer:
    """Frames of one topic, newest source epoch only, evicted by count and by age.

    When a frame of a new epoch is appended, the frames of the old epoch are dropped
    (the source restarted; its old samples cannot be continued). When a frame's seq
    is not newer than the newest held of the same epoch, it is ignored.
    """

    def __init__(self, max_items: int, max_age_s: float) -> None:
        if not isinstance(max_items, int) or max_items < 1:
            raise ValueError(
                f'ReplayBuffer max_items must be a positive integer, got {max_items!r}.')
        if not max_age_s > 0:
            raise ValueError(
                f'ReplayBuffer max_age_s must be a positive number of seconds, '
                f'got {max_age_s!r}.')
        self._max_age_s = float(max_age_s)
        self._items: deque[tuple[int, float, bytes]] = deque(maxlen=max_items)
        self._epoch: str | None = None
        self._last_seq = 0

    @property
    def latest(self) -> tuple[str, int] | None:
        """The newest ``(epoch, seq)`` ever appended (even if since evicted), or None."""
        return None if self._epoch is None else (self._epoch, self._last_seq)

    def __len__(self) -> int:
        return len(self._items)

    def append(self, epoch: str, seq: int, now: float, frame: bytes) -> bool:
        """Hold ``frame`` as sample ``(epoch, seq)`` received at ``now``.

        Returns False (and holds nothing) when the sample is not newer than the newest
        one of the same epoch.
        """
        if epoch != self._epoch:
            self._items.clear()
            self._epoch = epoch
            self._last_seq = 0
        elif seq <= self._last_seq:
            return False
        self._items.append((seq, now, frame))
        self._last_seq = seq
        self._evict(now)
        return True

    def since(self, epoch: str, seq: int, now: float) -> tuple[list[bytes], Gap | None]:
        """The frames after sample ``(epoch, seq)`` and the gap, if any, before them."""
        self._evict(now)
        if self._epoch is None:
            return [], None
        held = [frame for _, _, frame in self._items]
        oldest = (self._epoch, self._items[0][0]) if self._items else None
        if epoch != self._epoch:
            return held, Gap((epoch, seq), oldest, EPOCH_CHANGED)
        if seq >= self._last_seq:
            return [], None
        if oldest is not None and oldest[1] <= seq + 1:
            start = bisect_right(self._items, seq, key=lambda item: item[0])
            return held[start:], None
        return held, Gap((epoch, seq), oldest, BUFFER_TOO_SHORT)

    def _evict(self, now: float) -> None:
        horizon = now - self._max_age_s
        items = self._items
        while items and items[0][1] < horizon:
            items.popleft()
