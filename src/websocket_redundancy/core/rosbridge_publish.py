"""The rosbridge v2 publishing ops of a ``Session``: ``advertise``, ``unadvertise`` and
``publish``, sans-IO.

As rosbridge_server 2.x keeps them: every advertisement id counts, and the tier's
publisher of a topic stays while any id of any client holds it (the shell closes it
after a grace, ``tier/publishers.py``); a bare ``publish`` whose type is known (given,
or found by the shell on the graph) holds the publisher like an advertisement without
an id, until ``unadvertise`` or the disconnect. Publishing needs the topic in the tier's
publish scope and a role that may act (``Session.may_act``).
"""
from __future__ import annotations

from typing import Any

from .commands import Advertise, Publish, Unadvertise


def may_publish(session, topic: str, op: str, call_id: Any) -> list[Any]:
    """[] when ``session`` may publish ``topic``, else the refusal."""
    tier = session.tier
    if not tier.publish.allows(topic):
        return session._refuse('scope', f"{op}: {topic} is outside the {tier.name} tier's "
                               f'publish scope ({tier.publish})', op, call_id)
    if not session.may_act():
        return session._refuse('auth', f'{op}: {session.may_not(f"publish {topic}")}', op,
                               call_id)
    return []


def op_advertise(session, frame: dict[str, Any], now: float) -> list[Any]:
    from .rosbridge import _short, normalize_type
    topic, err = session._topic(frame, 'advertise')
    if err:
        return err
    raw, err = session._field(frame, 'type', str, 'advertise')
    if err:
        return err
    type_name = normalize_type(raw)
    if type_name is None:
        return session._refuse('bad_field', f'advertise: type {raw!r} is not a ROS type name',
                               'advertise', frame.get('id'))
    latch = frame.get('latch', False)
    if not isinstance(latch, bool):
        return session._refuse('bad_field', "advertise: 'latch' must be true or false, got "
                               f'{_short(latch)}', 'advertise', frame.get('id'))
    err = may_publish(session, topic, 'advertise', frame.get('id'))
    if err:
        return err
    return advertise(session, topic, type_name, frame.get('id'), latch)


def advertise(session, topic: str, type_name: str, adv_id: Any,
              latched: bool = False) -> list[Any]:
    """Count advertisement ``adv_id`` on ``topic`` (as rosbridge does: per id, the
    publisher stays while any id of any client holds it)."""
    ids = session.advertisers.setdefault(topic, set())
    ids.add('' if adv_id is None else str(adv_id))
    if session.advertised.get(topic) == type_name and not latched:
        return []
    session.advertised[topic] = type_name
    return [Advertise(topic, type_name, latched)]


def advertise_implicitly(session, topic: str, type_name: str) -> list[Any]:
    """A bare ``publish`` whose type the shell found: it holds the publisher like an
    advertisement without an id, until ``unadvertise`` or the disconnect."""
    return advertise(session, topic, type_name, None)


def op_unadvertise(session, frame: dict[str, Any], now: float) -> list[Any]:
    topic, err = session._topic(frame, 'unadvertise')
    if err:
        return err
    ids = session.advertisers.get(topic)
    if ids is None:
        return []
    if frame.get('id') is None:
        ids.clear()
    else:
        ids.discard(str(frame['id']))
    if ids:
        return []
    del session.advertisers[topic]
    session.advertised.pop(topic, None)
    return [Unadvertise(topic)]


def op_publish(session, frame: dict[str, Any], now: float) -> list[Any]:
    from .rosbridge import normalize_type
    topic, err = session._topic(frame, 'publish')
    if err:
        return err
    msg, err = session._field(frame, 'msg', dict, 'publish')
    if err:
        return err
    err = may_publish(session, topic, 'publish', frame.get('id'))
    if err:
        return err
    type_name = session.advertised.get(topic)
    if type_name is not None:
        return [Publish(topic, type_name, msg)]
    if frame.get('type'):
        type_name = normalize_type(frame['type'])
    if type_name:  # a bare publish advertises implicitly, until unadvertise or disconnect
        return [*advertise(session, topic, type_name, None), Publish(topic, type_name, msg)]
    return [Publish(topic, '', msg)]
