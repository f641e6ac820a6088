"""The coordinator as an rclpy lifecycle node over the ``coordinator.shell``.

Same thread boundary as the tiers (``runtime``): callbacks run on the executor thread
and call the embedded coordinator's callbacks (``coordinator.lifecycle``: build, start,
stop and drop the ``Coordinator``) on the reactor thread with ``runtime.on_reactor``. What the shell does once started (graph heartbeats, transition
events, WebSocket probes, GetState-first recovery of every tier -- including one that
launch respawned and that came back unconfigured -- with backoff and a circuit
breaker) is the same code the embedded mode runs. Its outputs, through ``RosGraph``:

    /websocket_redundancy/status   std_msgs/msg/String, reliable, transient local, depth 1
    /websocket_redundancy/status   std_srvs/srv/Trigger service, JSON in ``message``
    /diagnostics                   diagnostic_msgs/msg/DiagnosticArray, one entry per tier

Parameters: the settings schema (``params``) for the tiers in ``tier_names``, plus
``coordinator.*`` from ``CoordinatorSettings`` (probe interval, periods, health and
recovery thresholds), and ``autostart`` (configure and activate itself at start, on by
default: nothing else configures the coordinator under launch).
"""
from __future__ import annotations

import logging
from typing import Any

from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn

from ..coordinator.lifecycle import CoordinatorLifecycle
from ..coordinator.node import NODE
from ..core.settings import DEFAULT_TIERS, SettingsError
from . import params
from .runtime import on_reactor, run
from .tier_node import guard_change_state

log = logging.getLogger(__name__)
NODE_NAME = NODE.lstrip('/')
SUCCESS, FAILURE = TransitionCallbackReturn.SUCCESS, TransitionCallbackReturn.FAILURE


class CoordinatorNode(LifecycleNode):
    def __init__(self, reactor: Any, node_name: str = NODE_NAME, **kwargs: Any) -> None:
        from ..coordinator.shell import CoordinatorSettings
        super().__init__(node_name, **kwargs)
        self.reactor = reactor
        self.declare_parameter('tier_names', list(DEFAULT_TIERS))
        self.declare_parameter('autostart', True)
        self.tier_names = [str(n) for n in self.get_parameter('tier_names').value]
        params.declare_settings(self, self.tier_names)
        params.declare_dataclass(self, 'coordinator', CoordinatorSettings())
        self.graph = None
        self.lc = CoordinatorLifecycle()  # the callbacks' one copy (coordinator.lifecycle)
        guard_change_state(self)

    @property
    def coordinator(self):
        return self.lc.coordinator

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        from ..coordinator.shell import Coordinator, CoordinatorSettings
        from ..graph.ros import RosGraph
        try:
            settings = params.settings_from_node(self, self.tier_names)
            config = params.read_dataclass(self, 'coordinator', CoordinatorSettings())
        except SettingsError as exc:
            for problem in exc.problems:
                self.get_logger().error(f'configure: {problem}')
            return FAILURE
        try:
            self.graph = RosGraph(self, name=NODE_NAME)
            on_reactor(self.reactor, self.lc.configure,
                       lambda: Coordinator(settings, self.graph, self.reactor, config=config,
                                           out=self._say))
        except Exception:
            self.get_logger().error(f'configure failed:\n{_trace()}')
            self.release()
            return FAILURE
        return SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        try:
            on_reactor(self.reactor, self.lc.activate)
        except Exception:
            self.get_logger().error(f'activate failed:\n{_trace()}')
            return FAILURE
        print('READY coordinator', flush=True)
        return super().on_activate(state)

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        try:
            on_reactor(self.reactor, self.lc.deactivate)
        except Exception:
            self.get_logger().error(f'deactivate failed:\n{_trace()}')
            return FAILURE
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        return self._released('cleanup')

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        return self._released('shutdown')

    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.get_logger().error(f'a transition failed from {state.label}; releasing')
        return self._released('error processing')

    def _released(self, what: str) -> TransitionCallbackReturn:
        try:
            self.release()
        except Exception:
            self.get_logger().error(f'{what} failed:\n{_trace()}')
            return FAILURE
        return SUCCESS

    def release(self) -> None:
        on_reactor(self.reactor, self.lc.release)
        if self.graph is not None:
            graph, self.graph = self.graph, None
            graph.close()

    def _say(self, line: str) -> None:
        self.get_logger().info(line)

    def autostart(self) -> None:
        """Configure then activate in-process (``trigger_*``), as launch needs."""
        if not self.get_parameter('autostart').value:
            self.get_logger().info(f'unconfigured; waiting for {NODE}/change_state')
            return
        if self.trigger_configure() == SUCCESS:
            self.trigger_activate()


def _trace() -> str:
    import traceback
    return traceback.format_exc()


def main(args: list[str] | None = None) -> int:
    def make(reactor):
        node = CoordinatorNode(reactor)
        reactor.callWhenRunning(lambda: reactor.callInThread(node.autostart))
        return node
    return run(make, args)


if __name__ == '__main__':
    raise SystemExit(main())
