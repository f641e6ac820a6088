"""ROS parameters declared from the one settings schema and read back into ``Settings``.

Names mirror ``config/redundancy.yaml``: ``limits.max_frame_bytes``,
``tiers.<tier>.port``, ``tiers.<tier>.subscribe``, ``auth.roles`` (role names; tokens
never become parameters, they come from ``config_file`` or ``WR_TOKEN_<ROLE>``).
``config_file`` (a redundancy.yaml-shaped file) supplies the defaults, so ``ros2 param
get`` shows the values in force. Ranges are ``IntegerRange``/``FloatingPointRange``
(rclpy rejects an out-of-range override when it is declared); everything is then
validated by ``settings_from_dict``, which names every problem. Values are read at
*configure*: change them, then cleanup and configure again.

Checked on ros2/rclpy ``humble`` and ``jazzy`` ``rclpy/node.py``: ``declare_parameter(
name, value_or_Parameter.Type, descriptor)`` (a ``Parameter.Type`` declares a typed
parameter without a default), ``get_parameter(name).value``.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import fields
from typing import Any

from ..core.settings import DEFAULT_TIERS, Limits, Settings, SettingsError
from ..core.settings import settings_from_dict as _from_dict

INT_RANGES = {'port': (0, 65535), 'priority': (0, 1000), 'capacity': (1, 1_000_000)}
TIER_TEXT = {
    'port': 'TCP port for WebSocket + HTTP (0 picks a free one)',
    'priority': 'rank of this tier, 0 = primary',
    'capacity': 'clients this tier admits; more are refused with close code 1013',
    'subscribe': 'topic globs clients may subscribe to',
    'publish': 'topic globs clients may publish to (with a publishing role)',
    'services': 'service globs clients may call',
    'publish_roles': 'roles allowed to publish',
    'read_roles': 'roles allowed to read (unset: reading is open)',
    'host': 'interface to listen on', 'url': "URL announced to clients ('' = ws://host:port)",
}
ARRAYS = ('subscribe', 'publish', 'services', 'publish_roles', 'read_roles')


def read_yaml(path: str) -> dict[str, Any]:
    """The mapping in ``path`` ('' -> {}), or ``SettingsError`` with one sentence."""
    if not path:
        return {}
    import yaml
    try:
        with open(path, encoding='utf-8') as handle:
            data = yaml.safe_load(handle) or {}
    except OSError as exc:
        raise SettingsError([f'config_file {path}: {exc.strerror}; give an existing file '
                             "or '' for the defaults"]) from exc
    except yaml.YAMLError as exc:
        raise SettingsError([f'config_file {path} is not valid YAML: {exc}']) from exc
    if not isinstance(data, dict):
        raise SettingsError([f'config_file {path} must hold a mapping at the top level'])
    return data


def _descriptor(name: str, text: str, kind: str, lo: float | None = None,
                hi: float | None = None):
    from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
    desc = ParameterDescriptor(name=name, description=text)
    if kind == 'int' and lo is not None:
        desc.integer_range = [IntegerRange(from_value=int(lo), to_value=int(hi), step=1)]
    elif kind == 'float' and lo is not None:
        desc.floating_point_range = [FloatingPointRange(from_value=float(lo),
                                                        to_value=float(hi), step=0.0)]
    return desc


def port_override_descriptor():
    """The tier's ``port`` parameter, like ``websocket-redundancy tier --port``."""
    return _descriptor('port', 'listen here instead of tiers.<tier>.port; 0 picks a free '
                       'port (announced in the READY line and the heartbeat), -1 = as '
                       'configured', 'int', -1, 65535)


def _declare(node, name: str, value: Any, text: str, kind: str, lo=None, hi=None) -> None:
    from rclpy.parameter import Parameter
    desc = _descriptor(name, text, kind, lo, hi)
    if kind == 'strings':
        value = [str(v) for v in value] if isinstance(value, (list, tuple)) else None
        if not value:  # an empty list would be typed BYTE_ARRAY; declare the type instead
            node.declare_parameter(name, Parameter.Type.STRING_ARRAY, desc)
            return
    elif kind == 'int':
        value = int(value) if isinstance(value, (int, float)) else 0
    elif kind == 'float':
        value = float(value) if isinstance(value, (int, float)) else 0.0
    else:
        value = '' if value is None else str(value)
    node.declare_parameter(name, value, desc)


def _value(node, name: str) -> Any:
    # get_parameter_or: an unset typed parameter reads None (get_parameter raises on jazzy)
    value = node.get_parameter_or(name).value
    return list(value) if isinstance(value, (list, tuple)) else value


def _defaults(base: Mapping[str, Any], tier_names: Iterable[str]) -> Settings:
    tiers = base.get('tiers') or DEFAULT_TIERS
    data = {**base, 'graph': {'mode': 'ros'},
            'tiers': {n: (tiers.get(n) if isinstance(tiers, Mapping) else None) or {}
                      for n in tier_names}}
    return _from_dict(data, {})


def declare_settings(node, tier_names: Iterable[str]) -> None:
    """Declare ``config_file``, ``auth.roles``, ``limits.*`` and ``tiers.<t>.*`` with
    the defaults ``config_file`` (or the built-in schema) gives them."""
    tier_names = list(tier_names)
    _declare(node, 'config_file', '', 'redundancy.yaml-shaped file supplying the defaults '
             "('' = built-in defaults)", 'text')
    defaults = _defaults(read_yaml(node.get_parameter('config_file').value), tier_names)
    _declare(node, 'auth.roles', list(defaults.roles), 'role names; tokens come from '
             'config_file or WR_TOKEN_<ROLE>', 'strings')
    for f in fields(Limits):
        kind = 'float' if isinstance(f.default, float) else 'int'
        _declare(node, f'limits.{f.name}', getattr(defaults.limits, f.name),
                 f'limits.{f.name} (see config/redundancy.yaml)', kind,
                 1 if kind == 'int' else 0.001, 1e9)
    for name in tier_names:
        tier = defaults.tier(name)
        values = {'port': tier.port, 'priority': tier.priority, 'capacity': tier.capacity,
                  'subscribe': tier.subscribe.patterns, 'publish': tier.publish.patterns,
                  'services': tier.services.patterns, 'publish_roles': tier.publish_roles,
                  'read_roles': tier.read_roles, 'host': tier.host, 'url': tier.url}
        for key, text in TIER_TEXT.items():
            kind = 'strings' if key in ARRAYS else 'int' if key in INT_RANGES else 'text'
            lo, hi = INT_RANGES.get(key, (None, None))
            _declare(node, f'tiers.{name}.{key}', values[key], f'{name}: {text}', kind, lo, hi)


def settings_from_node(node, tier_names: Iterable[str],
                       env: Mapping[str, str] | None = None) -> Settings:
    """Settings from the declared parameters (``SettingsError`` lists every problem)."""
    base = read_yaml(node.get_parameter('config_file').value)
    tokens = (base.get('auth') or {}).get('roles') or {}
    data: dict[str, Any] = {  # sections that are not parameters come from config_file
        **{k: v for k, v in base.items() if k not in ('graph', 'auth', 'limits', 'tiers')},
        'graph': {'mode': 'ros'},
        'auth': {'roles': {r: tokens.get(r, '') for r in _value(node, 'auth.roles') or []}},
        'limits': {f.name: _value(node, f'limits.{f.name}') for f in fields(Limits)},
        'tiers': {},
    }
    for name in tier_names:
        tier = {key: _value(node, f'tiers.{name}.{key}') for key in TIER_TEXT}
        for key in ARRAYS:  # an unset array is empty, except read_roles: unset = open
            if tier[key] is None and key != 'read_roles':
                tier[key] = []
        data['tiers'][name] = tier
    return _from_dict(data, os.environ if env is None else env)


def declare_dataclass(node, prefix: str, value: Any, text: str = '') -> None:
    """Declare every int/float field of a (nested) settings dataclass under ``prefix``."""
    for f in fields(value):
        current = getattr(value, f.name)
        name = f'{prefix}.{f.name}'
        if hasattr(current, '__dataclass_fields__'):
            declare_dataclass(node, name, current, text)
        elif isinstance(current, (int, float)) and not isinstance(current, bool):
            kind = 'float' if isinstance(current, float) else 'int'
            _declare(node, name, current, f'{text}{name}', kind,
                     0.0 if kind == 'float' else 0, 1e9)


def read_dataclass(node, prefix: str, value: Any) -> Any:
    """``value`` with the declared parameters under ``prefix`` applied (validators run)."""
    from dataclasses import replace
    changes = {}
    for f in fields(value):
        current = getattr(value, f.name)
        name = f'{prefix}.{f.name}'
        if hasattr(current, '__dataclass_fields__'):
            changes[f.name] = read_dataclass(node, name, current)
        elif isinstance(current, (int, float)) and not isinstance(current, bool):
            changes[f.name] = _value(node, name)
    return replace(value, **changes)
