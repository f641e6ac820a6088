"""The coordinator as a managed lifecycle node on the graph.

Serves ``/websocket_redundancy_coordinator/get_state`` and ``/change_state`` with
``lifecycle_msgs`` semantics and publishes its ``transition_event``; the core
``LifecycleMachine`` is the authority. Callbacks:

    configure   build the ``Coordinator`` (no graph traffic yet)
    activate    ``Coordinator.start()``: watch, probe, recover, publish status
    deactivate  ``Coordinator.stop()``: everything above stops, tiers are left alone
    cleanup     drop the ``Coordinator``
    shutdown    stop and drop; ``on_finalized`` is called (the process exits)

``run_on_loop(fn)`` runs ``fn`` on the loop and returns its result; the change_state
handler (a graph thread) uses it, so transitions happen on the loop. Under Twisted it
is ``threads.blockingCallFromThread``; tests pass ``lambda fn: fn()``.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from ..core.lifecycle import LifecycleError, LifecycleMachine, State
from ..core.settings import ENVIRONMENT_ERRORS
from ..graph.port import GraphError

log = logging.getLogger(__name__)
NODE = '/websocket_redundancy_coordinator'


def _state_msg(state: State) -> dict[str, Any]:
    return {'id': int(state), 'label': state.label}


class CoordinatorNode:
    def __init__(self, graph, build: Callable[[], Any],
                 run_on_loop: Callable[[Callable[[], Any]], Any],
                 on_active: Callable[[], None] | None = None,
                 on_finalized: Callable[[], None] | None = None) -> None:
        self.graph, self._build, self._run_on_loop = graph, build, run_on_loop
        self.on_active, self.on_finalized = on_active, on_finalized
        self.machine = LifecycleMachine()
        self.coordinator = None
        self._events = graph.advertise(NODE + '/transition_event',
                                       'lifecycle_msgs/msg/TransitionEvent')
        self._handles = [
            graph.serve(NODE + '/get_state', 'lifecycle_msgs/srv/GetState',
                        lambda request: {'current_state': _state_msg(self.machine.state)}),
            graph.serve(NODE + '/change_state', 'lifecycle_msgs/srv/ChangeState',
                        self._serve_change_state),
        ]

    @property
    def state(self) -> str:
        return self.machine.state.label

    def change_state(self, transition: str | int) -> tuple[bool, str]:
        """One transition, on the loop: (success, reason)."""
        start = self.machine.state
        try:
            middle = self.machine.begin(transition)
        except LifecycleError as exc:
            return False, str(exc)
        callback = {State.CONFIGURING: self._on_configure, State.ACTIVATING: self._on_activate,
                    State.DEACTIVATING: self._on_deactivate, State.CLEANINGUP: self._drop,
                    State.SHUTTINGDOWN: self._drop}[middle]
        try:
            reason, result = callback(), 'success'
        except Exception as exc:  # a callback bug: say so, land in errorprocessing
            # a missing module or bad setting is one sentence; anything else a traceback
            log.error('coordinator: %s failed: %r', middle.label, exc,
                      exc_info=not isinstance(exc, ENVIRONMENT_ERRORS))
            reason, result = f'{middle.label} raised {exc!r}', 'error'
        landed = self.machine.finish(result)
        if landed is State.ERRORPROCESSING:
            self._drop()
            landed = self.machine.finish('success')
        self._publish(start, landed, transition)
        log.info('coordinator: %s -> %s', start.label, landed.label)
        if landed is State.ACTIVE and self.on_active is not None:
            self.on_active()
        if landed is State.FINALIZED and self.on_finalized is not None:
            self.on_finalized()
        return result == 'success', reason

    def _on_configure(self) -> str:
        self.coordinator = self._build()
        return ''

    def _on_activate(self) -> str:
        self.coordinator.start()
        return ''

    def _on_deactivate(self) -> str:
        self.coordinator.stop()
        return ''

    def _drop(self) -> str:
        if self.coordinator is not None:
            coordinator, self.coordinator = self.coordinator, None
            coordinator.stop()
        return ''

    def _serve_change_state(self, request: dict) -> dict:
        transition = request.get('transition') or {}
        wanted = transition.get('label') or transition.get('id') or ''
        ok, _ = self._run_on_loop(lambda: self.change_state(wanted))
        return {'success': ok}

    def _publish(self, start: State, goal: State, transition: str | int) -> None:
        try:
            self._events.publish({'timestamp': time.time_ns(),
                                  'transition': {'id': 0, 'label': str(transition)},
                                  'start_state': _state_msg(start),
                                  'goal_state': _state_msg(goal)})
        except GraphError as exc:
            log.warning('coordinator: cannot publish a transition event: %s', exc)

    def close(self) -> None:
        self._drop()
        for handle in self._handles:
            handle.close()
        self._events.close()
