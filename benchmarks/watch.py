"""Long-run observation for ``soak`` and ``stress``: the system's processes by name,
periodic RSS samples, the coordinator's status events, and client tier changes.

``StatusWatcher`` polls ``GET /status`` (the first tier that answers) every
``interval`` seconds and keeps every event once (the document holds only the last 50;
an event's ``at`` may differ by a millisecond between documents, so one seen within
``SAME_EVENT_S`` of the same tier, kind and detail is the same event).
``RssSampler`` samples the RSS of every named process (``up``, each tier, the
coordinator, the source, each client) every ``interval`` seconds; a process that was
restarted shows as a new pid under the same name. Both are daemon threads stopped with
``stop()``.
"""
from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable

from .procs import http_json, rss_bytes

SAME_EVENT_S = 0.05
CHANGE = re.compile(r'tier changed: (\S+) -> (\S+) \((.*)\)$')


def up_children(up_pid: int) -> dict[str, int]:
    """The live children of ``up``, by piece name (tier name or ``coordinator``)."""
    out: dict[str, int] = {}
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open(f'/proc/{entry}/stat', encoding='ascii', errors='replace') as handle:
                ppid = int(handle.read().rsplit(')', 1)[1].split()[1])
            if ppid != up_pid:
                continue
            with open(f'/proc/{entry}/cmdline', 'rb') as handle:
                argv = handle.read().decode(errors='replace').split('\0')
        except (OSError, ValueError, IndexError):
            continue
        if 'coordinator' in argv:
            out['coordinator'] = int(entry)
        elif 'tier' in argv and argv.index('tier') + 1 < len(argv):
            out[argv[argv.index('tier') + 1]] = int(entry)
    return out


class _Loop(threading.Thread):
    def __init__(self, interval: float) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                self.tick()
            except Exception:  # an observer must never end the run; the next tick retries
                pass
            self._halt.wait(self.interval)

    def tick(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        self._halt.set()
        if self.is_alive():
            self.join(5)


class StatusWatcher(_Loop):
    def __init__(self, ports: list[int], interval: float = 0.5) -> None:
        super().__init__(interval)
        self.ports = list(ports)
        self.events: list[dict] = []
        self.doc: dict = {}
        self._seen: dict[tuple, list[float]] = {}
        self._lock = threading.Lock()
        self.tick()

    def tick(self) -> None:
        for port in self.ports:
            status, doc = http_json(port, '/status', timeout=1.0)
            if status == 200 and isinstance(doc, dict):
                break
        else:
            return
        with self._lock:
            self.doc = doc
            for e in doc.get('events') or []:
                # The same event's wall time moves by a millisecond from one document to
                # the next (converted from monotonic time when each is built).
                key, at = (e.get('tier'), e.get('kind'), e.get('detail')), e.get('at') or 0
                seen = self._seen.setdefault(key, [])
                if not any(abs(at - other) < SAME_EVENT_S for other in seen):
                    seen.append(at)
                    self.events.append(dict(e))

    def snapshot(self) -> tuple[dict, list[dict]]:
        with self._lock:
            return dict(self.doc), list(self.events)

    def all_up(self) -> bool:
        doc, _ = self.snapshot()
        rows = doc.get('tiers') or []
        return bool(rows) and all(r.get('health') == 'UP' for r in rows)

    def count(self, needle: str, since_wall: float = 0.0, until_wall: float = 1e18) -> int:
        """Health events whose detail contains ``needle`` (e.g. ``-> DOWN``) in a window."""
        _, events = self.snapshot()
        return sum(1 for e in events if e.get('kind') == 'health'
                   and needle in str(e.get('detail')) and since_wall <= e.get('at', 0) <= until_wall)


class RssSampler(_Loop):
    """``samples``: (seconds since start, name, pid, RSS MB)."""

    def __init__(self, pids: Callable[[], dict[str, int]], interval: float) -> None:
        super().__init__(interval)
        self.pids, self.started = pids, time.monotonic()
        self.samples: list[tuple[float, str, int, float]] = []

    def tick(self) -> None:
        at = round(time.monotonic() - self.started, 2)
        for name, pid in sorted(self.pids().items()):
            try:
                self.samples.append((at, name, pid, round(rss_bytes(pid) / 2**20, 2)))
            except OSError:  # it exited between the listing and the read
                pass


def memory_report(samples: list[tuple[float, str, int, float]],
                  warm_s: float = 0.0) -> dict[str, dict]:
    """Per process name: first and last RSS, incarnations (pids), and the growth slope in
    MB/hour by least squares pooled within each incarnation (a restart starts afresh, it
    is not growth), leaving out each incarnation's first ``warm_s`` seconds sampled."""
    out: dict[str, dict] = {}
    for name in sorted({s[1] for s in samples}):
        rows = [s for s in samples if s[1] == name]
        by_pid: dict[int, list[tuple[float, float]]] = {}
        for at, _, pid, mb in rows:
            by_pid.setdefault(pid, []).append((at, mb))
        num = den = 0.0
        for points in by_pid.values():
            points = [pt for pt in points if pt[0] >= points[0][0] + warm_s]
            if len(points) < 2:
                continue
            mt = sum(t for t, _ in points) / len(points)
            mr = sum(r for _, r in points) / len(points)
            num += sum((t - mt) * (r - mr) for t, r in points)
            den += sum((t - mt) ** 2 for t, _ in points)
        longest = max(by_pid.values(), key=lambda p: p[-1][0] - p[0][0])
        out[name] = {'start_mb': rows[0][3], 'end_mb': rows[-1][3],
                     'incarnations': len(by_pid),
                     'longest_s': round(longest[-1][0] - longest[0][0], 1),
                     'longest_start_mb': longest[0][1], 'longest_end_mb': longest[-1][1],
                     'slope_mb_per_h': round(3600 * num / den, 2) if den else None}
    return out


def tier_changes(events: list[tuple[float, str, str]], name: Callable[[str], str]) -> list[dict]:
    """A client's tier changes after its first connection: at (monotonic), from, to,
    reason (from the ``E ... tier_changed`` lines of ``benchmarks.latclient``)."""
    out = []
    for at, kind, text in events:
        match = CHANGE.search(text) if kind == 'tier_changed' else None
        if match and match.group(1) != '-':
            out.append({'at': at, 'from': name(match.group(1)), 'to': name(match.group(2)),
                        'reason': match.group(3)})
    return out
