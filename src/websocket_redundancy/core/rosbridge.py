"""The rosbridge v2 session: one client's incoming frames in, commands out.

``Session.receive(data, is_binary, now)`` validates one WebSocket frame against the
protocol, the tier's scopes, the client's role and the limits, and answers with a
list of commands (frozen dataclasses) for the shell to carry out. Bad input never
raises: it becomes ``Refused`` (logged and counted by the shell) plus, for clients
that asked with ``set_level`` or for service calls, a reply they can read. Standard
clients (roslibpy raises on an unknown ``status`` op) are sent only ops they know.
"""
from __future__ import annotations

import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import rosbridge_action_servers as served
from . import rosbridge_services as provided
from .commands import (
    CallService,
    Close,
    Refused,
    Reply,
    Subscribe,
    Unadvertise,
    Unsubscribe,
)
from .encodings import COMPRESSIONS, STANDARD, Form, form
from .rosapi import is_rosapi
from .scope import is_ros_name
from .settings import ANONYMOUS, Limits, TierSettings

_TYPE = re.compile(r'^([A-Za-z0-9_]+)/(?:(msg|srv|action)/)?([A-Za-z0-9_]+)$')
LEVELS = ('info', 'warning', 'error', 'none')
CALL_TIMEOUT_S = 5.0  # rosbridge_server's default_call_service_timeout
MAX_CALL_TIMEOUT_S = 3600.0


def normalize_type(type_name: str, kind: str = 'msg') -> str | None:
    """'nav_msgs/Odometry' or 'nav_msgs/msg/Odometry' -> 'nav_msgs/msg/Odometry' (an
    action's topics have types like 'pkg/action/Name_FeedbackMessage')."""
    match = _TYPE.match(type_name) if isinstance(type_name, str) else None
    if not match:
        return None
    return f'{match.group(1)}/{match.group(2) or kind}/{match.group(3)}'


def role_for_token(token: str | None, roles: Mapping[str, str]) -> str | None:
    """The role whose token equals ``token`` (constant-time compare), or None."""
    if not token:
        return None
    found = None
    for role, expected in roles.items():
        if expected and hmac.compare_digest(token.encode(), expected.encode()):
            found = role
    return found


@dataclass
class _Sub:
    throttle_s: float
    queue_length: int
    keyed: bool = False  # asked for the resume key (``epoch``, ``seq``) on every frame
    compression: str = 'none'


@dataclass
class Session:
    """One client connection's protocol state."""

    tier: TierSettings
    limits: Limits
    roles: Mapping[str, str]
    role: str | None = None
    level: str | None = None  # set by set_level; None: never send `status`
    subscriptions: dict[str, dict[str, _Sub]] = field(default_factory=dict)
    advertised: dict[str, str] = field(default_factory=dict)  # topic -> type
    # topic -> the advertisement ids still open ('' for none given, or a bare publish)
    advertisers: dict[str, set[str]] = field(default_factory=dict)
    _last_sent: dict[str, float] = field(default_factory=dict)
    throttles: dict[str, float] = field(default_factory=dict)  # topic -> effective, s
    # topic -> how this client takes it, for topics not taken as standard JSON frames
    forms: dict[str, Form] = field(default_factory=dict)
    fragment_size: int = 0  # rosbridge's per-connection fragment_size (0: none)
    goals: dict[str, Any] = field(default_factory=dict)  # action goals in flight (rosbridge_actions)
    # advertise_service, advertise_action
    provider: provided.Provider = field(default_factory=provided.Provider)
    _tokens: float = -1.0
    _tokens_at: float = 0.0

    # ---- incoming -----------------------------------------------------------------
    def receive(self, data: bytes | str, is_binary: bool, now: float) -> list[Any]:
        frame, commands = self._receive(data, is_binary, now)
        if commands and type(commands[0]) is Refused and isinstance(frame, dict):
            self._answer_refusal(frame, commands)
        return commands

    def _answer_refusal(self, frame: dict, commands: list[Any]) -> None:
        """A refused request a standard client waits on (``call_service``) still gets
        its failed reply, whatever refused it, so nothing hangs."""
        answer = _FAILED_REPLIES.get(frame.get('op'))
        if answer is None or any(type(c) is Reply and c.frame.get('op') == answer[0]
                                 for c in commands):
            return
        commands.append(Reply(answer[1](frame, commands[0].detail)))

    def _receive(self, data: bytes | str, is_binary: bool,
                 now: float) -> tuple[Any, list[Any]]:
        """(the parsed frame or None, the commands)."""
        if is_binary:
            return None, self._refuse('binary', 'binary frames are not supported; send '
                                      'rosbridge v2 JSON as text frames', None, None)
        size = len(data)
        if size > self.limits.max_frame_bytes:
            return None, [Refused('limit', f'frame of {size} bytes is over the '
                                  f'{self.limits.max_frame_bytes}-byte limit'),
                          Close(1009, 'frame too large')]
        try:
            frame = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            frame = exc
        if not self._take_token(now):
            return frame, self._refuse('limit', f'more than {self.limits.max_ops_per_s:g} '
                                       'operations per second; slow down', None, None)
        if isinstance(frame, Exception):
            return None, self._refuse('malformed', f'frame is not valid JSON ({frame})',
                                      None, None)
        if not isinstance(frame, dict):
            return None, self._refuse('malformed', 'a rosbridge frame must be a JSON object',
                                      None, None)
        op = frame.get('op')
        handler = _HANDLERS.get(op) if isinstance(op, str) else None
        if handler is None:
            return frame, self._refuse('unknown_op', f'unknown op {op!r}; supported: '
                                       f'{", ".join(sorted(_HANDLERS))}', op, frame.get('id'))
        call_id = frame.get('id')
        if call_id is not None and not isinstance(call_id, (str, int)):
            return frame, self._refuse('bad_field', "'id' must be a string", op, None)
        if frame.get('fragment_size') is not None:
            size = frame['fragment_size']
            if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
                return frame, self._refuse('bad_field', f"{op}: 'fragment_size' must be a "
                                           f'positive number of characters, got '
                                           f'{_short(size)}', op, call_id)
            self._fragment(min(size, self.limits.max_frame_bytes))
        return frame, handler(self, frame, now)

    def _fragment(self, size: int) -> None:
        """As rosbridge: any frame's ``fragment_size`` applies to everything sent to
        this client from then on."""
        if size != self.fragment_size:
            self.fragment_size = size
            for topic, subs in self.subscriptions.items():
                self._settle(topic, subs)

    def _take_token(self, now: float) -> bool:
        rate = self.limits.max_ops_per_s
        burst = rate * 2
        if self._tokens < 0:
            self._tokens, self._tokens_at = burst, now
        self._tokens = min(burst, self._tokens + (now - self._tokens_at) * rate)
        self._tokens_at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True

    def _refuse(self, kind: str, detail: str, op: Any, call_id: Any) -> list[Any]:
        commands: list[Any] = [Refused(kind, detail)]
        if self.level in ('info', 'warning', 'error'):
            status = {'op': 'status', 'level': 'error', 'msg': detail}
            if call_id is not None:
                status['id'] = call_id
            commands.append(Reply(status))
        return commands

    def _field(self, frame, key, kinds, op, required=True):
        value = frame.get(key)
        if value is None and not required:
            return None, []
        if isinstance(value, bool) or not isinstance(value, kinds):
            wanted = 'a string' if kinds is str else 'an object' if kinds is dict else 'a number'
            return None, self._refuse('bad_field', f"{op}: '{key}' must be {wanted}, got "
                                      f'{_short(value)}', op, frame.get('id'))
        return value, []

    def _topic(self, frame, op):
        topic, err = self._field(frame, 'topic' if op != 'call_service' else 'service', str, op)
        if err:
            return None, err
        if not is_ros_name(topic):
            return None, self._refuse('bad_field', f'{op}: {topic!r} is not a valid ROS name '
                                      "(it must start with '/')", op, frame.get('id'))
        return topic, []

    # ---- ops ----------------------------------------------------------------------
    def _op_subscribe(self, frame, now):
        topic, err = self._topic(frame, 'subscribe')
        if err:
            return err
        type_name = None
        if frame.get('type'):
            raw, err = self._field(frame, 'type', str, 'subscribe')
            if err:
                return err
            type_name = normalize_type(raw)
            if type_name is None:
                return self._refuse('bad_field', f"subscribe: type {raw!r} is not a ROS type "
                                    "name like 'nav_msgs/msg/Odometry'", 'subscribe', frame.get('id'))
        throttle, err = self._field(frame, 'throttle_rate', (int, float), 'subscribe', False)
        queue, err2 = self._field(frame, 'queue_length', int, 'subscribe', False)
        if err or err2:
            return err or err2
        if not self.tier.allows_subscribe(topic):
            return self._refuse('scope', f'subscribe: {topic} is outside the {self.tier.name} '
                                f'tier\'s scope ({self.tier.subscribe})', 'subscribe', frame.get('id'))
        if self.tier.read_roles is not None and self.role not in self.tier.read_roles:
            return self._refuse('auth', f'subscribe: reading from the {self.tier.name} tier '
                                'needs a token for one of the roles '
                                f'{", ".join(self.tier.read_roles)}', 'subscribe', frame.get('id'))
        resume = _resume(frame.get('resume'))
        if resume == ():
            return self._refuse('bad_field', "subscribe: 'resume' must be {\"epoch\": str, "
                                '"seq": int, "streams": {epoch: seq}}', 'subscribe',
                                frame.get('id'))
        keys = frame.get('resume_keys', False)
        if not isinstance(keys, bool):
            return self._refuse('bad_field', "subscribe: 'resume_keys' must be true or false, "
                                f'got {_short(keys)}', 'subscribe', frame.get('id'))
        compression = frame.get('compression') or 'none'
        if compression not in COMPRESSIONS:
            return self._refuse('bad_field', "subscribe: 'compression' must be one of "
                                f'{", ".join(COMPRESSIONS)}, got {_short(compression)}',
                                'subscribe', frame.get('id'))
        subs = self.subscriptions.get(topic)
        if subs is None and len(self.subscriptions) >= self.limits.max_subscriptions:
            return self._refuse('limit', f'subscribe: more than {self.limits.max_subscriptions} '
                                'topics on one connection', 'subscribe', frame.get('id'))
        first = subs is None
        subs = self.subscriptions.setdefault(topic, {})
        subs[str(frame.get('id', ''))] = _Sub(max(0.0, (throttle or 0) / 1000.0),
                                              max(0, queue or 0), keys or resume is not None,
                                              compression)
        self._settle(topic, subs)
        if first or resume:
            if resume:
                return [Subscribe(topic, type_name, resume[0], resume[1])]
            return [Subscribe(topic, type_name)]
        return []

    def _op_unsubscribe(self, frame, now):
        topic, err = self._topic(frame, 'unsubscribe')
        if err:
            return err
        subs = self.subscriptions.get(topic)
        if subs is None:
            return []
        if 'id' in frame and frame['id'] is not None:
            subs.pop(str(frame['id']), None)
        else:
            subs.clear()
        if subs:
            self._settle(topic, subs)
            return []
        del self.subscriptions[topic]
        self.throttles.pop(topic, None)
        self.forms.pop(topic, None)
        self._last_sent.pop(topic, None)
        return [Unsubscribe(topic)]

    def _settle(self, topic: str, subs: dict[str, _Sub]) -> None:
        """What the topic's subscriptions ask for together: the shortest throttle, the
        resume key on every frame if any of them asked for it, and (as rosbridge picks)
        the last of png, cbor, cbor-raw any of them asked for."""
        self.throttles[topic] = min(s.throttle_s for s in subs.values())
        shape = form(max((s.compression for s in subs.values()), key=COMPRESSIONS.index),
                     any(s.keyed for s in subs.values()), self.fragment_size)
        if shape is STANDARD:
            self.forms.pop(topic, None)
        else:
            self.forms[topic] = shape

    def may_act(self) -> bool:
        """This client's role may publish and call services here (``anonymous`` in
        ``publish_roles`` lets clients without a token do so too)."""
        roles = self.tier.publish_roles
        return self.role in roles or (self.role is None and ANONYMOUS in roles)

    def may_not(self, what: str) -> str:
        """The sentence for a client whose role may not act: '<who> may not <what> on
        the <tier> tier (allowed roles: ...)'."""
        who = f'role {self.role!r}' if self.role else 'an unauthenticated client'
        return (f'{who} may not {what} on the {self.tier.name} tier (allowed roles: '
                f'{", ".join(self.tier.publish_roles) or "none"})')

    def _op_call_service(self, frame, now):
        name = frame.get('service')
        if isinstance(name, str) and name and not name.startswith('/') and \
                is_ros_name('/' + name):  # relative, as roslibjs 2.x names rosapi: from /
            frame = {**frame, 'service': '/' + name}
        service, err = self._topic(frame, 'call_service')
        if err:
            return err
        args = frame.get('args', {})
        if isinstance(args, list) and not args:
            args = {}
        if not isinstance(args, dict):
            return self._service_error(frame, service, "'args' must be an object")
        if is_rosapi(service):  # answered by the tier itself (core.rosapi): reading
            if self.tier.read_roles is not None and self.role not in self.tier.read_roles:
                return self._service_error(frame, service, f'reading from the {self.tier.name}'
                                           ' tier needs a token for one of the roles '
                                           f'{", ".join(self.tier.read_roles)}', 'auth')
        elif not self.tier.services.allows(service):
            return self._service_error(frame, service, f'{service} is outside the '
                                       f"{self.tier.name} tier's service scope "
                                       f'({self.tier.services})', 'scope')
        elif not service.startswith('/websocket_redundancy/') and not self.may_act():
            return self._service_error(frame, service, self.may_not(f'call {service}'), 'auth')
        timeout = frame.get('timeout')
        if timeout is None:
            timeout = CALL_TIMEOUT_S
        elif isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or \
                not 0 < timeout <= MAX_CALL_TIMEOUT_S:
            return self._service_error(frame, service, "'timeout' must be a number of seconds "
                                       f'above 0 and at most {MAX_CALL_TIMEOUT_S:g}, got '
                                       f'{_short(timeout)}')
        type_name = normalize_type(frame['type'], 'srv') if isinstance(frame.get('type'), str) else None
        return [CallService(frame.get('id'), service, type_name, args, float(timeout))]

    def _service_error(self, frame, service, text, kind='bad_field'):
        return [Refused(kind, f'call_service {service}: {text}'),
                Reply(_failed_service_response(frame, text, service))]

    def _op_set_level(self, frame, now):
        level = frame.get('level')
        if level not in LEVELS:
            return self._refuse('bad_field', f"set_level: 'level' must be one of "
                                f'{", ".join(LEVELS)}', 'set_level', frame.get('id'))
        self.level = level
        return []

    def _op_auth(self, frame, now):
        token = frame.get('token', frame.get('mac'))
        role = role_for_token(token if isinstance(token, str) else None, self.roles)
        if role is None:
            return self._refuse('auth', 'auth: the token matches no role', 'auth', frame.get('id'))
        self.role = role
        return []

    # ---- outgoing -----------------------------------------------------------------
    def wants(self, topic: str, now: float) -> bool:
        """When a sample on ``topic`` arrives at ``now``, True if this client takes it
        (it is subscribed and the throttle interval has passed)."""
        throttle = self.throttles.get(topic)
        if throttle is None:
            return False
        if throttle > 0:
            if now - self._last_sent.get(topic, -1e18) < throttle:
                return False
            self._last_sent[topic] = now
        return True

    def service_response(self, call: CallService, ok: bool, values: Any) -> Reply:
        reply = {'op': 'service_response', 'service': call.service, 'values': values,
                 'result': ok}
        if call.call_id is not None:
            reply['id'] = call.call_id
        return Reply(reply)

    def closed(self) -> list[Any]:
        """The connection is gone: release every topic it held."""
        commands = provided.closed(self) + served.closed(self)
        commands += [Unsubscribe(t) for t in self.subscriptions]
        commands += [Unadvertise(t) for t in self.advertised]
        commands += rosbridge_actions.closed(self)
        self.subscriptions.clear()
        self.throttles.clear()
        self.forms.clear()
        self.advertised.clear()
        self.advertisers.clear()
        return commands


def _is_seq(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _resume(value: Any):
    """None (no resume), ((epoch, seq), streams), or () when malformed."""
    if value is None:
        return None
    if not (isinstance(value, dict) and isinstance(value.get('epoch'), str)
            and _is_seq(value.get('seq'))):
        return ()
    streams = value.get('streams') or {}
    if not isinstance(streams, dict) or len(streams) > 64 or not all(
            isinstance(e, str) and _is_seq(s) for e, s in streams.items()):
        return ()
    return (value['epoch'], value['seq']), tuple(sorted(streams.items()))


def _failed_service_response(frame: dict, text: str, service: Any = None) -> dict[str, Any]:
    """rosbridge's failed ``service_response``: ``result`` false, the reason in ``values``."""
    service = frame.get('service') if service is None else service
    reply = {'op': 'service_response', 'service': service if isinstance(service, str) else '',
             'values': text, 'result': False}
    if isinstance(frame.get('id'), (str, int)):
        reply['id'] = frame['id']
    return reply


# op -> (the reply op a standard client waits for, how to fail it)
_FAILED_REPLIES: dict[str, tuple[str, Any]] = {
    'call_service': ('service_response', _failed_service_response)}


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + '...'


from . import rosbridge_actions  # noqa: E402  (its handlers take a Session)
from . import rosbridge_publish as publishing  # noqa: E402

_FAILED_REPLIES['send_action_goal'] = ('action_result', rosbridge_actions.failed_result)
_FAILED_REPLIES['attach_action_goal'] = ('action_result', rosbridge_actions.failed_result)
_FAILED_REPLIES['attach_action_goal'] = ('action_result', rosbridge_actions.failed_attach)

_HANDLERS = {
    'subscribe': Session._op_subscribe,
    'unsubscribe': Session._op_unsubscribe,
    'advertise': publishing.op_advertise,
    'unadvertise': publishing.op_unadvertise,
    'publish': publishing.op_publish,
    'call_service': Session._op_call_service,
    'advertise_service': provided.op_advertise_service,
    'unadvertise_service': provided.op_unadvertise_service,
    'service_response': provided.op_service_response,
    'advertise_action': served.op_advertise_action,
    'unadvertise_action': served.op_unadvertise_action,
    'action_feedback': served.op_action_feedback,
    'action_result': served.op_action_result,
    'set_level': Session._op_set_level,
    'auth': Session._op_auth,
    'send_action_goal': rosbridge_actions.op_send_action_goal,
    'cancel_action_goal': rosbridge_actions.op_cancel_action_goal,
    'attach_action_goal': rosbridge_actions.op_attach_action_goal,  # extension: re-attach
}
