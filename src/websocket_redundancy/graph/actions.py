"""The ROS 2 action protocol on a graph's own services and topics.

An action ``/nav`` of type ``pkg/action/Name`` is, as in ROS 2 (rcl_action), three
services and two topics under ``/nav/_action/``:

=================  ==============================  ========================================
``send_goal``      ``pkg/action/Name_SendGoal``    goal id + goal -> accepted, stamp
``get_result``     ``pkg/action/Name_GetResult``   goal id -> status, result (answered
                                                   when the goal ends)
``cancel_goal``    ``action_msgs/srv/CancelGoal``  goal info -> return code, goals canceling
``feedback``       ``pkg/action/Name_FeedbackMessage``  goal id + feedback
``status``         ``action_msgs/msg/GoalStatusArray``  every known goal's status (latched)
=================  ==============================  ========================================

``send_goal`` and ``ActionServer`` use only ``Graph.serve/call/advertise/subscribe``,
so the embedded and the memory graph share them (the ROS graph uses rclpy's own).
Goal ids are ``unique_identifier_msgs/msg/UUID`` in rosbridge form: ``{"uuid": base64}``.
A server answers ``get_result`` with a ``Future`` that completes when the goal ends;
the client asks right after acceptance and waits (``RESULT_WAIT_S``): if the server's
process goes away the graph fails that call, so a goal never waits forever on a dead
server.
"""
from __future__ import annotations

import base64
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from .port import (
    GOAL_ABORTED,
    GOAL_CANCELING,
    GOAL_EXECUTING,
    GOAL_TERMINAL,
    GOAL_UNKNOWN,
    ActionResult,
    GoalHandle,
    Graph,
    GraphError,
    Sample,
    ServerGoal,
)

log = logging.getLogger(__name__)
RESULT_WAIT_S = 7 * 24 * 3600.0  # get_result waits for the goal's end, however long
CANCEL_TIMEOUT_S = 5.0
KEEP_RESULTS = 64  # ended goals whose result a late get_result still finds (rcl: 15 min)
# action_msgs/srv/CancelGoal return codes
CANCEL_OK, CANCEL_REJECTED, CANCEL_UNKNOWN_GOAL, CANCEL_TERMINATED = 0, 1, 2, 3
_ZERO_ID = base64.b64encode(bytes(16)).decode()


@dataclass(frozen=True)
class ActionNames:
    send_goal: str
    get_result: str
    cancel_goal: str
    feedback: str
    status: str


def action_names(action: str) -> ActionNames:
    base = action.rstrip('/') + '/_action/'
    return ActionNames(base + 'send_goal', base + 'get_result', base + 'cancel_goal',
                       base + 'feedback', base + 'status')


def action_types(type_name: str) -> ActionNames:
    """The service and message types behind action type 'pkg/action/Name'."""
    parts = type_name.split('/') if isinstance(type_name, str) else []
    if len(parts) != 3 or parts[1] != 'action' or not parts[0] or not parts[2]:
        raise GraphError(f"action type {type_name!r} must look like 'pkg/action/Name'")
    return ActionNames(type_name + '_SendGoal', type_name + '_GetResult',
                       'action_msgs/srv/CancelGoal', type_name + '_FeedbackMessage',
                       'action_msgs/msg/GoalStatusArray')


def new_goal_id() -> str:
    return base64.b64encode(uuid.uuid4().bytes).decode()


def _goal_id(msg: dict[str, Any]) -> str:
    value = (msg.get('goal_id') or {}).get('uuid')
    if isinstance(value, list):  # a graph that gives fixed arrays as lists
        value = base64.b64encode(bytes(value)).decode()
    return value if isinstance(value, str) else ''


def _stamp(now: float) -> dict[str, int]:
    sec = int(now)
    return {'sec': sec, 'nanosec': int((now - sec) * 1e9)}


# ---- client --------------------------------------------------------------------------
def send_goal(graph: Graph, action: str, type_name: str, goal: dict[str, Any],
              feedback: Callable[[dict[str, Any]], None] | None,
              timeout: float, goal_id: str | None = None) -> GoalHandle:
    """``Graph.send_goal`` over ``graph``'s services and topics (see the module doc)."""
    goal_id = goal_id or new_goal_id()
    state = {'accepted': False, 'cancel': False}
    lock = threading.Lock()
    subscription: list[Any] = []

    def cancel() -> None:
        with lock:
            state['cancel'] = True
            accepted = state['accepted']
        if accepted:
            _request_cancel(graph, names, goal_id, handle)

    handle = GoalHandle(goal_id, cancel)
    try:
        names, types = action_names(action), action_types(type_name)
        if feedback is not None:
            def on_feedback(sample: Sample) -> None:
                msg = sample.msg
                if _goal_id(msg) == goal_id and not handle.result.done():
                    feedback(msg.get('feedback') or {})
            subscription.append(graph.subscribe(names.feedback, on_feedback, types.feedback))
        request = {'goal_id': {'uuid': goal_id}, 'goal': goal}
        sent = graph.call(names.send_goal, types.send_goal, request, timeout)
    except GraphError as exc:
        _fail(handle, subscription, exc)
        return handle

    def on_result(fut: Future) -> None:
        _take_result(fut, handle, subscription, action)

    def on_accepted(fut: Future) -> None:
        try:
            accepted = bool(fut.result().get('accepted'))
        except Exception as exc:
            if names.send_goal not in graph.services():
                text = f'no action server for {action} on the graph'
            else:
                text = f'the server of {action} did not take the goal: {exc}'
            _fail(handle, subscription, GraphError(text))
            return
        if not accepted:
            _fail(handle, subscription, GraphError(f'the server of {action} rejected the goal'))
            return
        with lock:
            state['accepted'] = True
            cancel_now = state['cancel']
        graph.call(names.get_result, types.get_result, {'goal_id': {'uuid': goal_id}},
                   RESULT_WAIT_S).add_done_callback(on_result)
        if cancel_now:
            _request_cancel(graph, names, goal_id, handle)

    sent.add_done_callback(on_accepted)
    return handle


def attach_goal(graph: Graph, action: str, type_name: str, goal_id: str,
                timeout: float) -> GoalHandle:
    """``Graph.attach_goal``: ``get_result`` by id, held open until the goal ends (the
    graph fails the call at once when no server is there)."""
    handle = GoalHandle(goal_id, lambda: _request_cancel(graph, names, goal_id, handle))
    try:
        names, types = action_names(action), action_types(type_name)
    except GraphError as exc:
        return failed(exc, goal_id)

    def on_result(fut: Future) -> None:
        _take_result(fut, handle, [], action)
    graph.call(names.get_result, types.get_result, {'goal_id': {'uuid': goal_id}},
               RESULT_WAIT_S).add_done_callback(on_result)
    return handle


def unknown_goal(action: str, goal_id: str) -> GraphError:
    return GraphError(f'the server of {action} does not know goal {goal_id} (it never '
                      'arrived, or the server restarted or no longer keeps its result)')


def _take_result(fut: Future, handle: GoalHandle, subscription: list[Any], action: str) -> None:
    """A ``get_result`` response ends the goal: its status and result, or the reason
    there is none (a status that is not terminal: the server does not know the goal)."""
    try:
        response = fut.result()
        status = int(response.get('status', GOAL_UNKNOWN))
    except Exception as exc:
        _fail(handle, subscription, exc if isinstance(exc, GraphError) else GraphError(
            f'{action}: no result: {exc}'))
        return
    if status not in GOAL_TERMINAL:
        _fail(handle, subscription, unknown_goal(action, handle.goal_id))
        return
    _close(subscription)
    _settle(handle.result, ActionResult(status, response.get('result') or {}))


def failed(exc: GraphError, goal_id: str | None = None) -> GoalHandle:
    """A goal that could not be sent or followed (e.g. its type is unknown)."""
    handle = GoalHandle(goal_id or new_goal_id(), lambda: None)
    handle.result.set_exception(exc)
    return handle


def _request_cancel(graph: Graph, names: ActionNames, goal_id: str, handle: GoalHandle) -> None:
    request = {'goal_info': {'goal_id': {'uuid': goal_id}, 'stamp': _stamp(0.0)}}
    future = graph.call(names.cancel_goal, 'action_msgs/srv/CancelGoal', request,
                        CANCEL_TIMEOUT_S)

    def done(fut: Future) -> None:
        try:
            code = fut.result().get('return_code')
        except Exception as exc:
            log.warning('cancel of a goal of %s failed: %s', names.send_goal, exc)
            return
        if code not in (CANCEL_OK, CANCEL_TERMINATED):
            log.info('the server refused to cancel a goal (%s, return code %s)',
                     names.cancel_goal, code)
    future.add_done_callback(done)


def _close(subscription: list[Any]) -> None:
    while subscription:
        subscription.pop().close()


def _fail(handle: GoalHandle, subscription: list[Any], exc: BaseException) -> None:
    _close(subscription)
    try:
        handle.result.set_exception(exc)
    except Exception:  # already settled
        pass


def _settle(future: Future, value: Any) -> None:
    try:
        future.set_result(value)
    except Exception:
        pass


# ---- server --------------------------------------------------------------------------
class ActionServer:
    """``Graph.serve_action`` over ``graph``'s services and topics: accepts every goal,
    hands it to ``execute``, answers ``get_result`` when it ends and cancels on request
    (the goal's code decides when it has stopped and finishes it CANCELED)."""

    def __init__(self, graph: Graph, action: str, type_name: str,
                 execute: Callable[[ServerGoal], None],
                 clock: Callable[[], float] = time.time) -> None:
        self.action, self.type_name = action, type_name
        names, types = action_names(action), action_types(type_name)
        self._execute, self._clock = execute, clock
        self._lock = threading.Lock()
        self._goals: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._handles: list[Any] = []
        try:
            self._feedback = graph.advertise(names.feedback, types.feedback)
            self._status = graph.advertise(names.status, types.status, latched=True)
            self._handles = [
                self._feedback, self._status,
                graph.serve(names.send_goal, types.send_goal, self._on_send_goal),
                graph.serve(names.get_result, types.get_result, self._on_get_result),
                graph.serve(names.cancel_goal, types.cancel_goal, self._on_cancel_goal),
            ]
        except GraphError:
            self.close()
            raise

    def _on_send_goal(self, request: dict[str, Any]) -> dict[str, Any]:
        goal_id = _goal_id(request)
        if not goal_id or goal_id in self._goals:
            return {'accepted': False, 'stamp': _stamp(self._clock())}
        now = self._clock()
        goal = ServerGoal(goal_id, request.get('goal') or {},
                          lambda values: self._publish_feedback(goal_id, values),
                          lambda status, result: self._finished(goal_id, status, result))
        with self._lock:
            # accepted and executing at once: ``execute`` starts it on this thread
            self._goals[goal_id] = {'goal': goal, 'status': GOAL_EXECUTING, 'stamp': now,
                                    'result': None, 'waiters': []}
        self._publish_status()
        try:
            self._execute(goal)
        except Exception:
            log.exception('the server of %s failed to start a goal', self.action)
            goal.finish(GOAL_ABORTED, {})
        return {'accepted': True, 'stamp': _stamp(now)}

    def _on_get_result(self, request: dict[str, Any]) -> Any:
        future: Future = Future()
        with self._lock:
            entry = self._goals.get(_goal_id(request))
            if entry is not None and entry['result'] is None:
                entry['waiters'].append(future)
                return future
        if entry is None:
            future.set_result({'status': GOAL_UNKNOWN, 'result': {}})
        else:
            future.set_result({'status': entry['status'], 'result': entry['result']})
        return future

    def _on_cancel_goal(self, request: dict[str, Any]) -> dict[str, Any]:
        info = request.get('goal_info') or {}
        goal_id = _goal_id(info)
        with self._lock:
            if goal_id == _ZERO_ID:  # a zero id: every goal (rcl_action's rule, stamps aside)
                chosen = list(self._goals.items())
            else:
                chosen = [(goal_id, self._goals[goal_id])] if goal_id in self._goals else []
            canceling = [(gid, e) for gid, e in chosen if e['status'] not in GOAL_TERMINAL]
            for _, entry in canceling:
                entry['status'] = GOAL_CANCELING
                entry['goal'].cancel_requested = True
        if not chosen:
            return {'return_code': CANCEL_UNKNOWN_GOAL, 'goals_canceling': []}
        if not canceling:
            return {'return_code': CANCEL_TERMINATED, 'goals_canceling': []}
        self._publish_status()
        for _, entry in canceling:
            callback = entry['goal'].on_cancel
            if callback is not None:
                try:
                    callback()
                except Exception:
                    log.exception('the cancel callback of a goal of %s failed', self.action)
        return {'return_code': CANCEL_OK, 'goals_canceling': [
            {'goal_id': {'uuid': gid}, 'stamp': _stamp(e['stamp'])} for gid, e in canceling]}

    def _publish_feedback(self, goal_id: str, values: dict[str, Any]) -> None:
        try:
            self._feedback.publish({'goal_id': {'uuid': goal_id}, 'feedback': values})
        except GraphError as exc:
            log.warning('feedback of a goal of %s dropped: %s', self.action, exc)

    def _finished(self, goal_id: str, status: int, result: dict[str, Any]) -> None:
        with self._lock:
            entry = self._goals.get(goal_id)
            if entry is None:
                return
            entry['status'], entry['result'] = status, result
            waiters, entry['waiters'] = entry['waiters'], []
            ended = [g for g, e in self._goals.items() if e['result'] is not None]
            for old in ended[:-KEEP_RESULTS]:
                del self._goals[old]
        self._publish_status()
        for waiter in waiters:
            _settle(waiter, {'status': status, 'result': result})

    def _publish_status(self) -> None:
        with self._lock:
            status_list = [{'goal_info': {'goal_id': {'uuid': gid}, 'stamp': _stamp(e['stamp'])},
                            'status': e['status']} for gid, e in self._goals.items()]
        try:
            self._status.publish({'status_list': status_list})
        except GraphError as exc:
            log.warning('status of %s not published: %s', self.action, exc)

    def close(self) -> None:
        """Stop serving; goals still running are aborted for their clients."""
        with self._lock:
            open_goals = [e['goal'] for e in self._goals.values() if e['result'] is None]
        for goal in open_goals:
            goal.finish(GOAL_ABORTED, {})
        for handle in self._handles:
            handle.close()
        self._handles = []
