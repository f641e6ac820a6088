"""Small statistics over measured samples: percentiles, sequence continuity, gaps."""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100) by linear interpolation; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(values: Sequence[float], digits: int = 1) -> dict:
    """n, p50, p95, p99 and max of ``values`` (None when empty), rounded."""
    def r(x):
        return None if x is None else round(x, digits)
    return {'n': len(values), 'p50': r(percentile(values, 50)), 'p95': r(percentile(values, 95)),
            'p99': r(percentile(values, 99)), 'max': r(max(values) if values else None)}


def continuity(keys: Iterable[tuple[str, int]]) -> tuple[int, int]:
    """(lost, duplicated) in delivered (epoch, seq) keys: a repeated key is a duplicate;
    a jump forward within one epoch loses the seqs skipped."""
    seen: set[tuple[str, int]] = set()
    last: dict[str, int] = {}
    lost = dup = 0
    for epoch, seq in keys:
        if (epoch, seq) in seen:
            dup += 1
            continue
        seen.add((epoch, seq))
        previous = last.get(epoch)
        if previous is not None and seq > previous + 1:
            lost += seq - previous - 1
        last[epoch] = max(seq, previous or seq)
    return lost, dup


def largest_gap(times: Sequence[float], start: float, end: float) -> float:
    """The largest interval between consecutive arrival times that overlaps
    [start, end] (seconds; 0 with fewer than two arrivals)."""
    best = 0.0
    for a, b in zip(times, times[1:], strict=False):
        if b >= start and a <= end:
            best = max(best, b - a)
    return best


def ratio(a: float | None, b: float | None, digits: int = 3) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return round(a / b, digits)
