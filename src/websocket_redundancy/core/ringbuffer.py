r"""The tier-side replay buffer for one topic: the frames a resuming client may ask for.

A tier keeps the ``publish`` frames of a topic (in the tier, ``LazyFrame``\s: encoded
only if a replay or a live client needs them; here any object), bounded by count and by
age, so that a client that failed over from another tier can say "I have everything
up to (epoch, seq)" and get the rest before the live stream continues.

A topic may have several publishers at once (``/emergency_stop``: the rover and a
judge's console), each with its own epoch, so every epoch is its own stream: frames
are held in arrival order whatever their epoch, and a client's position is one seq
per epoch it has seen (``streams``), plus the most recent ``(epoch, seq)``.

Semantics of :meth:`ReplayBuffer.since`:

* every held frame the client has not seen is replayed: frames of an epoch it knows
  after its seq, and frames of epochs it has never seen; for a sparse stream
  (``core.streamkeys``) from the reorder window before its seq on (the client drops
  what it already has), so a late sample of another publisher is not skipped;
* a stream whose next sample was already evicted: gap ``buffer too short``; for a
  sparse stream also when the buffer begins after the client's seq (keys that are
  timestamps cannot tell whether anything came in between);
* the client's most recent epoch is unknown here (the source restarted, or this tier
  never received it): gap ``epoch changed``;
* nothing ever appended: nothing, no gap (the tier cannot judge yet).

``available`` in a gap is the oldest sample that will be replayed for that stream (or
overall, for ``epoch changed``), or ``None``. Time is an argument; nothing here reads
a clock.
"""
from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from .streamkeys import REORDER_WINDOW, is_sparse, replay_floor

EPOCH_CHANGED = 'epoch changed'
BUFFER_TOO_SHORT = 'buffer too short'
OUT_OF_SCOPE = 'out of scope'
EPOCHS_REMEMBERED = 64
Frame = TypeVar('Frame')


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


class ReplayBuffer(Generic[Frame]):
    """Frames of one topic from any number of source epochs, evicted by count and age.

    A frame whose seq is not newer than the newest held of the same epoch is ignored
    (sparse: one already held, or older than the reorder window before the newest).
    """

    def __init__(self, max_items: int, max_age_s: float) -> None:
        if not isinstance(max_items, int) or max_items < 1:
            raise ValueError(
                f'ReplayBuffer max_items must be a positive integer, got {max_items!r}.')
        if not max_age_s > 0:
            raise ValueError(
                f'ReplayBuffer max_age_s must be a positive number of seconds, '
                f'got {max_age_s!r}.')
        self._max_items = max_items
        self._max_age_s = float(max_age_s)
        self._items: deque[tuple[str, int, float, Frame]] = deque()
        self._last: OrderedDict[str, int] = OrderedDict()  # epoch -> newest seq appended
        self._evicted: dict[str, int] = {}  # epoch -> newest seq evicted
        self._first: dict[str, int] = {}  # sparse epoch -> first seq ever appended
        self._held: set[tuple[str, int]] = set()  # sparse keys held
        self._latest: tuple[str, int] | None = None

    @property
    def latest(self) -> tuple[str, int] | None:
        """The newest ``(epoch, seq)`` ever appended (even if since evicted), or None."""
        return self._latest

    def __len__(self) -> int:
        return len(self._items)

    def append(self, epoch: str, seq: int, now: float, frame: Frame) -> bool:
        """Hold ``frame`` as sample ``(epoch, seq)`` received at ``now``.

        Returns False (and holds nothing) when the sample is not newer than the newest
        one of the same epoch.
        """
        newest = self._last.get(epoch, 0)
        if is_sparse(epoch):
            if (epoch, seq) in self._held or seq <= newest - REORDER_WINDOW:
                return False
            self._held.add((epoch, seq))
            self._first.setdefault(epoch, seq)
        elif seq <= newest:
            return False
        self._items.append((epoch, seq, now, frame))
        self._last[epoch] = max(seq, newest)
        self._last.move_to_end(epoch)
        self._latest = (epoch, self._last[epoch])
        self._evict(now)
        while len(self._last) > EPOCHS_REMEMBERED:
            old, _ = self._last.popitem(last=False)
            self._evicted.pop(old, None)
            self._first.pop(old, None)
        return True

    def newest(self) -> dict[str, Frame]:
        """The newest frame held of each epoch (oldest epoch first)."""
        found: dict[str, tuple[int, Frame]] = {}
        for epoch, seq, _, frame in self._items:
            if seq >= found.get(epoch, (-1, None))[0]:
                found[epoch] = (seq, frame)
        return {epoch: frame for epoch, (_, frame) in found.items()}

    def since(self, epoch: str, seq: int, now: float,
              streams: Mapping[str, int] | None = None) -> tuple[list[Frame], Gap | None]:
        """The frames a client at ``(epoch, seq)`` (and ``streams``) has not seen, and
        the first gap, if any, before them."""
        self._evict(now)
        if self._latest is None:
            return [], None
        seen = dict(streams or {})
        seen[epoch] = max(seq, seen.get(epoch, 0))
        floor = {e: replay_floor(e, s) for e, s in seen.items()}
        frames = [f for e, s, _, f in self._items if s > floor.get(e, 0)]
        if epoch not in self._last:
            oldest = next(((e, s) for e, s, _, _ in self._items if s > seen.get(e, 0)), None)
            return frames, Gap((epoch, seq), oldest, EPOCH_CHANGED)
        for e, s in seen.items():
            if self._evicted.get(e, 0) > s or s < self._first.get(e, s):
                first = next(((e, q) for x, q, _, _ in self._items if x == e), None)
                return frames, Gap((e, s), first, BUFFER_TOO_SHORT)
        return frames, None

    def _evict(self, now: float) -> None:
        horizon = now - self._max_age_s
        items = self._items
        while items and (len(items) > self._max_items or items[0][2] < horizon):
            epoch, seq, _, _ = items.popleft()
            self._evicted[epoch] = max(seq, self._evicted.get(epoch, 0))
            self._held.discard((epoch, seq))
