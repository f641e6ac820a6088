"""How the keys of a stream read: dense or sparse.

Every sample carries ``(epoch, seq)``, assigned once at the source so that all tiers
agree on it. A stream (one ``(topic, epoch)``) says by its epoch which kind its keys are:

* **dense** (any other epoch): a per-publisher counter (the embedded graph; an RMW with
  publication sequence numbers). ``seq == last + 1`` follows on; a larger seq is a hole.
* **sparse** (an epoch that starts with ``ts:``): the writer's source timestamp in ns
  (Cyclone DDS, Humble), shared by every publisher of the topic. Keys only increase per
  publisher; between two keys nothing can be judged, so a hole is never reported, and
  two publishers' samples may arrive slightly out of key order. A client keeps the keys
  it delivered within ``REORDER_WINDOW`` of its newest one and drops only those; a
  tier's replay starts that far before the client's newest key, so a late sample of the
  other publisher is not skipped.

So that keys stay exact in JavaScript (whose numbers hold integers up to 2**53), a
timestamp is split: the epoch holds ``ns >> 53`` (it changes every 104 days) and the
seq the low 53 bits.
"""
from __future__ import annotations

SPARSE_PREFIX = 'ts:'
REORDER_WINDOW = 1_000_000_000  # ns: how far out of key order a sparse stream may arrive
_LOW_BITS = 53


def is_sparse(epoch: str) -> bool:
    """True when ``epoch`` names a stream keyed by source timestamps."""
    return epoch.startswith(SPARSE_PREFIX)


def sparse_key(source_ns: int) -> tuple[str, int]:
    """The ``(epoch, seq)`` of a sample written at ``source_ns`` (ns since the epoch)."""
    return f'{SPARSE_PREFIX}{source_ns >> _LOW_BITS}', source_ns & ((1 << _LOW_BITS) - 1)


def replay_floor(epoch: str, seq: int) -> int:
    """A resuming client's last delivered ``seq`` of ``epoch`` -> the tier replays keys
    above this (the reorder window before it, for a sparse stream)."""
    return max(0, seq - REORDER_WINDOW) if is_sparse(epoch) else seq
