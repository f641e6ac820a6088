"""The coordinator as a managed lifecycle node on the graph.

The lifecycle-node host (``node.host``) on ``/websocket_redundancy_coordinator`` plus
these callbacks:

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

NODE = '/websocket_redundancy_coordinator'


class CoordinatorNode:
    def __init__(self, graph, build: Callable[[], Any],
                 run_on_loop: Callable[[Callable[[], Any]], Any],
                 on_active: Callable[[], None] | None = None,
                 on_finalized: Callable[[], None] | None = None) -> None:
        self._build = build
        self.on_active, self.on_finalized = on_active, on_finalized
        self.coordinator = None
        self.host = LifecycleHost(
            graph, NODE, 'coordinator',
            {State.CONFIGURING: self._on_configure, State.ACTIVATING: self._on_activate,
             State.DEACTIVATING: self._on_deactivate, State.CLEANINGUP: self._drop,
             State.SHUTTINGDOWN: self._drop},
            run_on_loop, on_error=self._drop, on_landed=self._landed)

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

    def close(self) -> None:
        self._drop()
        self.host.close()
