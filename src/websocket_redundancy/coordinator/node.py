"""The coordinator as a managed lifecycle node on the graph.

The lifecycle-node host (``node.host``) on ``/websocket_redundancy_coordinator`` plus
the coordinator's callbacks (``coordinator.lifecycle``, shared with the ROS node):

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

from collections.abc import Callable
from typing import Any

from ..core.lifecycle import State
from ..node.host import LifecycleHost
from .lifecycle import CoordinatorLifecycle

NODE = '/websocket_redundancy_coordinator'


class CoordinatorNode:
    def __init__(self, graph, build: Callable[[], Any],
                 run_on_loop: Callable[[Callable[[], Any]], Any],
                 on_active: Callable[[], None] | None = None,
                 on_finalized: Callable[[], None] | None = None) -> None:
        self.on_active, self.on_finalized = on_active, on_finalized
        self.lc = CoordinatorLifecycle()
        self.host = LifecycleHost(
            graph, NODE, 'coordinator',
            {State.CONFIGURING: lambda: self.lc.configure(build),
             State.ACTIVATING: self.lc.activate, State.DEACTIVATING: self.lc.deactivate,
             State.CLEANINGUP: self.lc.release, State.SHUTTINGDOWN: self.lc.release},
            run_on_loop, on_error=self.lc.release, on_landed=self._landed)

    @property
    def coordinator(self):
        return self.lc.coordinator

    @property
    def state(self) -> str:
        return self.host.state.label

    def change_state(self, transition: str | int) -> tuple[bool, str]:
        """One transition, on the loop: (success, reason)."""
        return self.host.change_state(transition)

    def _landed(self, state: State) -> None:
        if state is State.ACTIVE and self.on_active is not None:
            self.on_active()
        if state is State.FINALIZED and self.on_finalized is not None:
            self.on_finalized()

    def close(self) -> None:
        self.lc.release()
        self.host.close()
