"""The rosbridge v2 action-client ops of a ``Session``: ``send_action_goal`` and
``cancel_action_goal`` in, ``action_feedback`` and ``action_result`` out.

As rosbridge_server 2.x (``capabilities/send_action_goal.py``): a goal ends with one
``action_result`` ``{id, action, values, status, result}``. ``result: true`` when the
server ended the goal (``status`` 4 succeeded, 5 canceled, 6 aborted; ``values`` the
action's Result); ``result: false`` with ``status`` 0 and the reason as ``values``
when the goal never ran: refused here (scope, role, limits, bad fields), unknown
type, no server, rejected. ``action_feedback`` ``{id, action, values}`` is sent only
when the goal asked with ``feedback: true``. A refusal is always such a result, so a
client waiting on its goal never hangs.

Scope and role: the action name must be in the tier's ``services`` scope and the
client's role allowed to act (``Session.may_act``). At most ``MAX_GOALS`` goals per
connection are in flight. A goal is named on its connection by the frame's ``id``
(roslibpy and roslibjs always give one); a cancel names the same ``id``.

Re-attaching (an extension; standard clients never send nor receive it): a
``send_action_goal`` may carry ``goal_id``, the goal's ROS id (a UUID, base64) chosen
by the client. The tier sends the goal under that id and every ``action_feedback`` and
``action_result`` of it carries ``goal_id`` (feedback also the sample's ``epoch`` and
``seq``). On any tier whose scope has the action, ``attach_action_goal`` ``{id, action,
action_type, goal_id, feedback, resume: {epoch, seq}}`` follows that goal: the feedback
after ``resume`` the tier still holds (``action_feedback_gap`` first when it cannot
tell that nothing is missing), then live feedback and the one ``action_result``. A
refused attach is answered with a failed ``action_result`` that also says
``attached: false`` (this tier cannot follow the goal; it runs on). An ``action_result``
with ``result: false`` otherwise means the server does not know the goal.
"""
from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

from .commands import AttachGoal, CancelGoal, DetachGoals, Refused, Reply, SendGoal
from .scope import is_ros_name

MAX_GOALS = 8  # goals in flight per connection
STATUS_UNKNOWN = 0  # action_msgs/msg/GoalStatus: the goal never ran
_ACTION_TYPE = re.compile(r'^([A-Za-z0-9_]+)/(?:action/)?([A-Za-z0-9_]+)$')


@dataclass
class Goal:
    action: str
    call_id: str | int | None
    feedback: bool
    canceled: bool = False
    goal_id: str | None = None  # given by the client: frames name it (re-attaching)
    attach: bool = False  # followed with attach_action_goal, not sent here


def normalize_action_type(type_name: Any) -> str | None:
    """'pkg/action/Name' or 'pkg/Name' -> 'pkg/action/Name'; None if neither."""
    match = _ACTION_TYPE.match(type_name) if isinstance(type_name, str) else None
    return f'{match.group(1)}/action/{match.group(2)}' if match else None


def goal_id_problem(value: Any) -> str:
    """'' when ``value`` is a goal id (16 bytes as base64), else what is wrong."""
    try:
        raw = base64.b64decode(value, validate=True) if isinstance(value, str) else b''
    except (binascii.Error, ValueError):
        raw = b''
    if len(raw) == 16:
        return ''
    return f"'goal_id' must be a UUID as base64 (16 bytes), got {_short(value)}"


def op_send_action_goal(session, frame: dict[str, Any], now: float) -> list[Any]:
    return _take_goal(session, frame, attach=False)


def op_attach_action_goal(session, frame: dict[str, Any], now: float) -> list[Any]:
    return _take_goal(session, frame, attach=True)


def _take_goal(session, frame: dict[str, Any], attach: bool) -> list[Any]:
    _refuse = _refuse_attach if attach else _refuse_send
    action = frame.get('action')
    call_id = frame.get('id')
    if not isinstance(action, str) or not is_ros_name(action):
        return _refuse(session, frame, 'bad_field', f"'action' must be a ROS name starting "
                       f'with \'/\', got {_short(action)}')
    type_name = normalize_action_type(frame.get('action_type'))
    if type_name is None:
        return _refuse(session, frame, 'bad_field', "'action_type' must be an action type "
                       "like 'nav2_msgs/action/NavigateToPose', got "
                       f'{_short(frame.get("action_type"))}')
    args = frame.get('args', {})
    if args is None or (isinstance(args, list) and not args):
        args = {}
    if not isinstance(args, dict):
        return _refuse(session, frame, 'bad_field', "'args' must be an object with the "
                       "goal's fields")
    feedback = frame.get('feedback', attach)
    if not isinstance(feedback, bool):
        return _refuse(session, frame, 'bad_field', "'feedback' must be true or false")
    goal_id = frame.get('goal_id')
    if (goal_id is not None or attach) and goal_id_problem(goal_id):
        return _refuse(session, frame, 'bad_field', goal_id_problem(goal_id))
    resume = _resume_key(frame.get('resume')) if attach else None
    if resume == ():
        return _refuse(session, frame, 'bad_field', "'resume' must be {\"epoch\": str, "
                       '"seq": int} (the last feedback sample seen) or absent')
    tier = session.tier
    if not tier.services.allows(action):
        return _refuse(session, frame, 'scope', f"{action} is outside the {tier.name} tier's "
                       f'service scope ({tier.services}); send the goal to a tier that '
                       'serves it')
    if not session.may_act():
        return _refuse(session, frame, 'auth', session.may_not(f'send goals to {action}'))
    goals = session.goals
    if len(goals) >= MAX_GOALS:
        return _refuse(session, frame, 'limit', f'{MAX_GOALS} goals are already in flight on '
                       'this connection; wait for a result or cancel one')
    if call_id is None:
        key = _unused_key(goals)
    else:
        key = str(call_id)
        if key in goals:
            return _refuse(session, frame, 'bad_field', f'a goal with id {key!r} is already '
                           'in flight on this connection; give each goal its own id')
    goals[key] = Goal(action, call_id, feedback, goal_id=goal_id, attach=attach)
    if attach:
        return [AttachGoal(key, call_id, action, type_name, goal_id, feedback, resume)]
    return [SendGoal(key, call_id, action, type_name, args, feedback, goal_id)]


def op_cancel_action_goal(session, frame: dict[str, Any], now: float) -> list[Any]:
    action = frame.get('action')
    call_id = frame.get('id')
    goal = session.goals.get(str(call_id)) if call_id is not None else None
    if goal is None or goal.action != action:
        detail = (f'cancel_action_goal: no goal with id {_short(call_id)} of {_short(action)} is '
                  'in flight on this connection (it may have ended already)')
        return session._refuse('bad_field', detail, 'cancel_action_goal', call_id)
    if goal.canceled:
        return []
    goal.canceled = True
    return [CancelGoal(str(call_id), action)]


# ---- outgoing (the shell calls these as the graph reports) ------------------------------
def feedback_reply(session, key: str, values: dict[str, Any],
                   position: tuple[str, int] | None = None) -> Reply | None:
    """The ``action_feedback`` frame for goal ``key``, or None if nobody wants it; a
    goal the client named by ``goal_id`` gets it and the sample's ``position``."""
    goal = session.goals.get(key)
    if goal is None or not goal.feedback:
        return None
    frame = {'op': 'action_feedback', 'action': goal.action, 'values': values}
    if goal.call_id is not None:
        frame['id'] = goal.call_id
    if goal.goal_id is not None:
        frame['goal_id'] = goal.goal_id
        if position is not None:
            frame['epoch'], frame['seq'] = position
    return Reply(frame)


def gap_reply(session, key: str, requested: tuple[str, int] | None,
              available: tuple[str, int] | None, reason: str) -> Reply | None:
    """``action_feedback_gap``: feedback of re-attached goal ``key`` after ``requested``
    and before ``available`` that this tier no longer has (sent only to a client that
    asked with ``attach_action_goal``)."""
    goal = session.goals.get(key)
    if goal is None or not goal.feedback or goal.goal_id is None:
        return None
    frame = {'op': 'action_feedback_gap', 'action': goal.action, 'goal_id': goal.goal_id,
             'requested': _wire_key(requested), 'available': _wire_key(available),
             'reason': reason}
    if goal.call_id is not None:
        frame['id'] = goal.call_id
    return Reply(frame)


def result_reply(session, key: str, ok: bool, status: int, values: Any) -> Reply | None:
    """The ``action_result`` that ends goal ``key`` (the goal leaves the session)."""
    goal = session.goals.pop(key, None)
    if goal is None:
        return None
    frame = _result(goal.action, goal.call_id, ok, status, values)
    if goal.goal_id is not None:
        frame['goal_id'] = goal.goal_id
    return Reply(frame)


def watching(session) -> list[tuple[str, Goal]]:
    """(key, goal) of every goal this client named by ``goal_id``."""
    return [(key, goal) for key, goal in session.goals.items() if goal.goal_id is not None]


def closed(session) -> list[Any]:
    if not session.goals:
        return []
    session.goals.clear()
    return [DetachGoals()]


def _result(action: Any, call_id: Any, ok: bool, status: int, values: Any) -> dict[str, Any]:
    frame = {'op': 'action_result', 'action': action, 'values': values, 'status': status,
             'result': ok}
    if call_id is not None:
        frame['id'] = call_id
    return frame


def failed_result(frame: dict[str, Any], text: str) -> dict[str, Any]:
    """The failed ``action_result`` a refused ``send_action_goal`` is answered with."""
    action = frame.get('action')
    call_id = frame.get('id')
    return _result(action if isinstance(action, str) else '',
                   call_id if isinstance(call_id, (str, int)) else None, False,
                   STATUS_UNKNOWN, text)


def failed_attach(frame: dict[str, Any], text: str) -> dict[str, Any]:
    """The failed ``action_result`` a refused ``attach_action_goal`` is answered with:
    ``attached: false`` says the goal runs on, only this tier cannot follow it."""
    reply = failed_result(frame, text)
    if isinstance(frame.get('goal_id'), str):
        reply['goal_id'] = frame['goal_id']
    reply['attached'] = False
    return reply


def _refuse_send(session, frame: dict[str, Any], kind: str, text: str) -> list[Any]:
    action = frame.get('action')
    action = action if isinstance(action, str) else ''
    reply = _result(action, frame.get('id'), False, STATUS_UNKNOWN, text)
    if isinstance(frame.get('goal_id'), str):
        reply['goal_id'] = frame['goal_id']
    return [Refused(kind, f'send_action_goal {action}: {text}'), Reply(reply)]


def _refuse_attach(session, frame: dict[str, Any], kind: str, text: str) -> list[Any]:
    action = frame.get('action')
    action = action if isinstance(action, str) else ''
    return [Refused(kind, f'attach_action_goal {action}: {text}'),
            Reply(failed_attach(frame, text))]


def _resume_key(value: Any):
    """None, (epoch, seq), or () when malformed."""
    if value is None:
        return None
    if isinstance(value, dict) and isinstance(value.get('epoch'), str) and \
            isinstance(value.get('seq'), int) and not isinstance(value.get('seq'), bool):
        return value['epoch'], value['seq']
    return ()


def _wire_key(key: tuple[str, int] | None) -> dict[str, Any] | None:
    return None if key is None else {'epoch': key[0], 'seq': key[1]}


def _unused_key(goals: dict[str, Goal]) -> str:
    n = len(goals)
    while f'#{n}' in goals:
        n += 1
    return f'#{n}'


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + '...'
