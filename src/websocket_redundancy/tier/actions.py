"""The tier's action-client shell: carries out ``SendGoal``/``CancelGoal``/``DetachGoals``
for its clients over ``Graph.send_goal`` and sends back what the session words.

Feedback and results arrive on graph threads and cross to the reactor with
``reactor.callFromThread``; everything else runs on the reactor. A goal whose client
is gone runs on (the rover keeps driving); nothing of it is sent anywhere.

Re-attaching (``core/rosbridge_actions.py``): the tier follows
``<action>/_action/feedback`` of every action in its ``services`` scope that the graph
shows (``track``, from the tier's topic tracking) and of every action a client sends a
goal to or attaches to, and keeps each goal's feedback with its resume key
(``core/goal_feedback.py``), so that a client that failed over from another tier gets
the feedback it missed. Goals named by ``goal_id`` take their feedback from there (one
path, keyed, for sent and re-attached goals alike); their result comes from
``Graph.send_goal`` or ``Graph.attach_goal`` (``get_result`` by id).
"""
from __future__ import annotations

import logging
from concurrent.futures import Future
from typing import Any

from ..core import commands as cmd
from ..core import rosbridge_actions as ra
from ..core.goal_feedback import FeedbackLog
from ..graph.port import GraphError, Sample

log = logging.getLogger(__name__)
SEND_GOAL_TIMEOUT_S = 5.0  # for a server to take the goal (rosbridge waits 1 s for one)
FEEDBACK_SUFFIX, FEEDBACK_TYPE_SUFFIX = '/_action/feedback', '_FeedbackMessage'


class TierActions:
    """The goals a tier's clients sent, by (connection, goal key)."""

    def __init__(self, service) -> None:
        self.service = service  # TierService: graph, reactor, clients, _do_Reply
        self.goals: dict[tuple[Any, str], Any] = {}  # (proto, key) -> GoalHandle
        self.logs: dict[str, FeedbackLog] = {}  # action -> its goals' feedback
        self._follows: dict[str, Any] = {}  # action -> the feedback topic's subscription
        self._watchers: dict[str, set[tuple[Any, str]]] = {}  # goal id -> (proto, key)

    # ---- following feedback ----------------------------------------------------------
    def track(self, topics) -> None:
        """Follow the feedback of every action in this tier's ``services`` scope that
        ``topics`` (the graph's) shows, so goals sent through other tiers are known."""
        for topic, info in topics.items():
            action = topic[:-len(FEEDBACK_SUFFIX)]
            type_name = info.type_name
            if topic.endswith(FEEDBACK_SUFFIX) and action not in self._follows and \
                    type_name.endswith(FEEDBACK_TYPE_SUFFIX) and \
                    self.service.tier.services.allows(action):
                self.follow(action, type_name[:-len(FEEDBACK_TYPE_SUFFIX)])

    def follow(self, action: str, type_name: str) -> None:
        if action in self._follows:
            return
        limits, reactor = self.service.limits, self.service.reactor
        self.logs.setdefault(action, FeedbackLog(limits.replay_items, limits.replay_age_s))

        def arrived(sample: Sample) -> None:  # on a graph thread
            reactor.callFromThread(self._on_feedback, action, sample)
        try:
            self._follows[action] = self.service.graph.subscribe(
                action + FEEDBACK_SUFFIX, arrived, type_name + FEEDBACK_TYPE_SUFFIX)
        except GraphError as exc:
            log.warning('%s: cannot follow the feedback of %s: %s', self.service.tier.name,
                        action, exc)

    def _on_feedback(self, action: str, sample: Sample) -> None:
        try:
            msg = sample.msg
        except GraphError as exc:
            log.warning('%s: feedback of %s dropped: %s', self.service.tier.name, action, exc)
            return
        goal_id = (msg.get('goal_id') or {}).get('uuid')
        if not isinstance(goal_id, str):
            return
        position, values = (sample.epoch, sample.seq), msg.get('feedback') or {}
        if not self.logs[action].add(goal_id, position, self.service.clock(), (position, values)):
            return
        for proto, key in list(self._watchers.get(goal_id, ())):
            self._feedback(proto, key, values, position)

    def _watch(self, goal_id: str, proto, key: str) -> None:
        self._watchers.setdefault(goal_id, set()).add((proto, key))

    def _unwatch(self, proto, key: str) -> None:
        for goal_id, watchers in list(self._watchers.items()):
            watchers.discard((proto, key))
            if not watchers:
                del self._watchers[goal_id]

    # ---- goals -----------------------------------------------------------------------
    def attach(self, proto, command: cmd.AttachGoal) -> None:
        """Follow a goal sent elsewhere: the feedback the client missed (after a gap
        notice if some is gone), then live feedback and the result."""
        service = self.service
        self.follow(command.action, command.type_name)
        session = service.clients.get(proto)
        if session is not None and command.feedback:
            items, gap = self.logs[command.action].since(command.goal_id, command.resume,
                                                         service.clock())
            if gap is not None:
                reply = ra.gap_reply(session, command.key, gap.requested, gap.available,
                                     gap.reason)
                if reply is not None:
                    service._do_Reply(proto, reply)
            for position, values in items:
                self._feedback(proto, command.key, values, position)
        self._watch(command.goal_id, proto, command.key)
        handle = service.graph.attach_goal(command.action, command.type_name,
                                           command.goal_id, SEND_GOAL_TIMEOUT_S)
        self._await(proto, command, handle)

    def send(self, proto, command: cmd.SendGoal) -> None:
        service = self.service
        feedback = None
        if command.goal_id is not None:  # keyed feedback from the followed topic
            self.follow(command.action, command.type_name)
            self._watch(command.goal_id, proto, command.key)
        elif command.feedback:
            def feedback(values: dict[str, Any]) -> None:  # on a graph thread
                service.reactor.callFromThread(self._feedback, proto, command.key, values)
        try:
            handle = service.graph.send_goal(command.action, command.type_name, command.args,
                                             feedback, SEND_GOAL_TIMEOUT_S,
                                             **({'goal_id': command.goal_id}
                                                if command.goal_id else {}))
        except GraphError as exc:  # adapters report through the result; be safe anyway
            self._finished(proto, command, None, exc)
            return
        self._await(proto, command, handle)

    def _await(self, proto, command, handle) -> None:
        service = self.service
        self.goals[(proto, command.key)] = handle

        def done(fut: Future) -> None:  # on a graph thread
            try:
                outcome, error = fut.result(), None
            except Exception as exc:
                outcome, error = None, exc
            service.reactor.callFromThread(self._finished, proto, command, outcome, error)
        handle.result.add_done_callback(done)

    def cancel(self, proto, command: cmd.CancelGoal) -> None:
        handle = self.goals.get((proto, command.key))
        if handle is not None:
            handle.cancel()

    def detach(self, proto) -> None:
        for key in [k for k in self.goals if k[0] is proto]:
            del self.goals[key]
            self._unwatch(*key)

    def release(self) -> None:
        self.goals.clear()
        self._watchers.clear()
        for handle in self._follows.values():
            handle.close()
        self._follows.clear()
        self.logs.clear()

    def in_flight(self) -> int:
        return len(self.goals)

    def _feedback(self, proto, key: str, values: dict[str, Any],
                  position: tuple[str, int] | None = None) -> None:
        session = self.service.clients.get(proto)
        reply = ra.feedback_reply(session, key, values, position) if session is not None \
            else None
        if reply is not None:
            self.service._do_Reply(proto, reply)

    def _finished(self, proto, command, outcome, error) -> None:
        self.goals.pop((proto, command.key), None)
        self._unwatch(proto, command.key)
        session = self.service.clients.get(proto)
        if session is None:
            return
        if error is not None:
            text = str(error) if isinstance(error, GraphError) else f'{type(error).__name__}: {error}'
            log.warning('%s: goal %s of %s failed: %s', self.service.tier.name, command.key,
                        command.action, text)
            reply = ra.result_reply(session, command.key, False, ra.STATUS_UNKNOWN, text)
        else:
            reply = ra.result_reply(session, command.key, True, outcome.status, outcome.result)
        if reply is not None:
            self.service._do_Reply(proto, reply)
