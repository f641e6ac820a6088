"""What the coordinator does on each lifecycle transition: one copy for both graphs.

The embedded coordinator (``coordinator.node``: the lifecycle-node host) and the ROS one
(``ros.coordinator_node``: rclpy's ``LifecycleNode``) call these on the loop:

    configure   build the ``Coordinator`` (no graph traffic yet)
    activate    ``Coordinator.start()``: watch, probe, recover, publish status
    deactivate  ``Coordinator.stop()``: everything above stops, tiers are left alone
    release     (cleanup, shutdown, error processing) stop and drop it

Each returns ``''`` (a failure raises: the host or rclpy goes through error processing).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any


class CoordinatorLifecycle:
    def __init__(self) -> None:
        self.coordinator: Any = None

    def configure(self, build: Callable[[], Any]) -> str:
        self.coordinator = build()
        return ''

    def activate(self) -> str:
        self.coordinator.start()
        return ''

    def deactivate(self) -> str:
        self.coordinator.stop()
        return ''

    def release(self) -> str:
        if self.coordinator is not None:
            coordinator, self.coordinator = self.coordinator, None
            coordinator.stop()
        return ''
