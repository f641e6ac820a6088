"""A deadline schedule for periodic topics, with time as an argument.

Each topic's next deadline advances by exactly its period (never "now + period"), so
late wake-ups do not accumulate drift and the average rate stays exact. When the
caller falls more than a period behind, the missed periods are skipped rather than
published in a burst, keeping the phase.
"""
from __future__ import annotations

import math
from collections.abc import Mapping


class Schedule:
    """Which periodic names are due at ``now``, and when the next one is."""

    def __init__(self, periods: Mapping[str, float], start: float) -> None:
        bad = [name for name, period in periods.items() if not period > 0]
        if bad:
            raise ValueError(f"periods must be positive seconds; check {', '.join(bad)}")
        self.periods = dict(periods)
        self._deadlines = dict.fromkeys(self.periods, start)

    def next_deadline(self) -> float:
        return min(self._deadlines.values())

    def due(self, now: float) -> list[str]:
        """Names whose deadline is at or before ``now``, earliest first; each at most once."""
        ready = sorted((d, name) for name, d in self._deadlines.items() if d <= now)
        for deadline, name in ready:
            period = self.periods[name]
            missed = math.floor((now - deadline) / period)
            self._deadlines[name] = deadline + (missed + 1) * period
        return [name for _, name in ready]
