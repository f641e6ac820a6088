"""Exponential backoff with jitter: one policy for every retry in the project.

The supervisor's restarts, the coordinator's recovery attempts and the failover
client's reconnects all wait ``backoff(...)``; only their parameters differ.
"""
from __future__ import annotations


def backoff(attempt: int, base: float, cap: float, jitter_fraction: float,
            rand: float) -> float:
    """Seconds before retry ``attempt`` (0-based): ``base * 2**attempt`` capped at ``cap``,
    less up to ``jitter_fraction`` of it (``rand`` in [0, 1] picks how much)."""
    if isinstance(attempt, bool) or not isinstance(attempt, int) or attempt < 0:
        raise ValueError(f'backoff attempt must be a whole number >= 0, got {attempt!r}.')
    if not 0.0 <= jitter_fraction <= 1.0 or not 0.0 <= rand <= 1.0:
        raise ValueError(f'backoff jitter_fraction and rand must be within [0, 1], got '
                         f'{jitter_fraction!r} and {rand!r}.')
    step = min(cap, base * 2.0 ** min(attempt, 62))
    return step * (1.0 - jitter_fraction * rand)
