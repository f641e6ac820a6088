"""The Python failover client: the Twisted shell around ``core.failover.FailoverMachine``.

Everything that happens (a connection opens, a frame arrives, a connection closes, the
timer fires, the application asks for something) becomes one event for the machine at
monotonic time ``now``; the shell carries out the commands it gets back, in order, and
then arms exactly one timer from ``next_deadline()``. Events raised while commands are
carried out are queued, so the machine never sees an event inside another.

Next to that the shell polls ``GET /status`` on the active tier every
``directory_poll_s`` (before there is one: on the bootstrap URLs in turn, starting at
once) and feeds the endpoints it lists to the machine (``Directory``); a tier without
a status document (503) leaves the bootstrap ranking in place. The machine waits up to
``directory_wait_s`` for that first directory before it picks an endpoint, so that new
clients spread over a tier's replicas by load instead of all taking the first URL.

Application callbacks run on the reactor thread; one that raises is logged with its
traceback and does not disturb delivery to the others.

Example::

    client = FailoverClient(['ws://127.0.0.1:8080', 'ws://127.0.0.1:8081'])
    client.on('tier_changed', lambda change: print(change))
    client.subscribe('/gps/fix', 'sensor_msgs/msg/NavSatFix',
                     lambda msg, meta: print(meta.tier, meta.seq, msg))
    client.connect()
    reactor.run()
"""
from __future__ import annotations

import base64
import itertools
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from twisted.internet import task
from twisted.internet.defer import Deferred

from ..core import failover_types as t
from ..core.failover import FailoverMachine
from ..core.failover_types import FailoverSettings
from ..core.ranking import tiers_from_status
from .links import connect_ws, fetch_status, split_ws_url, status_url

log = logging.getLogger(__name__)

EVENT_KINDS = (t.TIER_CHANGED, t.GAP, t.SCOPE_DEGRADED, t.SCOPE_RESTORED, t.ALL_DOWN,
               t.PUBLISH_DROPPED, t.GOAL_GAP)


@dataclass(frozen=True)
class Meta:
    """Where a delivered sample came from (epoch and seq are None from a plain server)."""

    tier: str
    epoch: str | None
    seq: int | None


class ServiceError(Exception):
    """A service call failed; ``values`` is what the tier (or the client) said."""

    def __init__(self, service: str, values: Any) -> None:
        super().__init__(f'{service} failed: {values}')
        self.service = service
        self.values = values


class _Events:
    """One connection attempt's events, bound to the shell; stale attempts are ignored."""

    def __init__(self, client: FailoverClient, url: str) -> None:
        self.client, self.url = client, url
        self.link = None

    def _current(self) -> bool:
        return self.client._links.get(self.url) is self.link

    def opened(self) -> None:
        if self._current():
            self.client._handle(t.Opened(self.url))

    def frame(self, data: dict[str, Any]) -> None:
        if self._current():
            self.client._handle(t.Frame(self.url, data))

    def closed(self, code: int, reason: str) -> None:
        if self._current():
            del self.client._links[self.url]
            self.client._handle(t.Closed(self.url, code, reason))


class FailoverClient:
    """A rosbridge client that fails over between tiers without losing or repeating data.

    ``reactor`` opens connections and makes HTTP requests (default: the global reactor);
    ``clock`` schedules the timers (default: the reactor); ``monotonic`` is the time the
    machine sees (default: ``time.monotonic``, or ``clock.seconds`` when a clock is
    given, so that tests stepping a ``task.Clock`` step the machine too). ``connect``
    replaces how a connection is opened (tests pass an in-memory one).
    """

    def __init__(self, urls: Sequence[str], *, reactor=None, clock=None,
                 token: str | None = None, settings: FailoverSettings | None = None,
                 hot_standby: bool = False, directory_poll_s: float = 1.0,
                 directory_wait_s: float = 1.0, seed: float | None = None,
                 monotonic: Callable[[], float] | None = None,
                 connect: Callable[..., Any] | None = None,
                 fetch: Callable[[str], Deferred] | None = None) -> None:
        urls = [urls] if isinstance(urls, str) else list(urls)
        if not urls:
            raise ValueError('FailoverClient needs at least one tier URL, e.g. '
                             'ws://127.0.0.1:8080.')
        for url in urls:
            split_ws_url(url)  # a bad URL fails here, naming it
        if reactor is None:
            from twisted.internet import reactor
        settings = settings or FailoverSettings()
        if hot_standby and not settings.hot_standby:
            settings = replace(settings, hot_standby=True, warm_standby=True)
        self.urls = tuple(urls)
        self._reactor = reactor
        self._clock = clock or reactor
        self._now = monotonic or (clock.seconds if clock is not None else time.monotonic)
        self._headers = {'Authorization': f'Bearer {token}'} if token else {}
        self._connect = connect or (lambda url, events: connect_ws(
            reactor, url, self._headers, settings.connect_timeout_s, events))
        self._fetch = fetch or (lambda url: fetch_status(
            reactor, self._clock, url, self._headers, max(directory_poll_s, 0.5)))
        self._machine = FailoverMachine(settings, seed=seed)
        self._wait_s = directory_wait_s if directory_poll_s and directory_poll_s > 0 else 0.0
        self._boot = 0  # the bootstrap URL asked for the directory while none is active
        self._links: dict[str, Any] = {}
        self._subs: dict[str, Callable] = {}
        self._listeners: dict[str, list[Callable]] = {kind: [] for kind in EVENT_KINDS}
        self._calls: dict[str, tuple[str, Deferred]] = {}
        self._goals: dict[str, tuple[Callable | None, Callable | None]] = {}
        self._ids = itertools.count(1)
        self._queue: deque = deque()
        self._busy = False
        self._timer = None
        self._poll_s = directory_poll_s
        self._poller: task.LoopingCall | None = None
        self._polling: Deferred | None = None
        self._started = self._closed = False

    # ---- application API ---------------------------------------------------------------

    @property
    def active(self) -> str | None:
        """The URL of the tier that currently carries the subscriptions."""
        return self._machine.active

    def connect(self) -> None:
        """Start connecting (call once, from the reactor thread)."""
        if self._started:
            return
        self._started = True
        self._handle(t.Start(self.urls, self._wait_s))
        if self._poll_s and self._poll_s > 0:
            self._poller = task.LoopingCall(self._poll)
            self._poller.clock = self._clock
            self._poller.start(self._poll_s, now=self._wait_s > 0)

    def subscribe(self, topic: str, type: str, callback: Callable[[Any, Meta], None]) -> None:
        """Deliver every sample of ``topic`` once, in order, as ``callback(msg, meta)``."""
        if topic in self._subs:
            raise ValueError(f'{topic} is already subscribed on this client; unsubscribe '
                             'it first or use one callback that fans out.')
        self._subs[topic] = callback
        self._handle(t.Subscribe(topic, type or ''))

    def unsubscribe(self, topic: str) -> None:
        self._subs.pop(topic, None)
        self._handle(t.Unsubscribe(topic))

    def publish(self, topic: str, type: str, msg: dict[str, Any]) -> None:
        """Publish on the active tier (``publish_dropped`` says when it cannot)."""
        self._handle(t.Publish(topic, type, msg))

    def call_service(self, service: str, args: dict[str, Any] | None = None) -> Deferred:
        """A Deferred firing with the service's ``values``, or failing with ServiceError."""
        call_id = f'call_service:{service}:{next(self._ids)}'
        d: Deferred = Deferred()
        self._calls[call_id] = (service, d)
        self._handle(t.CallService(service, dict(args or {}), call_id))
        return d

    def send_goal(self, action: str, type: str, goal: dict[str, Any],
                  on_feedback: Callable[[Any, Meta], None] | None = None,
                  on_result: Callable[[t.GoalResult], None] | None = None) -> str:
        """Send an action goal through the active tier; returns its id (for
        ``cancel_goal``). ``on_feedback(values, meta)`` gets each feedback sample at most
        once, in order, also after a failover (the goal is re-attached on the new tier;
        samples it no longer had are reported as ``goal_gap``); ``on_result(result)``
        gets the ``GoalResult`` exactly once."""
        goal_id = base64.b64encode(uuid.uuid4().bytes).decode()
        self._goals[goal_id] = (on_feedback, on_result)
        self._handle(t.SendGoal(goal_id, action, type, dict(goal or {}), goal_id))
        return goal_id

    def cancel_goal(self, goal: str) -> None:
        """Ask the action server to cancel ``goal``; its result says how it ended."""
        self._handle(t.CancelGoal(goal))

    def on(self, kind: str, callback: Callable[[Any], None]) -> None:
        """Call ``callback(detail)`` on each ``kind`` event (see ``EVENT_KINDS``)."""
        if kind not in self._listeners:
            raise ValueError(f'unknown client event {kind!r}; use one of '
                             f'{", ".join(EVENT_KINDS)}.')
        self._listeners[kind].append(callback)

    def close(self) -> None:
        """Close every connection, stop every timer; pending calls fail."""
        if self._closed:
            return
        self._closed = True
        for link in list(self._links.values()):
            link.close(1000, 'client closed')
        self._links.clear()
        self._queue.clear()
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        if self._poller is not None and self._poller.running:
            self._poller.stop()
        if self._polling is not None:
            self._polling.cancel()
        calls, self._calls = self._calls, {}
        for service, d in calls.values():
            d.errback(ServiceError(service, 'client closed'))

    # ---- the machine -------------------------------------------------------------------

    def _handle(self, event: object) -> None:
        if self._closed:
            return
        self._queue.append(event)
        if self._busy:
            return
        self._busy = True
        try:
            while self._queue and not self._closed:
                for command in self._machine.handle(self._queue.popleft(), self._now()):
                    self._do(command)
        finally:
            self._busy = False
        self._arm()

    def _do(self, c: object) -> None:
        if isinstance(c, t.Send):
            link = self._links.get(c.url)
            if link is not None:
                link.send(c.frame)
        elif isinstance(c, t.Deliver):
            callback = self._subs.get(c.topic)
            if callback is not None:
                self._safely(callback, c.msg, Meta(c.tier, c.epoch, c.seq))
        elif isinstance(c, t.Open):
            old = self._links.pop(c.url, None)
            if old is not None:
                old.close(1000, 'reopened')
            events = _Events(self, c.url)
            self._links[c.url] = events.link = self._connect(c.url, events)
        elif isinstance(c, t.CloseConn):
            link = self._links.pop(c.url, None)
            if link is not None:
                link.close(c.code, c.reason)
        elif isinstance(c, t.Notify):
            for callback in list(self._listeners.get(c.kind, ())):
                self._safely(callback, c.detail)
        elif isinstance(c, t.GoalFeedback):
            on_feedback = self._goals.get(c.id, (None, None))[0]
            if on_feedback is not None:
                self._safely(on_feedback, c.values, Meta(c.tier, c.epoch, c.seq))
        elif isinstance(c, t.GoalResult):
            on_result = self._goals.pop(c.id, (None, None))[1]
            if on_result is not None:
                self._safely(on_result, c)
        elif isinstance(c, t.Respond):
            service, d = self._calls.pop(c.id, (None, None))
            if d is not None:
                if c.result:
                    d.callback(c.values)
                else:
                    d.errback(ServiceError(service, c.values))

    def _arm(self) -> None:
        if self._closed:
            return
        deadline = self._machine.next_deadline()
        if deadline is None:
            if self._timer is not None and self._timer.active():
                self._timer.cancel()
            self._timer = None
            return
        delay = max(0.0, deadline - self._now())
        if self._timer is not None and self._timer.active():
            self._timer.reset(delay)
        else:
            self._timer = self._clock.callLater(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._handle(t.Tick())

    @staticmethod
    def _safely(callback: Callable, *args: Any) -> None:
        try:
            callback(*args)
        except Exception:
            log.exception('failover client: application callback %r raised', callback)

    # ---- the directory -----------------------------------------------------------------

    def _poll(self) -> None:
        active = self._machine.active
        if self._polling is not None or self._closed:
            return
        if active is None:
            if not self._wait_s:
                return
            active = self.urls[self._boot % len(self.urls)]
            self._boot += 1
        self._polling = d = self._fetch(status_url(active))
        d.addCallbacks(self._directory, self._no_directory, errbackArgs=(active,))
        d.addBoth(self._poll_done)

    def _directory(self, doc: dict | None) -> None:
        if doc is None or self._closed:
            return
        try:
            tiers = tiers_from_status(doc)
        except ValueError as exc:
            log.warning('failover client: ignored a status document: %s', exc)
            return
        self._handle(t.Directory(tuple(tiers)))

    @staticmethod
    def _no_directory(failure, url: str) -> None:
        log.debug('failover client: no status from %s: %s', url, failure.getErrorMessage())

    def _poll_done(self, _result) -> None:
        self._polling = None
