"""Services a client provides: rosbridge v2 ``advertise_service``, ``service_response``
and ``unadvertise_service``, sans-IO.

A client whose role may act on the tier (the publishing roles) advertises a service in
the tier's ``services`` scope, and the shell serves it on the graph
(``AdvertiseService``). Each graph call becomes a ``call_service`` frame to that client
(``request``) with an id of rosbridge_library's form ``service_request:<service>:<n>``;
the client's ``service_response`` with that id completes the call (``AnswerCall``).

Where rosbridge_library 2.x (Humble 2.0.8, Jazzy 2.7.1) would hang or silently replace,
this answers:

* a call the client does not answer within ``limits.provided_call_timeout_s`` (default
  5 s, rosbridge_server's ``default_call_service_timeout``) fails; rosbridge waits
  forever;
* ``unadvertise_service`` and the disconnect fail the calls in flight at once; rosbridge
  fails them on unadvertise, and after a disconnect keeps serving the name with calls
  that never complete;
* a name another client or node already serves is refused (the shell checks); rosbridge
  lets the second advertiser take it over;
* a ``service_response`` with an unknown id, or for a call that is not this client's,
  is refused and answers nothing; a malformed one for a call of this client fails that
  call at once instead of letting it time out;
* a client provides at most ``limits.max_provided_services`` services and has at most
  ``limits.max_provided_calls`` calls waiting for its answers (more fail at once), fewer
  than the control queue holds, so a burst of graph calls cannot overflow it; the goals
  of the actions it provides (``rosbridge_action_servers``) count in the same budget.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .commands import AdvertiseService, AnswerCall, Reply, UnadvertiseService
from .scope import is_ros_name

if TYPE_CHECKING:
    from .rosbridge import Session

RESERVED = '/websocket_redundancy/'  # the tiers' and the coordinator's own names
REASON_CHARS = 200
_SRV = re.compile(r'^([A-Za-z0-9_]+)/(?:srv/)?([A-Za-z0-9_]+)$')


@dataclass
class _Call:
    service: str
    deadline: float
    waiter: Any


@dataclass
class Provider:
    """What one client provides: its services (name -> type) and the graph calls
    waiting for its answers (call id -> call); its actions and their goals in flight
    (``rosbridge_action_servers``)."""

    services: dict[str, str] = field(default_factory=dict)
    calls: dict[str, _Call] = field(default_factory=dict)
    counter: int = 0
    actions: dict[str, str] = field(default_factory=dict)  # action -> 'pkg/action/Name'
    goals: dict[str, Any] = field(default_factory=dict)  # goal id -> rosbridge_action_servers._Goal

    def next_deadline(self) -> float | None:
        return min((call.deadline for call in self.calls.values()), default=None)

    def waiting(self) -> int:
        """Graph calls and goals waiting for this client's answers (one budget:
        ``limits.max_provided_calls``)."""
        return len(self.calls) + len(self.goals)


@dataclass(frozen=True)
class Offer:
    """What a client can provide (a service, an action): how ``advertise_<noun>`` names
    it, reads its type, keeps it in the ``Provider`` and asks the shell to serve it."""

    noun: str  # 'service': the op is advertise_service, the frame names it in 'service'
    example: str  # a type name for the refusal
    parse: Callable[[str], str | None]  # the frame's type -> 'pkg/<kind>/Name', or None
    held: Callable[[Provider], dict[str, str]]  # the provider's names -> types
    command: Callable[[str, str], Any]  # (name, type) -> the command that serves it


# ---- ops (registered in rosbridge._HANDLERS) -----------------------------------------
def advertise(offer: Offer, session: Session, frame: dict) -> list[Any]:
    """``advertise_service`` / ``advertise_action``: check, remember, serve."""
    op, call_id, noun = f'advertise_{offer.noun}', frame.get('id'), offer.noun
    name, err = ros_name(session, frame, op, noun)
    if err:
        return err
    raw, err = session._field(frame, 'type', str, op)
    if err:
        return err
    type_name = offer.parse(raw)
    if type_name is None:
        return session._refuse('bad_field', f'{op}: type {raw!r} is not a ROS {noun} type '
                               f'like {offer.example!r}', op, call_id)
    err = may_provide(session, name, op, call_id)
    if err:
        return err
    table = offer.held(session.provider)
    held = table.get(name)
    if held == type_name:
        return []
    if held is not None:
        return session._refuse('conflict', f'{op}: this client already provides {name} as '
                               f'{held}; un{op} it before advertising it as {type_name}',
                               op, call_id)
    limit = session.limits.max_provided_services
    if len(table) >= limit:
        return session._refuse('limit', f'{op}: a client may provide at most {limit} '
                               f'{noun}s; un{op} one first', op, call_id)
    table[name] = type_name
    return [offer.command(name, type_name)]


def op_advertise_service(session: Session, frame: dict, now: float) -> list[Any]:
    return advertise(SERVICE, session, frame)


def op_unadvertise_service(session: Session, frame: dict, now: float) -> list[Any]:
    op = 'unadvertise_service'
    service, err = ros_name(session, frame, op)
    if err:
        return err
    if service not in session.provider.services:
        return session._refuse('bad_field', f'{op}: this client does not provide {service}',
                               op, frame.get('id'))
    return _withdraw(session.provider, service, f'the client providing {service} '
                     'unadvertised it')


def op_service_response(session: Session, frame: dict, now: float) -> list[Any]:
    op, call_id = 'service_response', frame.get('id')
    service, err = ros_name(session, frame, op)
    if err:
        return err
    if call_id is None:
        return session._refuse('bad_field', f"{op}: 'id' is missing; answer with the id of "
                               'the call_service it answers', op, None)
    calls = session.provider.calls
    call = calls.get(str(call_id))
    if call is None or call.service != service:
        return session._refuse('bad_field', f'{op}: no call {call_id!r} of {service} is '
                               "waiting for this client's answer (answered, timed out, or "
                               'never sent to it)', op, call_id)
    result, values = frame.get('result'), frame.get('values')
    if values is None or values == []:  # roslibjs sends [] for an empty response
        values = {}
    problem = ''
    if not isinstance(result, bool):
        problem = f"'result' must be true or false, got {short(result)}"
    elif result and not isinstance(values, dict):
        problem = f"'values' must be an object, got {short(values)}"
    del calls[str(call_id)]
    if problem:
        return [*session._refuse('bad_field', f'{op}: {problem}', op, call_id),
                AnswerCall(call.waiter, False, f'the client providing {service} sent a '
                           f'malformed service_response: {problem}')]
    if not result:  # roslibjs sends no values with a failure; advertiseAsync the error
        why = f': {short(values, REASON_CHARS)}' if values != {} else ''
        return [AnswerCall(call.waiter, False,
                           f'the client providing {service} reported a failure{why}')]
    return [AnswerCall(call.waiter, True, values)]


# ---- the shell's side ---------------------------------------------------------------
def request(session: Session, service: str, args: dict[str, Any], waiter: Any,
            now: float) -> list[Any]:
    """A graph call of ``service`` reached this client's tier at ``now``: the
    ``call_service`` frame to send it, or the call's failure."""
    provider = session.provider
    if service not in provider.services:
        return [AnswerCall(waiter, False, f'the client providing {service} unadvertised it')]
    limit = session.limits.max_provided_calls
    if provider.waiting() >= limit:
        return [AnswerCall(waiter, False, f'the client providing {service} already has '
                           f'{limit} calls and goals waiting for its answers; try again later')]
    provider.counter += 1
    call_id = f'service_request:{service}:{provider.counter}'
    provider.calls[call_id] = _Call(service, now + session.limits.provided_call_timeout_s,
                                    waiter)
    return [Reply({'op': 'call_service', 'id': call_id, 'service': service, 'args': args})]


def expire(session: Session, now: float) -> list[Any]:
    """Fail the calls whose deadline has come by ``now``."""
    calls = session.provider.calls
    late = [call_id for call_id, call in calls.items() if call.deadline <= now]
    timeout = session.limits.provided_call_timeout_s
    return [AnswerCall(call.waiter, False, f'the client providing {call.service} did not '
                       f'answer within {timeout:g} s')
            for call in (calls.pop(call_id) for call_id in late)]


def refuse_advertise(session: Session, service: str, kind: str, text: str) -> list[Any]:
    """The shell cannot serve ``service`` (``text`` says why): forget it, refuse."""
    session.provider.services.pop(service, None)
    return session._refuse(kind, f'advertise_service: {text}', 'advertise_service', None)


def closed(session: Session) -> list[Any]:
    """The client is gone: fail its calls in flight and stop serving its services."""
    provider = session.provider
    commands: list[Any] = []
    for service in list(provider.services):
        commands += _withdraw(provider, service, f'the client providing {service} disconnected')
    return commands


def _withdraw(provider: Provider, service: str, reason: str) -> list[Any]:
    del provider.services[service]
    ids = [call_id for call_id, call in provider.calls.items() if call.service == service]
    answers = [AnswerCall(provider.calls.pop(call_id).waiter, False, reason) for call_id in ids]
    return [*answers, UnadvertiseService(service)]


def may_provide(session: Session, name: str, op: str, call_id: Any) -> list[Any]:
    """[] when this client may provide ``name`` (a service or an action) here, else the
    refusal: the name is reserved, outside the tier's ``services`` scope, or the client's
    role may not act."""
    if name.startswith(RESERVED):
        return session._refuse('scope', f'{op}: {name} is in {RESERVED}, which belongs to '
                               'the tiers and the coordinator; provide it under another name',
                               op, call_id)
    if not session.tier.services.allows(name):
        return session._refuse('scope', f'{op}: {name} is outside the {session.tier.name} '
                               f"tier's service scope ({session.tier.services}); add it to "
                               f'tiers.{session.tier.name}.services', op, call_id)
    if not session.may_act():
        return session._refuse('auth', f'{op}: {session.may_not(f"provide {name}")}', op,
                               call_id)
    return []


def ros_name(session: Session, frame: dict, op: str, key: str = 'service'):
    """(the ROS name in ``frame[key]``, []) or (None, the refusal)."""
    name, err = session._field(frame, key, str, op)
    if err:
        return None, err
    if not is_ros_name(name):
        return None, session._refuse('bad_field', f'{op}: {name!r} is not a valid ROS name '
                                     "(it must start with '/')", op, frame.get('id'))
    return name, []


def _srv_type(raw: str) -> str | None:
    """'std_srvs/SetBool' or 'std_srvs/srv/SetBool' -> 'std_srvs/srv/SetBool'."""
    match = _SRV.match(raw)
    return f'{match.group(1)}/srv/{match.group(2)}' if match else None


SERVICE = Offer('service', 'std_srvs/srv/SetBool', _srv_type, lambda p: p.services,
                AdvertiseService)


def short(value: Any, limit: int = 60) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit - 3] + '...'
