"""The failover client: one machine, ``handle(event, now) -> list[Command]``.

After every event (a routine frame aside: ``_routine``) the machine reconciles what it
has with what it wants:

* an **active** tier carrying the app's topics: when it closes or misses heartbeats for
  ``heartbeat_timeout_s``, the best open connection (the warm standby) takes over at
  once and is subscribed, with ``resume`` from the last delivered ``(epoch, seq)``, to
  every app topic its scope allows; the rest are reported ``scope_degraded``;
* a **warm standby**: the best-ranked eligible endpoint of the active one's class or
  worse (a sibling replica first, then a lower tier), open and subscribed to the
  heartbeat only (and to the app topics in hot-standby mode);
* a **failback candidate**: the best-ranked eligible endpoint of a better class
  (``ranking.class_key``) than the active one (never a sibling replica that is merely
  less loaded). Once it
  has been healthy (connection alive and, if the directory knows it, UP) for
  ``failback_hold_s`` it is subscribed with ``resume``; samples come from whichever
  tier is ahead; when it has caught up on every topic it becomes active and the lower
  tier goes back to standby (or is closed).

A tier that fails (close, 1013 refusal, hang, connect timeout) is not retried before
its own jittered backoff. Only when no tier is open and every one is in backoff does
the machine report ``all_down`` and wait one cycle backoff before trying them all again.
The delivery filter drops every sample already delivered, so a switch never repeats.

Replicas share out new connections: ``Start`` may ask the machine to wait up to
``directory_wait_s`` for a ``Directory`` before it picks the first endpoint, and ties
between replicas are broken by this client's own random ``seed`` (``ranking``).
"""
from __future__ import annotations

import random
from collections.abc import Callable

from . import failover_types as t
from .failover_conn import ACTIVE, CANDIDATE, PENDING, SET_LEVEL, STANDBY, Conn, heartbeat_frame
from .failover_goals import Goals
from .failover_traffic import Traffic
from .failover_types import FailoverSettings
from .ranking import TierInfo, backoff_delay, bootstrap_tiers, class_key, rank, tiebreaker

HANG_CODE = 4000


class FailoverMachine:
    """The sans-IO failover client. ``jitter()`` returns a number in [0, 1]."""

    def __init__(self, settings: FailoverSettings | None = None,
                 jitter: Callable[[], float] = random.random,
                 seed: float | None = None) -> None:
        self.settings = settings or FailoverSettings()
        self._jitter = jitter
        self._tiebreak = tiebreaker(random.random() if seed is None else seed)
        self._wait_until: float | None = None  # for the first directory
        self._tiers: dict[str, TierInfo] = {}
        self._up_since: dict[str, float] = {}
        self._conns: dict[str, Conn] = {}
        self._active: str | None = None
        self._last_label: str | None = None
        self._switch_reason = 'start'
        self._traffic = Traffic(self._tier)
        self._goals = Goals(self._tier)  # action goals, re-attached after a failover
        self._fails: dict[str, int] = {}
        self._failed_until: dict[str, float] = {}
        self._cycle = 0
        self._retry_at: float | None = None
        self._started = False
        self._now = 0.0
        self._due: float | None = None  # next_deadline() after the last reconciliation

    # ---- public -----------------------------------------------------------------------

    @property
    def active(self) -> str | None:
        """The URL of the tier that currently carries the app's topics."""
        return self._active

    def roles(self) -> dict[str, str]:
        """Every connection's URL and role (for status displays and tests)."""
        return {url: conn.role for url, conn in self._conns.items()}

    def handle(self, event: object, now: float) -> list[object]:
        """Apply ``event`` at monotonic time ``now``; return the commands, in order."""
        self._now = now
        handler = self._HANDLERS.get(type(event))
        if handler is None:
            raise TypeError(f'FailoverMachine cannot handle {type(event).__name__}; '
                            'send one of the events in core.failover_types.')
        out = handler(self, event)
        if not self._routine(event, now):
            out += self._reconcile(now)
            self._due = self.next_deadline()
        return out

    def _routine(self, event: object, now: float) -> bool:
        """A frame from the active tier, while no failback is under way and before
        anything is due (the deadline after the last reconciliation: a frame only moves
        deadlines later), changes nothing the reconciliation looks at; skipping it keeps
        the client's per-message cost flat."""
        if type(event) is not t.Frame or (self._due is not None and now >= self._due):
            return False
        conn = self._conns.get(event.url)
        return conn is not None and conn.role == ACTIVE and not self._has_role(CANDIDATE)

    def next_deadline(self) -> float | None:
        """When the shell should deliver ``Tick`` next, or None if nothing is pending."""
        if not self._started:
            return None
        s = self.settings
        times = []
        for conn in self._conns.values():
            if not conn.is_open:
                times.append(conn.started + s.connect_timeout_s)
                continue
            times.append(conn.last_seen + s.heartbeat_timeout_s)
            if conn.role == CANDIDATE:
                if conn.syncing_since is not None:
                    times.append(conn.syncing_since + s.catchup_timeout_s)
                elif (start := self._hold_start(conn)) is not None:
                    times.append(start + s.failback_hold_s)
        if self._wait_until is not None:
            times.append(self._wait_until)
        if self._retry_at is not None:
            times.append(self._retry_at)
        else:
            times += [u for u in self._failed_until.values() if u > self._now]
        return min(times) if times else None

    # ---- events -----------------------------------------------------------------------

    def _on_start(self, ev: t.Start) -> list:
        urls = (ev.urls,) if isinstance(ev.urls, str) else tuple(ev.urls)
        if not urls:
            raise ValueError('Start needs at least one tier URL, e.g. ws://host:8080.')
        for info in bootstrap_tiers(urls):
            self._tiers.setdefault(info.url, info)
        self._started = True
        if ev.directory_wait_s > 0:
            self._wait_until = self._now + ev.directory_wait_s
        return []

    def _on_directory(self, ev: t.Directory) -> list:
        self._wait_until = None
        for info in ev.tiers:
            self._tiers[info.url] = info
            if info.health == 'UP':
                self._up_since.setdefault(info.url, self._now)
            else:
                self._up_since.pop(info.url, None)
        return []

    def _on_opened(self, ev: t.Opened) -> list:
        conn = self._conns.get(ev.url)
        if conn is None or conn.is_open:
            return []
        conn.is_open = True
        conn.opened_at = conn.last_seen = conn.probation_from = self._now
        out = [t.Send(ev.url, dict(SET_LEVEL)),
               t.Send(ev.url, heartbeat_frame(self.settings.heartbeat_topic))]
        if conn.role == STANDBY and self.settings.hot_standby:
            out += self._traffic.subscribe_all(conn)
        return out

    def _on_closed(self, ev: t.Closed) -> list:
        conn = self._conns.pop(ev.url, None)
        if conn is None:
            return []
        return self._lost(conn, f'closed {ev.code}' + (f' ({ev.reason})' if ev.reason else ''))

    def _on_tick(self, ev: t.Tick) -> list:
        return []

    def _on_frame(self, ev: t.Frame) -> list:
        conn = self._conns.get(ev.url)
        if conn is None or not conn.is_open:
            return []
        conn.last_seen = self._now
        op = ev.data.get('op')
        if isinstance(op, str) and op.startswith('action_'):
            return self._goals.frame(conn, ev.data)
        return self._traffic.frame(conn, ev.data)

    def _on_subscribe(self, ev: t.Subscribe) -> list:
        carriers = [conn for conn in self._conns.values() if self._carries_app(conn)]
        return self._traffic.subscribe(ev, carriers, self._active_conn())

    def _on_unsubscribe(self, ev: t.Unsubscribe) -> list:
        return self._traffic.unsubscribe(ev, self._conns.values())

    def _on_publish_request(self, ev: t.Publish) -> list:
        return self._traffic.publish(ev, self._active_conn())

    def _on_call(self, ev: t.CallService) -> list:
        return self._traffic.call(ev, self._active_conn())

    def _on_send_goal(self, ev: t.SendGoal) -> list:
        return self._goals.send(ev, self._active_conn())

    def _on_cancel_goal(self, ev: t.CancelGoal) -> list:
        return self._goals.cancel(ev)

    _HANDLERS: dict = {
        t.Start: _on_start, t.Directory: _on_directory, t.Opened: _on_opened,
        t.Closed: _on_closed, t.Frame: _on_frame, t.Tick: _on_tick,
        t.Subscribe: _on_subscribe, t.Unsubscribe: _on_unsubscribe,
        t.Publish: _on_publish_request, t.CallService: _on_call,
        t.SendGoal: _on_send_goal, t.CancelGoal: _on_cancel_goal,
    }

    # ---- reconciliation ---------------------------------------------------------------

    def _reconcile(self, now: float) -> list:
        out = self._expire(now)
        if not self._started:
            return out
        if self._retry_at is not None:
            if now < self._retry_at:
                return out
            self._retry_at = None
            self._failed_until.clear()
        if self._wait_until is not None:
            if now < self._wait_until and self._active is None and not self._conns:
                return out  # a directory is on its way: spread by load, not bootstrap order
            self._wait_until = None
        subs = self._traffic.subs
        ranked = [info.url for info in rank(self._tiers.values(), subs, self._tiebreak)]
        if self._active is None:
            out += self._choose_active(ranked)
        if self._active is None:
            return out
        here = ranked.index(self._active)
        mine = class_key(self._tiers[self._active], subs)
        better = [u for u in ranked[:here] if class_key(self._tiers[u], subs) < mine]
        if not self._has_role(CANDIDATE):
            for url in better:
                conn = self._conns.get(url)
                if conn is not None and conn.role == STANDBY:
                    conn.role = CANDIDATE  # the ranking moved it above the active tier
                    conn.probation_from = now
                    break
                if conn is None and self._eligible(url):
                    out += self._open(url, CANDIDATE)
                    break
        if self.settings.warm_standby:
            out += self._keep_standby(ranked, better, subs)
        for conn in list(self._conns.values()):
            if conn.is_open and now - conn.opened_at >= self.settings.failback_hold_s:
                self._fails.pop(conn.url, None)
            if conn.role == CANDIDATE and conn.is_open:
                out += self._advance_candidate(conn, now)
        return out + self._goals.attach(self._active_conn())

    def _keep_standby(self, ranked: list[str], better: list[str], subs) -> list:
        """The warm standby is the next endpoint of the active one's class or worse (a
        sibling replica first), else any left over; a standby of a worse class than an
        eligible one (a sibling back from a failure) is replaced by it."""
        rest = [u for u in ranked if u != self._active and u not in better]
        url = self._first_eligible(rest)
        standby = next((c for c in self._conns.values() if c.role == STANDBY), None)
        if standby is None:
            url = url or self._first_eligible(better)
            return self._open(url, STANDBY) if url is not None else []
        if url is None or standby.url not in self._tiers or ranked.index(url) > ranked.index(
                standby.url) or class_key(self._tiers[url], subs) >= class_key(
                self._tiers[standby.url], subs):
            return []
        return (self._close(standby, 1000, 'a better standby is back')
                + self._open(url, STANDBY))

    def _choose_active(self, ranked: list[str]) -> list:
        for url in ranked:
            conn = self._conns.get(url)
            if conn is not None and conn.is_open:
                return self._activate(conn, self._switch_reason)
        if self._conns:
            return []  # something is opening; the first to open becomes active
        url = self._first_eligible(ranked)
        if url is not None:
            return self._open(url, PENDING)
        delay = backoff_delay(self._cycle, self._jitter(), self.settings.backoff_base_s,
                              self.settings.backoff_cap_s)
        self._cycle += 1
        self._retry_at = self._now + delay
        return [t.Notify(t.ALL_DOWN, t.AllDown(self._cycle, delay))]

    def _activate(self, conn: Conn, reason: str) -> list:
        conn.role, conn.syncing_since = ACTIVE, None
        self._active, self._cycle = conn.url, 0
        label = self._label(conn)
        out = [t.Notify(t.TIER_CHANGED, t.TierChange(self._last_label, label, reason))]
        self._last_label = label
        out += self._traffic.subscribe_all(conn)
        out += self._traffic.rescope(conn)
        return out

    def _advance_candidate(self, conn: Conn, now: float) -> list:
        s = self.settings
        start = self._hold_start(conn)
        if conn.syncing_since is None:
            if start is None or now < start + s.failback_hold_s:
                return []
            conn.syncing_since = now
            return self._traffic.subscribe_all(conn)
        if start is None:  # the directory no longer calls it UP: back to probation
            conn.syncing_since = None
            return self._traffic.drop_app_topics(conn)
        if self._traffic.caught_up(conn) or now >= conn.syncing_since + s.catchup_timeout_s:
            return self._fail_back(conn)
        return []

    def _fail_back(self, conn: Conn) -> list:
        old = self._conns[self._active]
        standby = next((c for c in self._conns.values() if c.role == STANDBY), None)
        out = self._activate(conn, 'failback')
        keep, drop = old, standby
        if standby is not None and self._better(standby, old):
            keep, drop = standby, old
        for gone in (drop,) if self.settings.warm_standby else (drop, keep):
            if gone is not None:
                out += self._close(gone, 1000, 'no longer needed')
        if self.settings.warm_standby:
            keep.role = STANDBY
            if not self.settings.hot_standby:
                out += self._traffic.drop_app_topics(keep)
        return out

    def _expire(self, now: float) -> list:
        s, out = self.settings, []
        for conn in list(self._conns.values()):
            if not conn.is_open and now >= conn.started + s.connect_timeout_s:
                out += self._close(conn, HANG_CODE, 'connect timeout', failed=True)
            elif conn.is_open and now >= conn.last_seen + s.heartbeat_timeout_s:
                out += self._close(conn, HANG_CODE, 'heartbeat timeout', failed=True)
        return out

    # ---- helpers ----------------------------------------------------------------------

    def _close(self, conn: Conn, code: int, reason: str, failed: bool = False) -> list:
        del self._conns[conn.url]
        out = [t.CloseConn(conn.url, code, reason)]
        if failed:
            return out + self._lost(conn, reason)
        self._goals.lost(conn)
        return out + self._traffic.fail_calls(conn)

    def _lost(self, conn: Conn, reason: str) -> list:
        fails = self._fails.get(conn.url, 0)
        self._fails[conn.url] = fails + 1
        self._failed_until[conn.url] = self._now + backoff_delay(
            fails, self._jitter(), self.settings.backoff_base_s, self.settings.backoff_cap_s)
        if conn.url == self._active:
            self._active = None
            self._switch_reason = f'{self._label(conn)} {reason}'
        self._goals.lost(conn)
        return self._traffic.fail_calls(conn)

    def _open(self, url: str, role: str) -> list:
        self._conns[url] = Conn(url, role, self._now)
        return [t.Open(url)]

    def _carries_app(self, conn: Conn) -> bool:
        return conn.is_open and (
            conn.role == ACTIVE
            or (conn.role == CANDIDATE and conn.syncing_since is not None)
            or (conn.role == STANDBY and self.settings.hot_standby))

    def _active_conn(self) -> Conn | None:
        return self._conns.get(self._active) if self._active else None

    def _hold_start(self, conn: Conn) -> float | None:
        health = self._tier(conn).health
        start = conn.probation_from
        if health == 'UNKNOWN' or start is None:
            return start
        if health != 'UP':
            return None
        return max(start, self._up_since.get(conn.url, start))

    def _better(self, a: Conn, b: Conn) -> bool:
        ranked = rank([self._tier(a), self._tier(b)], self._traffic.subs, self._tiebreak)
        return ranked[0].url == a.url

    def _has_role(self, role: str) -> bool:
        return any(conn.role == role for conn in self._conns.values())

    def _eligible(self, url: str) -> bool:
        return url not in self._conns and self._now >= self._failed_until.get(url, self._now)

    def _first_eligible(self, urls: list[str]) -> str | None:
        return next((url for url in urls if self._eligible(url)), None)

    def _tier(self, conn: Conn) -> TierInfo:
        return self._tiers.get(conn.url) or TierInfo(url=conn.url)

    def _label(self, conn: Conn) -> str:
        return self._tier(conn).label
