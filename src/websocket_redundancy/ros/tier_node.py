"""A tier as an rclpy lifecycle node: rcl's state machine is the authority.

Each callback runs on the executor thread and does its Twisted work on the reactor
thread with ``runtime.on_reactor`` (``threads.blockingCallFromThread``: the executor
waits, briefly, for the reactor; the reactor never waits for the executor). The
callbacks are the embedded tier's, mapped onto rclpy: one ``tier.lifecycle.TierLifecycle``
builds, starts, stops and drops the tier (``tier.lifecycle`` documents each step):

    on_configure   read the parameters into Settings, open the RosGraph, build the runner
    on_activate    listen (WebSocket + HTTP), then ``super().on_activate``
    on_deactivate  stop listening, clients closed with 1001, ``super().on_deactivate``
    on_cleanup     close the runner and the graph adapter
    on_shutdown    the same; the process then exits 0 (launch may respawn it)
    on_error       the same, then SUCCESS: back to unconfigured, ready to configure

Every callback logs its own exception (rclpy swallows it) and returns a
``TransitionCallbackReturn``. The graph heartbeat ``/websocket_redundancy/heartbeat/
<node>`` (``core.heartbeat``, the embedded tier's format: 20 Hz, the endpoint's directory
entry, ``leaving`` once it shuts down) is published from the reactor in every state,
with a plain publisher: the coordinator learns from it that an unconfigured (e.g.
respawned) tier exists and must be configured, which a lifecycle publisher (silent
until active) would hide, and a replica (node ``primary_2``, parameter ``tier:=primary``)
registers itself by it. A ChangeState request that rcl rejects is
answered ``success=False`` instead of killing the node (rclpy#1209).
"""
from __future__ import annotations

import logging
import os
from dataclasses import replace
from typing import Any

from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn

from ..app.signals import stop_once
from ..core.heartbeat import GRAPH_HEARTBEAT, GRAPH_HEARTBEAT_HZ
from ..core.settings import STATUS_TOPIC, SettingsError
from ..tier.lifecycle import TierLifecycle
from . import params
from .runtime import on_reactor, run

log = logging.getLogger(__name__)
SUCCESS, FAILURE = TransitionCallbackReturn.SUCCESS, TransitionCallbackReturn.FAILURE


def guard_change_state(node: LifecycleNode) -> None:
    """Answer an invalid ChangeState request ``success=False`` (rclpy#1209: rclpy < 8
    raises out of the service callback and the node dies). ``_service_change_state``
    and ``Service.callback`` exist on rclpy humble and jazzy."""
    service = getattr(node, '_service_change_state', None)
    if service is None:  # enable_communication_interface=False
        return
    original = service.callback

    def guarded(request, response):
        try:
            return original(request, response)
        except Exception as exc:
            node.get_logger().warning(
                f'refused change_state (id {request.transition.id}, label '
                f'{request.transition.label!r}): {exc}')
            response.success = False
            return response

    service.callback = guarded


class TierNode(LifecycleNode):
    def __init__(self, reactor: Any, node_name: str = 'primary', **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        self.reactor = reactor
        self.declare_parameter('tier', self.get_name())  # the node name unless set
        self.tier_name = self.get_parameter('tier').value or self.get_name()
        self.declare_parameter('port', -1, params.port_override_descriptor())
        params.declare_settings(self, [self.tier_name])
        self.graph = None
        self._status_handle = None
        # The callbacks' one copy (tier.lifecycle), built from the parameters as declared;
        # configure reads them again. The endpoint is the node name: a replica (node
        # primary_2, parameter tier:=primary) registers itself through its heartbeat.
        self.lc = self._lifecycle()
        self._heartbeat = self.create_publisher(
            _string_type(), GRAPH_HEARTBEAT + self.get_name(), 10)
        self._beat_loop = None
        guard_change_state(self)
        on_reactor(reactor, self._start_heartbeat)

    @property
    def settings(self):
        return self.lc.settings if self.lc is not None else None

    @property
    def runner(self):
        return self.lc.runner if self.lc is not None else None

    def _settings(self):
        """The parameters read into Settings, the ``port`` override folded in (once, here:
        everything after reads the tier's port); SettingsError names a bad one."""
        settings = params.settings_from_node(self, [self.tier_name])
        port = self.get_parameter('port').value
        if port < 0:  # -1: as configured
            return settings
        return settings.with_tier(replace(settings.tier(self.tier_name), port=port))

    def _lifecycle(self, settings=None):
        """A ``TierLifecycle`` from ``settings`` (or the declared parameters), or None."""
        if settings is None:
            try:
                settings = self._settings()
            except SettingsError:
                return None  # configure will say why
        return TierLifecycle(settings, self.tier_name, self.reactor, self.get_name())

    # ---- lifecycle callbacks (executor thread) ----------------------------------
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        try:
            settings = self._settings()
        except SettingsError as exc:
            for problem in exc.problems:
                self.get_logger().error(f'configure: {problem}')
            return FAILURE
        try:
            from ..graph.ros import RosGraph
            if self.lc is None:
                self.lc = self._lifecycle(settings)
            self.graph = RosGraph(self, name=self.get_name())
            reason = on_reactor(self.reactor, self.lc.configure, self.graph, settings)
            if reason:
                self.get_logger().error(f'{self.tier_name}: cannot configure: {reason}')
                self.release()
                return FAILURE
            self._status_handle = self.graph.subscribe(STATUS_TOPIC, self._on_status,
                                                       'std_msgs/msg/String')
        except Exception:
            self.get_logger().error(f'configure failed:\n{_trace()}')
            self.release()
            return FAILURE
        self.get_logger().info(f'{self.tier_name}: configured')
        return SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        reason = on_reactor(self.reactor, self.lc.activate)
        if reason:  # e.g. the port is taken: stay inactive and say why
            self.get_logger().error(f'{self.tier_name}: {reason}')
            return FAILURE
        self.get_logger().info(f'{self.tier_name}: active on {self.lc.url}')
        print(f'READY tier={self.tier_name} url={self.lc.url} port={self.lc.bound} '
              f'pid={os.getpid()}', flush=True)
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
        result = self._released('shutdown')
        if self.lc is not None:
            self.lc.leaving = True  # the heartbeats say so from now on: a replica leaves
        self.reactor.callFromThread(self.reactor.callLater, 0.05, stop_once, self.reactor)
        return result

    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.get_logger().error(f'{self.tier_name}: a transition failed from '
                                f'{state.label}; releasing everything')
        return self._released('error processing')

    def _released(self, what: str) -> TransitionCallbackReturn:
        try:
            self.release()
        except Exception:
            self.get_logger().error(f'{what} failed:\n{_trace()}')
            return FAILURE
        return SUCCESS

    def release(self) -> None:
        """Drop the runner (closing clients) and the graph adapter; idempotent."""
        if self.lc is not None:
            on_reactor(self.reactor, self.lc.release)
        if self._status_handle is not None:
            self._status_handle.close()
            self._status_handle = None
        if self.graph is not None:
            graph, self.graph = self.graph, None
            graph.close()

    # ---- graph and heartbeat --------------------------------------------------------
    def _on_status(self, sample) -> None:
        self.reactor.callFromThread(self.lc.set_status, sample.msg.get('data', ''))

    def _start_heartbeat(self) -> None:
        from twisted.internet.task import LoopingCall
        self._beat_loop = LoopingCall(self._beat)
        self._beat_loop.clock = self.reactor
        self._beat_loop.start(1.0 / GRAPH_HEARTBEAT_HZ, now=True)

    def _beat(self) -> None:
        """One graph heartbeat, in the one format (``core.heartbeat``)."""
        if self.lc is None:
            return
        msg = _string_type()(data=self.lc.heartbeat(self._current_label())['data'])
        try:
            self._heartbeat.publish(msg)
        except Exception as exc:  # the context is shutting down
            log.debug('heartbeat not published: %s', exc)

    def _current_label(self) -> str:
        try:
            return self._state_machine.current_state[1]
        except Exception:
            return 'unknown'

    def destroy_node(self) -> None:
        """The last heartbeat says ``leaving`` (a graceful exit), then the node goes."""
        if self._beat_loop is not None and self._beat_loop.running:
            self._beat_loop.stop()
        if self.lc is not None:
            self.lc.leaving = True
        self._beat()
        super().destroy_node()


def _string_type():
    from std_msgs.msg import String
    return String


def _trace() -> str:
    import traceback
    return traceback.format_exc()


def main(args: list[str] | None = None) -> int:
    """``ros2 run websocket_redundancy tier_node --ros-args -r __node:=secondary``
    (the node name is the tier's name; parameter ``tier`` overrides it)."""
    return run(lambda reactor: TierNode(reactor, 'primary'), args)


if __name__ == '__main__':
    raise SystemExit(main())
