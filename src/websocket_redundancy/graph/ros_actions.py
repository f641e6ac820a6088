"""Actions of the rclpy graph: ``send_goal`` with rclpy's ``ActionClient`` and
``serve_action`` with its ``ActionServer``, the type loaded at run time
(``rosidl_runtime_py.utilities.get_action``) and messages converted as rosbridge does
(``ros_convert``). Every call used here exists with the same signature in rclpy 3.3
(Humble) and 7.1 (Jazzy): ``send_goal_async(goal, feedback_callback, goal_uuid)``,
``ClientGoalHandle.get_result_async/cancel_goal_async``, ``server_is_ready``,
``ActionServer(node, cls, name, execute_callback, callback_group, goal_callback,
cancel_callback)``.

Threading: every rclpy action call runs on the executor's thread. ``send_goal`` and
``cancel`` (any thread) only queue; ``maintain()`` -- called by ``RosGraph``'s
maintenance timer -- creates clients and servers (creating them beside a spinning
executor from another thread can crash rclpy, rosbridge_library notes), sends goals
once their server is discovered, fails those whose server did not appear within the
timeout, and sends cancels. Futures' callbacks run on the executor; results and
feedback go out through the port's callbacks, which cross to the reactor themselves.
A served goal is an ``async`` execute callback awaiting an rclpy ``Future`` that
``ServerGoal.finish`` completes from any thread, so the executor never blocks. Closing a
served action destroys its server from ``maintain()`` too, once its goals have ended and
their results had ``RESULT_GRACE_S`` to go out (destroyed at once, a goal just aborted
by the close would never get its result to its client).
"""
from __future__ import annotations

import base64
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from .actions import failed, unknown_goal
from .port import (
    GOAL_ABORTED,
    GOAL_CANCELED,
    GOAL_SUCCEEDED,
    ActionResult,
    GoalHandle,
    GraphError,
    ServerGoal,
)
from .ros_convert import from_rosbridge, to_rosbridge

log = logging.getLogger(__name__)
RESULT_GRACE_S = 0.5  # a served action is destroyed this long after its last goal ended


def action_class(type_name: str) -> Any:
    """The generated class for 'pkg/action/Name', or ``GraphError`` naming the fix."""
    from rosidl_runtime_py.utilities import get_action

    parts = type_name.split('/') if isinstance(type_name, str) else []
    if len(parts) != 3 or parts[1] != 'action' or not all(parts):
        raise GraphError(f"action type {type_name!r} must look like 'pkg/action/Name'")
    try:
        return get_action(type_name)
    except (AttributeError, ModuleNotFoundError, ValueError) as exc:
        raise GraphError(f'unknown action type {type_name!r}: {exc}; build and source the '
                         'package that defines it') from None


def _uuid_bytes(goal_id: str) -> bytes:
    try:
        raw = base64.b64decode(goal_id, validate=True)
    except (ValueError, TypeError):
        raw = b''
    if len(raw) != 16:
        raise GraphError(f'goal id {goal_id!r} is not a UUID (16 bytes, base64)')
    return raw


def _settle(future, value=None, error: BaseException | None = None) -> None:
    try:
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)
    except Exception:  # already settled
        pass


class RosActions:
    """The action clients and servers of one ``RosGraph``'s node."""

    def __init__(self, node) -> None:
        self.node = node
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str], Any] = {}
        self._goals: list[dict[str, Any]] = []  # waiting for their server, or for a cancel
        self._to_serve: list[Callable[[], None]] = []
        self._closed = False

    # ---- client ---------------------------------------------------------------------
    def send_goal(self, action: str, type_name: str, goal: dict[str, Any],
                  feedback: Callable[[dict[str, Any]], None] | None,
                  timeout: float, goal_id: str | None = None) -> GoalHandle:
        try:
            cls = action_class(type_name)
            goal_msg = from_rosbridge(cls.Goal, goal, f'goal of {action}')
            raw_id = _uuid_bytes(goal_id) if goal_id else uuid.uuid4().bytes
        except GraphError as exc:
            return failed(exc, goal_id)
        entry: dict[str, Any] = {'action': action, 'type': type_name, 'cls': cls,
                                 'goal': goal_msg, 'uuid': raw_id, 'feedback': feedback,
                                 'deadline': time.monotonic() + timeout, 'timeout': timeout,
                                 'sent': False, 'ros': None, 'cancel': False}
        entry['handle'] = GoalHandle(base64.b64encode(raw_id).decode(),
                                     lambda: self._request_cancel(entry))
        with self._lock:
            if self._closed:
                return failed(GraphError('the ROS graph adapter is closed'))
            self._goals.append(entry)
        return entry['handle']

    def attach_goal(self, action: str, type_name: str, goal_id: str,
                    timeout: float) -> GoalHandle:
        """A goal sent by someone else, followed with raw service clients on
        ``<action>/_action/get_result`` and ``cancel_goal`` (rclpy's ``ActionClient``
        asks results only of goals it sent itself, in rclpy 3.3 and 7.1 alike)."""
        try:
            cls = action_class(type_name)
            raw_id = _uuid_bytes(goal_id)
        except GraphError as exc:
            return failed(exc, goal_id)
        entry: dict[str, Any] = {'action': action, 'type': type_name, 'cls': cls,
                                 'uuid': raw_id, 'attach': True,
                                 'deadline': time.monotonic() + timeout, 'timeout': timeout,
                                 'sent': False, 'ros': None, 'cancel': False}
        entry['handle'] = GoalHandle(goal_id, lambda: self._request_cancel(entry))
        with self._lock:
            if self._closed:
                return failed(GraphError('the ROS graph adapter is closed'), goal_id)
            self._goals.append(entry)
        return entry['handle']

    def _request_cancel(self, entry: dict[str, Any]) -> None:
        with self._lock:
            entry['cancel'] = True
            if entry not in self._goals:
                self._goals.append(entry)

    def maintain(self) -> None:
        """On the executor: create servers, send goals, expire them, send cancels."""
        now = time.monotonic()
        with self._lock:
            serve, self._to_serve = self._to_serve, []
            goals, self._goals = self._goals, []
        for create in serve:
            create()
        keep = []
        for entry in goals:
            handle: GoalHandle = entry['handle']
            if handle.result.done():
                continue
            if entry.get('attach'):
                if self._follow(entry, now):
                    keep.append(entry)
                continue
            if not entry['sent']:
                client = self._client(entry)
                if client.server_is_ready():
                    self._send(client, entry)
                elif now >= entry['deadline']:
                    _settle(handle.result, error=GraphError(
                        f'no action server for {entry["action"]} answered within '
                        f'{entry["timeout"]:g} s'))
                    continue
                else:
                    keep.append(entry)
                    continue
            if entry['cancel']:
                if entry['ros'] is None:
                    keep.append(entry)  # cancelled once the server accepts it
                else:
                    entry['ros'].cancel_goal_async()
        with self._lock:
            self._goals = keep + self._goals

    def _follow(self, entry: dict[str, Any], now: float) -> bool:
        """On the executor: ask an attached goal's result once its server is there, and
        send its cancel; True while there is more to do."""
        from action_msgs.srv import CancelGoal
        from unique_identifier_msgs.msg import UUID
        action, handle = entry['action'], entry['handle']
        if not entry['sent']:
            client = self._raw_client(action + '/_action/get_result',
                                      entry['cls'].Impl.GetResultService)
            if not client.service_is_ready():
                if now < entry['deadline']:
                    return True
                _settle(handle.result, error=GraphError(
                    f'no action server for {action} answered within {entry["timeout"]:g} s'))
                return False
            entry['sent'] = True
            request = entry['cls'].Impl.GetResultService.Request()
            request.goal_id = UUID(uuid=list(entry['uuid']))

            def on_result(fut) -> None:
                try:
                    response = fut.result()
                    status = int(response.status)
                except Exception as exc:
                    _settle(handle.result, error=GraphError(f'{action}: no result: {exc}'))
                    return
                if status not in (GOAL_SUCCEEDED, GOAL_CANCELED, GOAL_ABORTED):
                    _settle(handle.result, error=unknown_goal(action, handle.goal_id))
                    return
                _settle(handle.result, ActionResult(status, to_rosbridge(response.result)))
            client.call_async(request).add_done_callback(on_result)
        if entry['cancel'] and not handle.result.done():
            entry['cancel'] = False
            request = CancelGoal.Request()
            request.goal_info.goal_id = UUID(uuid=list(entry['uuid']))
            self._raw_client(action + '/_action/cancel_goal', CancelGoal).call_async(request)
        return False

    def _raw_client(self, name: str, srv_type: Any):
        key = (name, '')
        client = self._clients.get(key)
        if client is None:
            client = self._clients[key] = self.node.create_client(srv_type, name)
        return client

    def _client(self, entry: dict[str, Any]):
        from rclpy.action import ActionClient
        key = (entry['action'], entry['type'])
        client = self._clients.get(key)
        if client is None:
            client = self._clients[key] = ActionClient(self.node, entry['cls'], entry['action'])
        return client

    def _send(self, client, entry: dict[str, Any]) -> None:
        from unique_identifier_msgs.msg import UUID
        entry['sent'] = True
        handle: GoalHandle = entry['handle']
        user_feedback = entry['feedback']
        on_feedback = None
        if user_feedback is not None:
            def on_feedback(message) -> None:
                try:
                    user_feedback(to_rosbridge(message.feedback))
                except Exception:
                    log.exception('feedback of a goal of %s could not be passed on',
                                  entry['action'])

        def on_result(fut) -> None:
            try:
                response = fut.result()
                outcome = ActionResult(int(response.status), to_rosbridge(response.result))
            except Exception as exc:
                _settle(handle.result, error=GraphError(f'{entry["action"]}: no result: {exc}'))
                return
            _settle(handle.result, outcome)

        def on_goal_response(fut) -> None:
            try:
                ros_handle = fut.result()
            except Exception as exc:
                _settle(handle.result, error=GraphError(f'{entry["action"]}: {exc}'))
                return
            if not ros_handle.accepted:
                _settle(handle.result, error=GraphError(
                    f'the server of {entry["action"]} rejected the goal'))
                return
            entry['ros'] = ros_handle
            ros_handle.get_result_async().add_done_callback(on_result)
            if entry['cancel']:
                ros_handle.cancel_goal_async()

        future = client.send_goal_async(entry['goal'], feedback_callback=on_feedback,
                                        goal_uuid=UUID(uuid=list(entry['uuid'])))
        future.add_done_callback(on_goal_response)

    # ---- server ---------------------------------------------------------------------
    def serve_action(self, action: str, type_name: str,
                     execute: Callable[[ServerGoal], None]):
        cls = action_class(type_name)  # an unknown type fails here, at the edge
        made: list[Any] = []
        state = {'closed': False, 'running': 0, 'idle_since': None}

        def create() -> None:
            if not state['closed']:
                made.append(self._server(action, cls, execute, state))

        def destroy_when_idle() -> None:
            """On the executor: destroy the server once no goal has run for
            ``RESULT_GRACE_S`` (the results of goals just ended go out first)."""
            now = time.monotonic()
            if state['running']:
                state['idle_since'] = None
            elif state['idle_since'] is None:
                state['idle_since'] = now
            elif now - state['idle_since'] >= RESULT_GRACE_S:
                for server in made:
                    server.destroy()
                return
            with self._lock:
                self._to_serve.append(destroy_when_idle)

        def close() -> None:
            state['closed'] = True
            with self._lock:
                self._to_serve.append(destroy_when_idle)
        with self._lock:
            self._to_serve.append(create)
        from .ros import _Handle
        return _Handle(close)

    def _server(self, action: str, cls: Any, execute: Callable[[ServerGoal], None],
                state: dict[str, Any]):
        from rclpy.action import ActionServer, CancelResponse
        from rclpy.callback_groups import ReentrantCallbackGroup
        from rclpy.task import Future
        goals: dict[bytes, ServerGoal] = {}

        async def run(ros_goal):
            done = Future(executor=self.node.executor)  # set_result wakes the executor
            goal_id = bytes(ros_goal.goal_id.uuid)

            def feedback(values: dict[str, Any]) -> None:
                try:
                    ros_goal.publish_feedback(from_rosbridge(cls.Feedback, values,
                                                             f'feedback of {action}'))
                except GraphError as exc:
                    log.warning('%s', exc)

            goal = ServerGoal(base64.b64encode(goal_id).decode(), to_rosbridge(ros_goal.request),
                              feedback, lambda status, result: done.set_result((status, result)))
            goals[goal_id] = goal
            with self._lock:
                state['running'] += 1
            try:
                execute(goal)
            except Exception:
                log.exception('the server of %s failed to start a goal', action)
                goal.finish(GOAL_ABORTED, {})
            try:
                status, values = await done
            finally:
                with self._lock:
                    state['running'] -= 1
            goals.pop(goal_id, None)
            try:
                result = from_rosbridge(cls.Result, values, f'result of {action}')
            except GraphError as exc:
                log.warning('%s', exc)
                result, status = cls.Result(), GOAL_ABORTED
            if status == GOAL_SUCCEEDED:
                ros_goal.succeed()
            elif status == GOAL_CANCELED and ros_goal.is_cancel_requested:
                ros_goal.canceled()
            else:
                ros_goal.abort()
            return result

        def on_cancel(ros_goal):
            goal = goals.get(bytes(ros_goal.goal_id.uuid))
            if goal is not None:
                goal.cancel_requested = True
                if goal.on_cancel is not None:
                    goal.on_cancel()
            return CancelResponse.ACCEPT

        return ActionServer(self.node, cls, action, run, cancel_callback=on_cancel,
                            callback_group=ReentrantCallbackGroup())

    def close(self) -> None:
        with self._lock:
            self._closed = True
            goals, self._goals = self._goals, []
            clients, self._clients = list(self._clients.values()), {}
        for entry in goals:
            _settle(entry['handle'].result, error=GraphError('the ROS graph adapter closed'))
        for client in clients:
            client.destroy()
