"""Message types as rosapi describes them (``rosapi_msgs/TypeDef``), from what a graph
knows of them (``MessageFields``: rosidl's view of the fields, the constants and the
.msg text). Pure: the graph's lookup is passed in as ``fields(type_name)``.

rosapi spells types ``pkg/Name``; field types are rosidl's (``double``, ``boolean``,
``octet``...); ``fieldarraylen`` is -1 (not an array), 0 (a sequence) or N (fixed);
``examples`` are ``[]`` for arrays, ``{}`` for nested messages, else the default.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# rosidl's names of the primitive field types (what ``_fields_and_field_types`` says)
ATOMICS = frozenset(('boolean', 'octet', 'char', 'int8', 'uint8', 'int16', 'uint16',
                     'int32', 'uint32', 'int64', 'uint64', 'float', 'double', 'string',
                     'wstring', 'bool', 'byte', 'float32', 'float64'))
_RULE = '=' * 80


@dataclass(frozen=True)
class FieldDef:
    """One field of a message type, as rosidl describes it."""

    name: str
    type: str  # an atomic rosidl name ('double', 'boolean', 'string') or 'pkg/msg/Name'
    array_len: int = -1  # -1: not an array; 0: a sequence; N: a fixed array of N
    default: str = ''  # str() of the default value of an atomic field ('0', '0.0', 'False')


@dataclass(frozen=True)
class MessageFields:
    """What a graph knows of a message type (or a service's ``_Request``/``_Response``)."""

    type_name: str  # 'pkg/msg/Name' or 'pkg/srv/Name_Request'
    fields: tuple[FieldDef, ...] = ()
    constants: tuple[tuple[str, str], ...] = ()  # (name, str(value))
    text: str = ''  # the type's own .msg text ('' if unknown)


Lookup = Callable[[str], 'MessageFields | None']


def short(type_name: str) -> str:
    """'nav_msgs/msg/Odometry' -> 'nav_msgs/Odometry' (rosapi's spelling)."""
    parts = type_name.split('/')
    return f'{parts[0]}/{parts[-1]}' if len(parts) == 3 else type_name


def typedef(described: MessageFields) -> dict[str, Any]:
    """rosapi's ``TypeDef`` of one type (as a dict)."""
    examples = []
    for item in described.fields:
        if item.array_len >= 0:
            examples.append('[]')
        elif item.type not in ATOMICS:
            examples.append('{}')
        else:
            examples.append(item.default)
    constants = sorted(described.constants)
    return {
        'type': short(described.type_name),
        'fieldnames': [item.name for item in described.fields],
        'fieldtypes': [item.type if item.type in ATOMICS else short(item.type)
                       for item in described.fields],
        'fieldarraylen': [item.array_len for item in described.fields],
        'examples': examples,
        'constnames': [name for name, _ in constants],
        'constvalues': [value for _, value in constants],
    }


def typedefs(fields: Lookup, type_name: str, seen: set[str]) -> list[dict[str, Any]]:
    """The type's ``TypeDef`` and, depth first, those of the types in its fields (each
    once; ``seen`` collects them); [] for a type ``fields`` does not know."""
    if type_name in ATOMICS or type_name in seen:
        return []
    seen.add(type_name)
    described = fields(type_name)
    if described is None:
        return []
    out = [typedef(described)]
    for item in described.fields:
        out += typedefs(fields, item.type, seen)
    return out


def full_text(fields: Lookup, root: str) -> str:
    """The type's .msg text followed by its dependencies' (rosapi's ``MSG:`` sections,
    in rosapi's order), or a comment saying which definition is missing."""
    text, seen, stack, first = '', set(), [root], True
    while stack:
        type_name = stack.pop()
        described = fields(type_name)
        if described is None or not described.text:
            return (f'# failed to get full definition text for {short(root)}: the '
                    f'definition of {short(type_name)} is not known here')
        if not first:
            text += f'\n{_RULE}\nMSG: {short(type_name)}\n'
        first = False
        text += described.text
        for item in described.fields:
            if item.type not in ATOMICS and item.type not in seen:
                seen.add(item.type)
                stack.append(item.type)
    return text
