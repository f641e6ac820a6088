"""The tier's action-client shell: carries out ``SendGoal``/``CancelGoal``/``DetachGoals``
for its clients over ``Graph.send_goal`` and sends back what the session words.

Feedback and results arrive on graph threads and cross to the reactor with
``reactor.callFromThread``; everything else runs on the reactor. A goal whose client
is gone runs on (the rover keeps driving; a client that lost its tier can still find
the goal's outcome from the action server); nothing of it is sent anywhere.
"""
from __future__ import annotations

import logging
from concurrent.futures import Future
from typing import Any

from ..core import commands as cmd
from ..core import rosbridge_actions as ra
from ..graph.port import GraphError

log = logging.getLogger(__name__)
SEND_GOAL_TIMEOUT_S = 5.0  # for a server to take the goal (rosbridge waits 1 s for one)


class TierActions:
    """The goals a tier's clients sent, by (connection, goal key)."""

    def __init__(self, service) -> None:
        self.service = service  # TierService: graph, reactor, clients, _do_Reply
        self.goals: dict[tuple[Any, str], Any] = {}  # (proto, key) -> GoalHandle

    def send(self, proto, command: cmd.SendGoal) -> None:
        service = self.service
        feedback = None
        if command.feedback:
            def feedback(values: dict[str, Any]) -> None:  # on a graph thread
                service.reactor.callFromThread(self._feedback, proto, command.key, values)
        try:
            handle = service.graph.send_goal(command.action, command.type_name, command.args,
                                             feedback, SEND_GOAL_TIMEOUT_S)
        except GraphError as exc:  # adapters report through the result; be safe anyway
            self._finished(proto, command, None, exc)
            return
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

    def release(self) -> None:
        self.goals.clear()

    def in_flight(self) -> int:
        return len(self.goals)

    def _feedback(self, proto, key: str, values: dict[str, Any]) -> None:
        session = self.service.clients.get(proto)
        reply = ra.feedback_reply(session, key, values) if session is not None else None
        if reply is not None:
            self.service._do_Reply(proto, reply)

    def _finished(self, proto, command: cmd.SendGoal, outcome, error) -> None:
        self.goals.pop((proto, command.key), None)
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
