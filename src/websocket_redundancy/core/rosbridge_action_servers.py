"""Actions a client provides: rosbridge v2 ``advertise_action``, ``action_feedback``,
``action_result`` and ``unadvertise_action``, sans-IO.

A client whose role may act on the tier advertises an action in the tier's ``services``
scope, and the shell serves it on the graph (``AdvertiseAction``). Each goal a graph
client sends becomes a ``send_action_goal`` frame to that client ``{id, action,
action_type, args, feedback: true}`` with an id of rosbridge_library's form
``action_goal:<action>:<n>``; a graph cancel becomes ``cancel_action_goal {id,
action}``. The client answers ``action_feedback {id, action, values}`` while it works
and one ``action_result {id, action, values, status, result}``: ``result: true`` with
``status`` 4 (succeeded) or 5 (canceled, after a cancel) ends the goal so, anything else
ends it aborted (roslibjs's ``setFailed`` sends ``result: false`` and no values), as
rosbridge_server 2.x (Humble 2.0.8, Jazzy 2.7.1, ``advertise_action.py``) does.

The rules are those of client-provided services (``rosbridge_services``, whose checks
this reuses): the name in the ``services`` scope and outside ``/websocket_redundancy/``,
a role that may act, one provider per name (the shell checks the graph). Where rosbridge
would hang, replace silently or guess, this answers:

* a goal has no deadline (actions run long), but ``unadvertise_action`` and the
  disconnect end every goal in flight aborted at once, with a reason the tier logs;
  rosbridge aborts them on unadvertise, and after a disconnect keeps the server with
  goals that never end;
* ``action_feedback`` / ``action_result`` with an unknown id, for a goal of another
  action, or from a client that does not provide the action, are refused and change
  nothing; a malformed ``action_result`` for a goal of this client ends it aborted at
  once (the refusal says why);
* ``status`` 5 (canceled) for a goal no one asked to cancel ends it aborted (ROS 2 lets
  only a canceling goal end canceled);
* a client provides at most ``limits.max_provided_services`` actions, and its goals in
  flight count with its service calls against ``limits.max_provided_calls`` (a goal
  over it ends aborted at once), so a burst of goals cannot overflow the control queue.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .commands import AdvertiseAction, EndServedGoal, Reply, ServedFeedback, UnadvertiseAction
from .rosbridge_actions import normalize_action_type
from .rosbridge_services import REASON_CHARS, Offer, advertise, ros_name, short

if TYPE_CHECKING:
    from .rosbridge import Session

# action_msgs/msg/GoalStatus
SUCCEEDED, CANCELED, ABORTED = 4, 5, 6


@dataclass
class _Goal:
    action: str
    goal: Any  # the shell's handle (graph.port.ServerGoal)
    cancel_requested: bool = False


# ---- ops (registered in rosbridge._HANDLERS) -----------------------------------------
ACTION = Offer('action', 'example_interfaces/action/Fibonacci', normalize_action_type,
              lambda p: p.actions, AdvertiseAction)


def op_advertise_action(session: Session, frame: dict, now: float) -> list[Any]:
    return advertise(ACTION, session, frame)


def op_unadvertise_action(session: Session, frame: dict, now: float) -> list[Any]:
    op = 'unadvertise_action'
    action, err = ros_name(session, frame, op, 'action')
    if err:
        return err
    if action not in session.provider.actions:
        return session._refuse('bad_field', f'{op}: this client does not provide {action}',
                               op, frame.get('id'))
    return _withdraw(session, action, f'the client providing {action} unadvertised it')


def op_action_feedback(session: Session, frame: dict, now: float) -> list[Any]:
    op = 'action_feedback'
    goal_id, goal, err = _goal_of(session, frame, op)
    if err:
        return err
    values = frame.get('values')
    if values is None or values == []:
        values = {}
    if not isinstance(values, dict):
        return session._refuse('bad_field', f"{op}: 'values' must be an object with the "
                               f"action's feedback fields, got {short(values)}", op, goal_id)
    return [ServedFeedback(goal.goal, values)]


def op_action_result(session: Session, frame: dict, now: float) -> list[Any]:
    op = 'action_result'
    goal_id, goal, err = _goal_of(session, frame, op)
    if err:
        return err
    result, status, values = frame.get('result'), frame.get('status'), frame.get('values')
    if values is None or values == []:
        values = {}
    problem = ''
    if not isinstance(result, bool):
        problem = f"'result' must be true or false, got {short(result)}"
    elif result and (isinstance(status, bool) or status not in (SUCCEEDED, CANCELED, ABORTED)):
        problem = (f"'status' must be {SUCCEEDED} (succeeded), {CANCELED} (canceled) or "
                   f'{ABORTED} (aborted), got {short(status)}')
    elif result and not isinstance(values, dict):
        problem = f"'values' must be an object with the action's result fields, got {short(values)}"
    del session.provider.goals[goal_id]
    action = goal.action
    if problem:
        return [*session._refuse('bad_field', f'{op}: {problem}', op, goal_id),
                EndServedGoal(goal.goal, ABORTED, {}, f'the client providing {action} sent a '
                              f'malformed action_result: {problem}')]
    if not result:  # roslibjs's setFailed: no values
        why = f': {short(values, REASON_CHARS)}' if values != {} else ''
        return [EndServedGoal(goal.goal, ABORTED, {},
                              f'the client providing {action} reported a failure{why}')]
    if status == CANCELED and not goal.cancel_requested:
        return [EndServedGoal(goal.goal, ABORTED, values, f'the client providing {action} '
                              'ended a goal canceled that no one asked to cancel')]
    return [EndServedGoal(goal.goal, status, values)]


# ---- the shell's side ---------------------------------------------------------------
def goal(session: Session, action: str, args: dict[str, Any], handle: Any) -> list[Any]:
    """A graph goal of ``action`` (its handle ``handle``) reached this client's tier:
    the ``send_action_goal`` frame to send the client, or the goal's end."""
    provider = session.provider
    type_name = provider.actions.get(action)
    if type_name is None:
        return [EndServedGoal(handle, ABORTED, {}, f'the client providing {action} '
                              'unadvertised it')]
    limit = session.limits.max_provided_calls
    if provider.waiting() >= limit:
        return [EndServedGoal(handle, ABORTED, {}, f'the client providing {action} already '
                              f'has {limit} calls and goals waiting for its answers; try '
                              'again later')]
    provider.counter += 1
    goal_id = f'action_goal:{action}:{provider.counter}'
    provider.goals[goal_id] = _Goal(action, handle)
    return [Reply({'op': 'send_action_goal', 'id': goal_id, 'action': action,
                   'action_type': type_name, 'args': args, 'feedback': True})]


def cancel(session: Session, handle: Any) -> list[Any]:
    """A graph client asked to cancel the goal ``handle``: the ``cancel_action_goal``
    frame for the client ([] once the goal has ended, or after the first ask)."""
    for goal_id, entry in session.provider.goals.items():
        if entry.goal is handle:
            if entry.cancel_requested:
                return []
            entry.cancel_requested = True
            return [Reply({'op': 'cancel_action_goal', 'id': goal_id, 'action': entry.action})]
    return []


def refuse_advertise(session: Session, action: str, kind: str, text: str) -> list[Any]:
    """The shell cannot serve ``action`` (``text`` says why): forget it, refuse."""
    session.provider.actions.pop(action, None)
    return session._refuse(kind, f'advertise_action: {text}', 'advertise_action', None)


def closed(session: Session) -> list[Any]:
    """The client is gone: end its goals in flight aborted, stop serving its actions."""
    commands: list[Any] = []
    for action in list(session.provider.actions):
        commands += _withdraw(session, action, f'the client providing {action} disconnected')
    return commands


def _withdraw(session: Session, action: str, reason: str) -> list[Any]:
    provider = session.provider
    del provider.actions[action]
    ids = [goal_id for goal_id, entry in provider.goals.items() if entry.action == action]
    ends = [EndServedGoal(provider.goals.pop(goal_id).goal, ABORTED, {}, reason)
            for goal_id in ids]
    return [*ends, UnadvertiseAction(action)]


def _goal_of(session: Session, frame: dict, op: str):
    """(the goal id, the goal, []) for a frame about a goal of this client, or
    (id, None, the refusal)."""
    call_id = frame.get('id')
    action, err = ros_name(session, frame, op, 'action')
    if err:
        return call_id, None, err
    if action not in session.provider.actions:
        return call_id, None, session._refuse(
            'bad_field', f'{op}: this client does not provide {action}; advertise_action it '
            'first', op, call_id)
    if call_id is None:
        return None, None, session._refuse('bad_field', f"{op}: 'id' is missing; answer with "
                                           'the id of the send_action_goal it answers', op, None)
    entry = session.provider.goals.get(str(call_id))
    if entry is None or entry.action != action:
        return call_id, None, session._refuse(
            'bad_field', f'{op}: no goal {call_id!r} of {action} is in flight for this client '
            '(it ended, or was never sent to it)', op, call_id)
    return str(call_id), entry, []
