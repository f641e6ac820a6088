"""The one lifecycle-node host of the embedded graph.

A managed node here is this host plus its transition callbacks. The host serves
``<node>/get_state``, ``<node>/change_state`` and ``<node>/get_available_transitions``
with ``lifecycle_msgs`` semantics, publishes ``<node>/transition_event``, and runs every
transition as rcl does: begin (an invalid one is refused, success=False, the node lives)
-> the callback of the intermediate state -> finish with its result -> on an exception,
error processing (``on_error``, then back to unconfigured). The core
``LifecycleMachine`` is the authority. Under ROS 2, rcl's machine is, and ``ros/`` maps
the same kind of callbacks onto ``rclpy.lifecycle.LifecycleNode``.

A callback returns ``''`` for success or a sentence for failure (the node stays where it
was), and may raise (a bug or an environment error: logged, then error processing).
``run_on_loop(fn)`` runs ``fn`` on the event loop and returns its result: the
change_state handler (a graph thread) uses it, so transitions happen on the loop.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from ..core.lifecycle import LifecycleError, LifecycleMachine, State
from ..core.settings import ENVIRONMENT_ERRORS
from ..graph.port import GraphError

log = logging.getLogger(__name__)
Callback = Callable[[], str]


def state_msg(state: State) -> dict[str, Any]:
    return {'id': int(state), 'label': state.label}


class LifecycleHost:
    def __init__(self, graph, node: str, label: str, callbacks: Mapping[State, Callback],
                 run_on_loop: Callable[[Callable[[], Any]], Any],
                 on_error: Callable[[], None],
                 on_landed: Callable[[State], None] = lambda state: None) -> None:
        """``node`` is the ROS name (``/primary``), ``label`` names it in logs;
        ``callbacks`` maps each intermediate state (CONFIGURING ... SHUTTINGDOWN) to its
        callback; ``on_error`` releases everything; ``on_landed`` hears each end state."""
        self.label, self._callbacks = label, dict(callbacks)
        self._run_on_loop, self._on_error, self._on_landed = run_on_loop, on_error, on_landed
        self.machine = LifecycleMachine()
        self._events = graph.advertise(node + '/transition_event',
                                       'lifecycle_msgs/msg/TransitionEvent')
        self._handles = [
            graph.serve(node + '/get_state', 'lifecycle_msgs/srv/GetState',
                        lambda request: {'current_state': state_msg(self.machine.state)}),
            graph.serve(node + '/change_state', 'lifecycle_msgs/srv/ChangeState',
                        self._serve_change_state),
            graph.serve(node + '/get_available_transitions',
                        'lifecycle_msgs/srv/GetAvailableTransitions', self._serve_available),
        ]

    @property
    def state(self) -> State:
        return self.machine.state

    def change_state(self, transition: str | int) -> tuple[bool, str]:
        """One transition, on the loop: ``(success, reason)``."""
        start = self.machine.state
        try:
            middle = self.machine.begin(transition)
        except LifecycleError as exc:
            log.warning('%s: refused transition %r: %s', self.label, transition, exc)
            return False, str(exc)
        try:
            reason = self._callbacks[middle]()
            result = 'success' if not reason else 'failure'
        except Exception as exc:  # a bug, or a missing module: say so, then error processing
            log.error('%s: %s failed: %r', self.label, middle.label, exc,
                      exc_info=not isinstance(exc, ENVIRONMENT_ERRORS))
            reason, result = f'{middle.label} raised {exc!r}', 'error'
        landed = self.machine.finish(result)
        if landed is State.ERRORPROCESSING:
            self._on_error()
            landed = self.machine.finish('success')  # on_error succeeded: unconfigured
        self._publish(start, landed, transition)
        ok = result == 'success'
        log.info('%s: %s -> %s%s', self.label, start.label, landed.label,
                 '' if ok else f' ({reason})')
        self._on_landed(landed)
        return ok, reason

    def _serve_change_state(self, request: dict) -> dict:
        transition = request.get('transition') or {}
        wanted = transition.get('label') or transition.get('id') or ''
        ok, _ = self._run_on_loop(lambda: self.change_state(wanted))
        return {'success': ok}

    def _serve_available(self, request: dict) -> dict:
        state = self.machine.state
        return {'available_transitions': [
            {'transition': {'id': int(t), 'label': t.label}, 'start_state': state_msg(state),
             'goal_state': state_msg(state)} for t in self.machine.available_transitions()]}

    def _publish(self, start: State, goal: State, transition: str | int) -> None:
        try:
            self._events.publish({'timestamp': time.time_ns(),
                                  'transition': {'id': 0, 'label': str(transition)},
                                  'start_state': state_msg(start),
                                  'goal_state': state_msg(goal)})
        except GraphError as exc:
            log.warning('%s: cannot publish a transition event: %s', self.label, exc)

    def close(self) -> None:
        for handle in self._handles:
            handle.close()
        self._events.close()
