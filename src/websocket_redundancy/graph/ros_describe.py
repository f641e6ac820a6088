"""Message types described for rosapi from their rosidl Python classes (ROS mode).

What rosapi's ``objectutils`` reads, taken the same way: ``get_fields_and_field_types()``
(``double``, ``sequence<int32>``, ``double[36]``, ``string<10>``, ``std_msgs/Header``),
the default of each primitive field from a fresh instance, the constants the generated
metaclass holds, and the .msg text from the package's share directory
(``rosidl_runtime_py.get_interface_path``). The same names and calls exist in Humble
and Jazzy (checked in both builds' ``rosidl_runtime_py`` and generated ``_*.py``).
"""
from __future__ import annotations

import re
from functools import lru_cache

from .port import FieldDef, GraphError, MessageFields
from .ros_convert import type_class

_SEQUENCE = re.compile(r'^sequence<([^,>]+)(?:,\s*\d+)?>$')
_ARRAY = re.compile(r'^(.+)\[(\d*)\]$')
_BOUNDED = re.compile(r'^(w?string)<\d+>$')


def _field(name: str, declared: str, value: object) -> FieldDef:
    array_len = -1
    if match := _SEQUENCE.match(declared):
        declared, array_len = match.group(1), 0
    elif match := _ARRAY.match(declared):
        declared, array_len = match.group(1), int(match.group(2) or 0)
    if match := _BOUNDED.match(declared):
        declared = match.group(1)
    if '/' in declared:  # 'std_msgs/Header' -> 'std_msgs/msg/Header'
        package, _, kind = declared.partition('/')
        return FieldDef(name, declared if '/' in kind else f'{package}/msg/{kind}', array_len)
    return FieldDef(name, declared, array_len, str(value) if array_len < 0 else '')


def _class(type_name: str):
    package, kind, name = type_name.split('/')
    if kind == 'srv':
        base, _, part = name.rpartition('_')
        if part not in ('Request', 'Response'):
            return None
        return getattr(type_class(f'{package}/srv/{base}', 'srv'), part)
    return type_class(type_name) if kind == 'msg' else None


def _text(type_name: str) -> str:
    if '/msg/' not in type_name:
        return ''
    from rosidl_runtime_py import get_interface_path
    try:
        with open(get_interface_path(type_name), encoding='utf-8') as handle:
            return handle.read()
    except (LookupError, OSError, ValueError):
        return ''


@lru_cache(maxsize=512)
def describe(type_name: str) -> MessageFields | None:
    """``type_name`` ('pkg/msg/Name', 'pkg/srv/Name_Request') as rosidl has it, or None."""
    if not isinstance(type_name, str) or len(type_name.split('/')) != 3:
        return None
    try:
        cls = _class(type_name)
    except (GraphError, AttributeError, ValueError):
        return None
    if cls is None:
        return None
    instance = cls()
    fields = tuple(_field(name, declared, getattr(instance, name))
                   for name, declared in cls.get_fields_and_field_types().items())
    meta = type(cls)
    constants = getattr(meta, f'_{meta.__name__}__constants', {})
    return MessageFields(type_name, fields,
                         tuple((name, str(value)) for name, value in constants.items()),
                         _text(type_name))
