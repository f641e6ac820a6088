"""Conversion between rosbags message objects and rosbridge JSON dicts.

The graph port carries messages as plain dicts in rosbridge form so that the core
never sees a middleware object. This module is the one place where that form meets
rosbags' generated dataclasses:

* ``to_rosbridge(msg)``: ``uint8[]``/``char[]`` arrays become base64 text, NaN and
  +/-Inf become ``None``, numpy arrays become lists, nested messages (including
  ``builtin_interfaces`` Time/Duration, which are ``{sec, nanosec}``) become dicts.
* ``from_rosbridge(typestore, type_name, data)``: the reverse, checked against the
  type's field definitions. Missing fields take defaults; a value of the wrong kind
  or an unknown field raises ``GraphError`` naming the field path, e.g.
  ``field 'twist.linear.x' of geometry_msgs/msg/Twist expects a number, got 'fast'``.

Both directions run for every message, so each type is compiled once into a small
plan (a list of per-field converters) and cached; bytes are base64-coded in one call.
"""
from __future__ import annotations

import binascii
import dataclasses
import keyword
import math
import weakref
from base64 import b64decode, b64encode
from collections.abc import Callable
from typing import Any

import numpy as np
from rosbags.interfaces import Nodetype

from ...core.encodings import TYPED_ARRAY_TAGS, Tagged
from ..port import GraphError

Converter = Callable[[Any], Any]

_INT_RANGES = {
    "int8": (-(2**7), 2**7 - 1),
    "uint8": (0, 2**8 - 1),
    "int16": (-(2**15), 2**15 - 1),
    "uint16": (0, 2**16 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "uint64": (0, 2**64 - 1),
    "char": (0, 2**8 - 1),
    "byte": (-(2**7), 2**8 - 1),
}
_DTYPES = {
    "int8": np.int8, "uint8": np.uint8, "int16": np.int16, "uint16": np.uint16,
    "int32": np.int32, "uint32": np.uint32, "int64": np.int64, "uint64": np.uint64,
    "float32": np.float32, "float64": np.float64, "float128": np.float64,
    "bool": np.bool_, "char": np.uint8, "byte": np.int8,
}
_BINARY = frozenset({"uint8", "char"})
# Field that IDL adds to empty structs (std_msgs/msg/Empty); rosbridge never shows it.
_PLACEHOLDER = "structure_needs_at_least_one_member"


class _FieldError(Exception):
    """A bad value at ``path`` (innermost name first while unwinding)."""

    def __init__(self, path: list[str], text: str) -> None:
        super().__init__(text)
        self.path = path
        self.text = text


def _bad(expected: str, value: Any) -> _FieldError:
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return _FieldError([], f"expects {expected}, got {shown}")


# ---------------------------------------------------------------- to rosbridge


def _json_name(attr: str) -> str:
    if attr.endswith("_") and keyword.iskeyword(attr[:-1]):
        return attr[:-1]
    return attr


_OUT_PLANS: dict[type, list[tuple[str, str]]] = {}


def _out_plan(cls: type) -> list[tuple[str, str]]:
    # Constants and __msgtype__ are dataclass fields with defaults; data fields have none.
    plan = _OUT_PLANS.get(cls)
    if plan is None:
        plan = [
            (f.name, _json_name(f.name))
            for f in dataclasses.fields(cls)
            if f.default is dataclasses.MISSING and f.name != _PLACEHOLDER
        ]
        _OUT_PLANS[cls] = plan
    return plan


def _float_out(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _array_out(value: np.ndarray) -> Any:
    kind = value.dtype.kind
    if value.dtype == np.uint8:
        return b64encode(value.tobytes()).decode("ascii")
    if kind == "f":
        if np.isfinite(value).all():
            return value.tolist()
        return [x if math.isfinite(x) else None for x in value.tolist()]
    return value.tolist()


def _value_out(value: Any) -> Any:
    kind = type(value)
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is int or kind is str or kind is bool:
        return value
    if kind is np.ndarray:
        return _array_out(value)
    if kind is list:
        return [_value_out(x) for x in value]
    if dataclasses.is_dataclass(value):
        return to_rosbridge(value)
    if isinstance(value, np.generic):
        return _value_out(value.item())
    if isinstance(value, (bytes, bytearray, memoryview)):
        return b64encode(bytes(value)).decode("ascii")
    return value


def to_rosbridge(msg: Any) -> dict[str, Any]:
    """A rosbags message object as a plain dict in rosbridge JSON form."""
    return {name: _value_out(getattr(msg, attr)) for attr, name in _out_plan(type(msg))}


_CBOR_PLANS: dict[type, list[tuple[str, str, bool]]] = {}


def _cbor_plan(typestore: Any, cls: type) -> list[tuple[str, str, bool]]:
    """(attribute, JSON name, unbounded sequence of a primitive) per field: only those
    go as bytes or typed arrays (rosbridge's rule; fixed arrays are plain lists)."""
    plan = _CBOR_PLANS.get(cls)
    if plan is None:
        fields = dict(typestore.fielddefs[cls.__msgtype__][1])
        plan = []
        for attr, name in _out_plan(cls):
            node, desc = fields.get(name, fields.get(attr, (None, None)))
            packed = (node == Nodetype.SEQUENCE and desc[1] == 0
                      and desc[0][0] == Nodetype.BASE and desc[0][1][0] != "string")
            plan.append((attr, name, packed))
        _CBOR_PLANS[cls] = plan
    return plan


def _cbor_array(value: np.ndarray) -> Any:
    if value.dtype == np.uint8:
        return value.tobytes()
    tag = TYPED_ARRAY_TAGS.get(f"{value.dtype.kind}{value.dtype.itemsize}")
    if tag is None:  # bool[]: a plain list, as rosbridge sends it
        return value.tolist()
    return Tagged(tag, value.astype(value.dtype.newbyteorder("<"), copy=False).tobytes())


def _cbor_out(typestore: Any, value: Any) -> Any:
    kind = type(value)
    if kind is np.ndarray:
        return value.tolist()
    if kind is list:
        return [_cbor_out(typestore, x) for x in value]
    if dataclasses.is_dataclass(value):
        return to_cbor(typestore, value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def to_cbor(typestore: Any, msg: Any) -> dict[str, Any]:
    """A rosbags message object in rosbridge's CBOR form: unbounded uint8/char
    sequences as bytes, other numeric sequences as RFC 8746 typed arrays
    (little-endian), fixed arrays as lists, floats as they are (NaN too)."""
    out = {}
    for attr, name, packed in _cbor_plan(typestore, type(msg)):
        value = getattr(msg, attr)
        if packed and type(value) is np.ndarray:
            out[name] = _cbor_array(value)
        elif packed and isinstance(value, (bytes, bytearray, memoryview)):
            out[name] = bytes(value)
        else:
            out[name] = _cbor_out(typestore, value)
    return out


# -------------------------------------------------------------- from rosbridge


def _int_converter(base: str) -> Converter:
    low, high = _INT_RANGES[base]
    expected = f"an integer in [{low}, {high}]" if base != "int64" else "an integer"

    def convert(value: Any) -> int:
        if type(value) is not int:
            if isinstance(value, np.integer):
                value = int(value)
            elif base == "char" and type(value) is str and len(value) == 1:
                value = ord(value)
            else:
                raise _bad(expected, value)
        if low <= value <= high:
            return value
        raise _bad(expected, value)

    return convert


def _float_convert(value: Any) -> float:
    kind = type(value)
    if kind is float:
        return value
    if kind is int:
        return float(value)
    if value is None:
        return math.nan
    if isinstance(value, (np.floating, np.integer)) and not isinstance(value, np.bool_):
        return float(value)
    raise _bad("a number", value)


def _bool_convert(value: Any) -> bool:
    if type(value) is bool:
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    raise _bad("a boolean", value)


def _string_converter(bound: int) -> Converter:
    def convert(value: Any) -> str:
        if type(value) is not str:
            raise _bad("a string", value)
        if bound and len(value) > bound:
            raise _bad(f"a string of at most {bound} characters", value)
        return value

    return convert


def _base_converter(base: str, bound: int) -> tuple[Converter, Any]:
    if base in _INT_RANGES:
        return _int_converter(base), 0
    if base.startswith("float"):
        return _float_convert, 0.0
    if base == "bool":
        return _bool_convert, False
    if base == "string":
        return _string_converter(bound), ""
    raise GraphError(f"field type {base!r} is not supported by the embedded graph")


def _check_length(value: Any, fixed: int, bound: int) -> None:
    if fixed and len(value) != fixed:
        raise _bad(f"exactly {fixed} elements", f"{len(value)} elements")
    if bound and len(value) > bound:
        raise _bad(f"at most {bound} elements", f"{len(value)} elements")


def _each(convert: Converter, items: list[Any]) -> list[Any]:
    out = []
    for index, item in enumerate(items):
        try:
            out.append(convert(item))
        except _FieldError as exc:
            exc.path.append(f"[{index}]")
            raise
    return out


def _binary_converter(fixed: int, bound: int) -> Converter:
    def convert(value: Any) -> np.ndarray:
        if type(value) is str:
            try:
                data = b64decode(value, validate=True)
            except (binascii.Error, UnicodeEncodeError, ValueError):
                raise _bad("base64 text or a list of integers", value) from None
        elif isinstance(value, (bytes, bytearray, memoryview)):
            data = bytes(value)
        elif isinstance(value, np.ndarray) and value.dtype == np.uint8:
            data = value.tobytes()
        elif isinstance(value, (list, tuple)):
            data = bytes(_each(_int_converter("uint8"), list(value)))
        else:
            raise _bad("base64 text or a list of integers", value)
        _check_length(data, fixed, bound)
        return np.frombuffer(data, dtype=np.uint8)

    return convert


def _numeric_array_converter(base: str, fixed: int, bound: int) -> Converter:
    element, _ = _base_converter(base, 0)
    dtype = _DTYPES[base]

    def convert(value: Any) -> np.ndarray:
        if isinstance(value, np.ndarray):
            value = value.tolist()
        if not isinstance(value, (list, tuple)):
            raise _bad("a list", value)
        _check_length(value, fixed, bound)
        items = _each(element, list(value))
        if base == "byte":
            return np.array(items, dtype=np.int16).astype(np.int8)
        return np.array(items, dtype=dtype)

    return convert


def _list_converter(element: Converter, fixed: int, bound: int) -> Converter:
    def convert(value: Any) -> list[Any]:
        if not isinstance(value, (list, tuple)):
            raise _bad("a list", value)
        _check_length(value, fixed, bound)
        return _each(element, list(value))

    return convert


class _Compiler:
    """Builds and caches one converter per message type of one typestore."""

    def __init__(self, typestore: Any) -> None:
        self.typestore = typestore
        self.messages: dict[str, Converter] = {}

    def message(self, type_name: str) -> Converter:
        convert = self.messages.get(type_name)
        if convert is None:
            convert = self._build(type_name)
            self.messages[type_name] = convert
        return convert

    def _build(self, type_name: str) -> Converter:
        if type_name not in self.typestore.fielddefs:
            raise GraphError(
                f"unknown message type {type_name!r}; advertise it with its definition "
                "(msgdef) or use a standard ROS 2 type"
            )
        cls = self.typestore.types[type_name]
        fields = []
        for name, desc in self.typestore.fielddefs[type_name][1]:
            convert, default = self._field(desc)
            fields.append((name, _json_name_attr(name), convert, default))
        known = {name for name, *_ in fields if name != _PLACEHOLDER}

        def convert_message(value: Any) -> Any:
            if not isinstance(value, dict):
                raise _bad(f"an object ({type_name})", value)
            if not known.issuperset(value):
                key = sorted(map(str, value.keys() - known))[0]
                fields_text = ", ".join(sorted(known)) or "no fields"
                raise _FieldError([key], f"is unknown; {type_name} has {fields_text}")
            kwargs = {}
            for name, attr, field_convert, default in fields:
                item = value.get(name, _MISSING)
                try:
                    kwargs[attr] = default() if item is _MISSING else field_convert(item)
                except _FieldError as exc:
                    exc.path.append(name)
                    raise
            return cls(**kwargs)

        return convert_message

    def _field(self, desc: Any) -> tuple[Converter, Callable[[], Any]]:
        node, args = desc
        if node == Nodetype.BASE:
            base, bound = args
            convert, default = _base_converter(base, bound)
            return convert, lambda: default
        if node == Nodetype.NAME:
            return self._nested(args)
        (sub_node, sub_args), count = args
        fixed, bound = (count, 0) if node == Nodetype.ARRAY else (0, count)
        if sub_node == Nodetype.BASE:
            base, string_bound = sub_args
            if base in _BINARY:
                convert = _binary_converter(fixed, bound)
                return convert, lambda: np.zeros(fixed, dtype=np.uint8)
            if base == "string":
                convert = _list_converter(_string_converter(string_bound), fixed, bound)
                return convert, lambda: [""] * fixed
            convert = _numeric_array_converter(base, fixed, bound)
            return convert, lambda: np.zeros(fixed, dtype=_DTYPES[base])
        element, element_default = self._nested(sub_args)
        return _list_converter(element, fixed, bound), lambda: [
            element_default() for _ in range(fixed)
        ]

    def _nested(self, type_name: str) -> tuple[Converter, Callable[[], Any]]:
        def convert(value: Any) -> Any:
            return self.message(type_name)(value)

        def default() -> Any:
            return self.message(type_name)({})

        return convert, default


_MISSING = object()


def _json_name_attr(name: str) -> str:
    return f"{name}_" if keyword.iskeyword(name) else name


_COMPILERS: weakref.WeakKeyDictionary[Any, _Compiler] = weakref.WeakKeyDictionary()


def from_rosbridge(typestore: Any, type_name: str, data: dict[str, Any]) -> Any:
    """``data`` (rosbridge JSON form) as a rosbags object of ``type_name``.

    Raises ``GraphError`` naming the field path when ``data`` does not fit the type.
    """
    compiler = _COMPILERS.get(typestore)
    if compiler is None:
        compiler = _COMPILERS[typestore] = _Compiler(typestore)
    convert = compiler.message(type_name)
    try:
        return convert(data)
    except _FieldError as exc:
        path = ".".join(reversed(exc.path)).replace(".[", "[")
        if not path:
            raise GraphError(f"a message of {type_name} {exc.text}") from None
        raise GraphError(f"field '{path}' of {type_name} {exc.text}") from None
