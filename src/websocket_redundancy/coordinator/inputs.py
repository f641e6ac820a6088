"""The coordinator's graph inputs, on the loop: heartbeats, transition events, presence.

A mixin of ``Coordinator`` (kept apart so each file stays one concept): it turns what
the graph says about each endpoint into ``core.health`` events, and adds endpoints to
or removes them from the directory as ``core.endpoints.Registry`` decides. The
attributes it uses are set up by ``Coordinator.start``.
"""
from __future__ import annotations

import logging
from dataclasses import replace

from ..core import endpoints as e
from ..core import health as h
from ..core.heartbeat import parse_graph_heartbeat
from ..core.settings import SettingsError
from ..core.status import TierView
from . import views

log = logging.getLogger(__name__)


class EndpointInputs:
    def _on_heartbeat(self, node: str, msg: dict) -> None:
        beat = parse_graph_heartbeat(node, msg)
        if beat is None:
            log.warning('coordinator: ignored a malformed heartbeat on %s', node)
            return
        name = beat.endpoint
        if self._node.get(name, node) != node:
            log.warning('coordinator: %s claims endpoint %s of %s; ignored', node, name,
                        self._node[name])
            return
        if name in self.views and self._exited[name] and beat.session == self._session[name] \
                and not self._present[name]:
            return  # in flight before the exit was seen: not a sign of life
        now = self._now()
        changes = self.registry.beat(name, beat.tier, beat.session, now, beat.leaving)
        if name not in self.views:
            if not any(isinstance(c, e.Joined) for c in changes):
                return  # a goodbye still in flight
            self._add(name, node, beat.tier, changes[0])
        left = [c for c in changes if isinstance(c, e.Left)]
        if left:
            self._remove(name, left[0])
            self._feed()
            return
        self.recovery.hold(name, False)
        view = views.view_from_heartbeat(self.views[name], beat.raw)
        if view.url != self.views[name].url or name not in self._probes:
            self._replace_probe(name, view.url)
        if replace(view, clients=0) != replace(self.views[name], clients=0):
            self._changed = True  # the directory changed; client counts go at 2 Hz
        self.views[name] = view
        known = self._session[name]
        events: list[object] = []
        if known is not None and (beat.session != known or self._exited[name]):
            events.append(h.ProcessStarted(name, beat.pid or 0, beat.session))
            self._state[name], self._exited[name] = None, False
        self._session[name] = beat.session
        previous, self._last_beat_state[name] = self._last_beat_state.get(name), beat.state
        if beat.state and beat.state != self._state[name] and (
                self._state[name] is None or previous == beat.state):
            self._state[name] = beat.state
            events.append(h.TransitionEvent(name, beat.state))
        events.append(h.Heartbeat(name, beat.session, beat.tick, beat.seq))
        self._feed(*events)

    def _add(self, name: str, node: str, tier: str, joined: e.Joined) -> None:
        """A self-registered endpoint enters the directory (seeded from its tier's
        configuration when it names a configured tier)."""
        try:
            base = views.configured_view(self.settings.tier(tier))
        except SettingsError:
            base = TierView(tier, 0, 'ws://unknown', 0)
        self.views[name] = replace(base, endpoint=name)
        self._node[name] = node
        self._session[name] = self._state[name] = None
        self._present[name], self._exited[name] = True, False
        self._report(joined, self._now())

    def _remove(self, name: str, left: e.Left) -> None:
        probe = self._probes.pop(name, None)
        if probe is not None:
            probe.stop()
        self.health.forget(name)
        self.recovery.forget(name)
        for table in (self.views, self._node, self._session, self._state,
                      self._last_beat_state, self._present, self._exited, self._calls):
            table.pop(name, None)
        self._report(left, self._now())

    def _on_transition(self, node: str, msg: dict) -> None:
        label = (msg.get('goal_state') or {}).get('label')
        name = next((n for n, nd in self._node.items() if nd == node), None)
        if name is not None and isinstance(label, str) and label:
            self._state[name] = label
            self._feed(h.TransitionEvent(name, label))

    def _presence_tick(self) -> None:
        live, now = self._watch.look(), self._now()
        for name, node in list(self._node.items()):
            present = node in live
            if self._present[name] and not present and not self._exited[name]:
                self._exited[name] = True
                self._feed(h.ProcessExited(name, None))
            if name in self._present:  # still in the directory
                self.registry.presence(name, present, now)
                self._present[name] = present
        self._arm()
