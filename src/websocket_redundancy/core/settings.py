"""One settings schema: frozen dataclasses with validators that return sentences.

YAML files, CLI flags and (under ROS 2) parameters are all read into ``Settings``
through ``settings_from_dict``. Every problem is collected and reported at once,
each as one sentence naming the key and the fix; nothing here reads files or the
environment (the environment mapping is an argument).
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .scope import Scope, pattern_problem
from .security import SecuritySettings, security_from_dict

_ENDPOINT = re.compile(r'^[a-z]+/\S+:\d+$')
CONTROL_NAMESPACE = '/websocket_redundancy/**'
HEARTBEAT_TOPIC = '/websocket_redundancy/heartbeat'
STATUS_TOPIC = '/websocket_redundancy/status'


class SettingsError(ValueError):
    """Settings that cannot run; ``problems`` lists every sentence."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__('invalid configuration:\n  - ' + '\n  - '.join(problems))


# What a user fixes by installing or configuring, not a bug: said in one sentence, without
# a traceback, where a lifecycle callback fails with it.
ENVIRONMENT_ERRORS = (ImportError, SettingsError)

@dataclass(frozen=True)
class TierSettings:
    name: str
    port: int
    priority: int
    capacity: int = 200
    subscribe: Scope = Scope(('**',))
    publish: Scope = Scope(())
    services: Scope = Scope((CONTROL_NAMESPACE,))
    publish_roles: tuple[str, ...] = ('team', 'judge')
    read_roles: tuple[str, ...] | None = None  # None: reading is open
    host: str = '127.0.0.1'
    url: str = ''  # announced to clients; '' means ws://host:port

    def allows_subscribe(self, topic: str) -> bool:
        return topic.startswith('/websocket_redundancy/') or self.subscribe.allows(topic)

    def public_url(self, port: int | None = None, tls: bool = False) -> str:
        scheme = 'wss' if tls else 'ws'
        return self.url or f'{scheme}://{self.host}:{self.port if port is None else port}'


@dataclass(frozen=True)
class Limits:
    max_frame_bytes: int = 1_048_576
    max_subscriptions: int = 64
    max_ops_per_s: float = 200.0
    send_queue_frames: int = 256
    control_queue_frames: int = 64
    heartbeat_hz: float = 10.0
    replay_items: int = 512
    replay_age_s: float = 10.0
    handshake_timeout_s: float = 5.0  # a connection that has not finished its handshake
    max_provided_services: int = 8  # services one client may provide (advertise_service)
    max_provided_calls: int = 32  # graph calls waiting for one providing client's answers
    provided_call_timeout_s: float = 5.0  # a provided service's call fails after this


@dataclass(frozen=True)
class GraphSettings:
    mode: str = 'embedded'
    domain: int = 0
    base_port: int = 7450
    # Several hosts: Zenoh endpoints this process listens on (a routable address, e.g.
    # tcp/10.0.0.5:7450; ``up`` gives its i-th child port + i) and endpoints of
    # processes on other hosts it dials. Empty: loopback only (the defaults above).
    listen: tuple[str, ...] = ()
    connect: tuple[str, ...] = ()


@dataclass(frozen=True)
class Settings:
    tiers: tuple[TierSettings, ...]
    roles: Mapping[str, str] = field(default_factory=dict)  # role -> token ('' = unset)
    limits: Limits = Limits()
    graph: GraphSettings = GraphSettings()
    security: SecuritySettings = SecuritySettings()

    def tier(self, name: str) -> TierSettings:
        for tier in self.tiers:
            if tier.name == name:
                return tier
        known = ', '.join(t.name for t in self.tiers)
        raise SettingsError([f'there is no tier {name!r}; the configured tiers are {known}'])

    def with_tier(self, tier: TierSettings) -> Settings:
        return replace(self, tiers=tuple(tier if t.name == tier.name else t for t in self.tiers))


DEFAULT_TIERS: dict[str, dict[str, Any]] = {
    'primary': {'port': 8080, 'priority': 0, 'subscribe': ['**'],
                'publish': ['/cmd_vel', '/mission/command', '/emergency_stop'],
                'services': [CONTROL_NAMESPACE, '/navigate_to_pose']},
    'secondary': {'port': 8081, 'priority': 1,
                  'subscribe': ['/odom', '/gps/fix', '/battery_state', '/rover/state',
                                '/mission/**', '/emergency_stop', '/diagnostics'],
                  'publish': ['/mission/command', '/emergency_stop'],
                  'services': [CONTROL_NAMESPACE, '/navigate_to_pose']},
    'tertiary': {'port': 8082, 'priority': 2,
                 'subscribe': ['/emergency_stop', '/gps/fix', '/battery_state',
                               '/diagnostics', '/rover/state'],
                 'publish': ['/emergency_stop']},
    'emergency': {'port': 8083, 'priority': 3,
                  'subscribe': ['/emergency_stop', '/gps/fix', '/battery_state'],
                  'publish': ['/emergency_stop']},
}
DEFAULT_ROLES = ('team', 'judge', 'viewer')


def _positive(where: str, value: Any, kind: type = int, minimum: float = 1) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float) if kind is float else int):
        return f'{where} must be {"a number" if kind is float else "a whole number"}, got {value!r}'
    if value < minimum:
        return f'{where} must be at least {minimum}, got {value!r}'
    return ''


def _check_keys(where: str, data: Mapping[str, Any], known: set[str], problems: list[str]) -> None:
    for key in data:
        if key not in known:
            problems.append(f'{where}: unknown key {key!r} (known keys: {", ".join(sorted(known))})')


def _scope(where: str, value: Any, problems: list[str]) -> Scope:
    if value is None:
        return Scope(())
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        problems.append(f'{where} must be a list of topic patterns, got {value!r}')
        return Scope(())
    for pattern in value:
        message = pattern_problem(pattern)
        if message:
            problems.append(f'{where}: {message}')
    return Scope(tuple(str(p) for p in value))


ANONYMOUS = 'anonymous'  # in publish_roles: clients without a token may publish and call


def _roles_list(where: str, value: Any, roles: Mapping[str, str], problems: list[str],
                anonymous: bool = False):
    """Role names, each defined under auth.roles (or, with ``anonymous``, the reserved
    name ``anonymous``: clients that offer no token)."""
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        problems.append(f'{where} must be a list of role names, got {value!r}')
        return ()
    for role in value:
        if not isinstance(role, str):
            problems.append(f'{where}: role names are text, got {role!r}')
        elif role == ANONYMOUS and anonymous:
            continue
        elif role not in roles:
            problems.append(f'{where}: role {role!r} is not defined under auth.roles'
                            + (f" (or use '{ANONYMOUS}' to let clients without a token "
                               'publish and call services)' if anonymous else ''))
    return tuple(value)


def _tier(name: str, data: Mapping[str, Any], roles: Mapping[str, str],
          problems: list[str]) -> TierSettings:
    where = f'tiers.{name}'
    known = {'port', 'priority', 'capacity', 'subscribe', 'publish', 'services',
             'publish_roles', 'read_roles', 'host', 'url'}
    _check_keys(where, data, known, problems)
    base = {**DEFAULT_TIERS.get(name, {}), **data}
    for key in ('port', 'priority'):
        if key not in base:
            problems.append(f'{where}.{key} is required for a tier not named '
                            f'{"/".join(DEFAULT_TIERS)}')
    port = base.get('port', 0)
    message = _positive(f'{where}.port', port, minimum=0)
    if not message and port > 65535:
        message = f'{where}.port must be 0-65535 (0 picks a free port), got {port}'
    priority = base.get('priority', 0)
    capacity = base.get('capacity', 200)
    for msg in (message, _positive(f'{where}.priority', priority, minimum=0),
                _positive(f'{where}.capacity', capacity)):
        if msg:
            problems.append(msg)
    return TierSettings(
        name=name, port=port if isinstance(port, int) else 0,
        priority=priority if isinstance(priority, int) else 0,
        capacity=capacity if isinstance(capacity, int) else 1,
        subscribe=_scope(f'{where}.subscribe', base.get('subscribe', ['**']), problems),
        publish=_scope(f'{where}.publish', base.get('publish', []), problems),
        services=_scope(f'{where}.services', base.get('services', [CONTROL_NAMESPACE]), problems),
        publish_roles=_roles_list(f'{where}.publish_roles',
                                  base.get('publish_roles',
                                           [r for r in ('team', 'judge') if r in roles]), roles,
                                  problems, anonymous=True) or (),
        read_roles=_roles_list(f'{where}.read_roles', base.get('read_roles'), roles, problems),
        host=str(base.get('host', '127.0.0.1')), url=str(base.get('url', '')),
    )


def _dataclass_section(cls, where: str, data: Any, problems: list[str]):
    if data is None:
        return cls()
    if not isinstance(data, Mapping):
        problems.append(f'{where} must be a mapping, got {data!r}')
        return cls()
    defaults = cls()
    values = {}
    for key, value in data.items():
        if not hasattr(defaults, key):
            _check_keys(where, {key: value}, set(cls.__dataclass_fields__), problems)
            continue
        default = getattr(defaults, key)
        if isinstance(default, str):
            ok = isinstance(value, str)
            message = '' if ok else f'{where}.{key} must be text, got {value!r}'
        elif isinstance(default, tuple):  # a list of graph endpoints
            ok = isinstance(value, (list, tuple)) and all(
                isinstance(v, str) and _ENDPOINT.match(v) for v in value)
            message = '' if ok else (f'{where}.{key} must be a list of endpoints like '
                                     f'tcp/10.0.0.5:7450, got {value!r}')
            value = tuple(value) if ok else value
        else:
            minimum = 0 if key in ('domain',) else (1 if isinstance(default, int) else 0.001)
            message = _positive(f'{where}.{key}', value, type(default), minimum)
        if message:
            problems.append(message)
        else:
            values[key] = value
    return replace(defaults, **values)


def settings_from_dict(data: Mapping[str, Any] | None,
                       env: Mapping[str, str] | None = None) -> Settings:
    """Build ``Settings`` from a parsed config file; raise ``SettingsError`` listing
    every problem. Tokens left empty are taken from ``env['WR_TOKEN_<ROLE>']``."""
    data = dict(data or {})
    env = env or {}
    problems: list[str] = []
    _check_keys('config', data, {'graph', 'auth', 'limits', 'tiers', 'security'}, problems)

    auth = data.get('auth') or {}
    raw_roles = auth.get('roles', {role: '' for role in DEFAULT_ROLES}) if isinstance(auth, Mapping) else {}
    roles: dict[str, str] = {}
    if not isinstance(raw_roles, Mapping):
        problems.append(f'auth.roles must map role names to tokens, got {raw_roles!r}')
        raw_roles = {}
    for role, token in raw_roles.items():
        if role == ANONYMOUS:
            problems.append(f"auth.roles: '{ANONYMOUS}' is reserved (clients without a token); "
                            'choose another role name')
        token = '' if token is None else token
        if not isinstance(token, str):
            problems.append(f'auth.roles.{role} must be a token string, got {token!r}')
            token = ''
        roles[str(role)] = token or env.get(f'WR_TOKEN_{str(role).upper()}', '')

    raw_tiers = data.get('tiers', DEFAULT_TIERS)
    tiers: list[TierSettings] = []
    if not isinstance(raw_tiers, Mapping) or not raw_tiers:
        problems.append('tiers must map tier names to their settings, with at least one tier')
        raw_tiers = {}
    for name, tier_data in raw_tiers.items():
        if not isinstance(tier_data, Mapping):
            problems.append(f'tiers.{name} must be a mapping, got {tier_data!r}')
            continue
        tiers.append(_tier(str(name), tier_data, roles, problems))
    ports = [t.port for t in tiers if t.port]
    for port in sorted({p for p in ports if ports.count(p) > 1}):
        clash = ', '.join(t.name for t in tiers if t.port == port)
        problems.append(f'tiers {clash} all use port {port}; give each tier its own port')

    limits = _dataclass_section(Limits, 'limits', data.get('limits'), problems)
    graph = _dataclass_section(GraphSettings, 'graph', data.get('graph'), problems)
    security = security_from_dict(data.get('security'), problems)
    if graph.mode not in ('embedded', 'ros'):
        problems.append(f"graph.mode must be 'embedded' or 'ros', got {graph.mode!r}")
    if problems:
        raise SettingsError(problems)
    return Settings(tiers=tuple(sorted(tiers, key=lambda t: t.priority)), roles=roles,
                    limits=limits, graph=graph, security=security)
