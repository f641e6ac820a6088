"""The tier's side of client-provided actions (``core/rosbridge_action_servers.py``).

``ServedActions`` serves each action a client advertised with ``Graph.serve_action``,
one client per name on the graph, refused as ``ProvidedServices`` refuses a service
(``tier/provided.py``, whose bookkeeping it shares). A goal arrives on a graph thread,
where ``execute`` only hands it to the reactor (a graph thread, or rclpy's executor, is
never held); on the reactor the providing client's session turns it into a
``send_action_goal`` frame. A graph cancel crosses the same way and becomes
``cancel_action_goal``. The client's ``action_feedback`` and ``action_result``,
``unadvertise_action`` and the disconnect come back as ``ServedFeedback`` /
``EndServedGoal``, carried out on the reactor (``ServerGoal.publish_feedback`` and
``finish`` may be called from any thread). Goals have no deadline: no timer here.
"""
from __future__ import annotations

import logging
from functools import partial
from typing import Any

from ..core import commands as cmd
from ..core import rosbridge_action_servers as served
from ..graph.actions import action_names
from ..graph.port import ServerGoal
from .provided import Provided

log = logging.getLogger(__name__)


class ServedActions(Provided):
    """Actions this tier's clients provide, by name."""

    noun = 'action'

    # ---- commands from the sessions (reactor thread) --------------------------------
    def advertise(self, proto, command: cmd.AdvertiseAction) -> None:
        self._take(proto, command.action, command.type_name)

    def unadvertise(self, proto, command: cmd.UnadvertiseAction) -> None:
        self._give_up(proto, command.action)

    def feedback(self, command: cmd.ServedFeedback) -> None:
        command.goal.publish_feedback(command.values)

    def end(self, command: cmd.EndServedGoal) -> None:
        if command.reason:
            log.warning('%s: a goal ends aborted: %s', self.tier.tier.name, command.reason)
        command.goal.finish(command.status, command.result)

    # ---- graph goals ------------------------------------------------------------------
    def _on_goal(self, name: str, goal: ServerGoal) -> None:
        """On a graph thread: hand the goal (and any later cancel) to the reactor."""
        reactor = self.tier.reactor
        goal.on_cancel = partial(reactor.callFromThread, self._cancel, name, goal)
        reactor.callFromThread(self._arrive, name, goal)

    def _arrive(self, name: str, goal: ServerGoal) -> None:
        proto = self.providers.get(name)
        session = self.tier.clients.get(proto)
        if session is None:
            self.end(cmd.EndServedGoal(goal, served.ABORTED, {}, f'the client providing '
                                       f'{name} disconnected'))
            return
        self.tier.execute(proto, served.goal(session, name, goal.request, goal))
        if goal.cancel_requested:  # asked before the goal reached the reactor
            self._cancel(name, goal)

    def _cancel(self, name: str, goal: ServerGoal) -> None:
        proto = self.providers.get(name)
        session = self.tier.clients.get(proto)
        if session is not None:
            self.tier.execute(proto, served.cancel(session, goal))

    # ---- the graph ------------------------------------------------------------------
    def _serve(self, name: str, type_name: str) -> Any:
        return self.tier.graph.serve_action(name, type_name, partial(self._on_goal, name))

    def _listed(self, name: str) -> bool:
        return action_names(name).send_goal in self.tier.graph.services()

    def _refusal(self, session, name: str, kind: str, text: str) -> list[Any]:
        return served.refuse_advertise(session, name, kind, text)

    def release(self) -> None:
        """The tier stops serving: end every goal in flight aborted and stop serving
        every provided action (their clients are being closed)."""
        for proto, session in self._sessions():
            self.tier.execute(proto, served.closed(session))
        self._close_all()
