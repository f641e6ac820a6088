"""rclpy message -> rosbridge JSON, compiled once per message type.

The output is rosbridge_library's ``message_conversion.extract_values(msg)``, value for
value: the same rules (``uint8[]``/``char[]`` and their fixed or bounded forms as base64
text, ``builtin_interfaces`` Time and Duration as ``{sec, nanosec}``, NaN and +/-Inf as
``None`` except inside numpy arrays, ``octet`` as an int, lists of non-float primitives
copied, lists of floats element by element), decided once per field type instead of
for every field of every message (rosbridge finds the root message's type by
formatting it with ``repr()`` and matches two regular expressions per field). Every
case it does not decide the same way up front (a value of an unexpected kind, the
``bson_only_mode`` of rosbridge_server's BSON transport) goes to rosbridge_library's own
``_from_inst``, so errors and odd cases stay identical; ``test/ros`` compares both on
messages of the types the tiers carry, on Humble and Jazzy.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

Converter = Callable[[Any], Any]


class Extractor:
    """``extract(msg)``: the rosbridge JSON of an rclpy message; ``mc`` is rosbridge
    library's ``message_conversion`` module (its tables and its fallback)."""

    def __init__(self, mc) -> None:
        self.mc = mc
        self._fields: dict[type, list[tuple[str, Converter]]] = {}
        self._converters: dict[str, Converter] = {}

    NEEDS = ('_from_inst', '_remove_list_indicators', 'get_encoder', 'list_types',
             'primitive_types', 'ros_binary_types', 'ros_binary_types_list_braces',
             'ros_primitive_types', 'ros_time_types', 'type_map', 'TimeMsg', 'DurationMsg',
             'ROSMessage', 'np', 'bson_only_mode', 'extract_values')

    @classmethod
    def usable(cls, mc) -> bool:
        """rosbridge_library has the tables and helpers this mirrors (2.x does)."""
        return all(hasattr(mc, name) for name in cls.NEEDS)

    def extract(self, msg: Any) -> dict[str, Any]:
        if self.mc.bson_only_mode:  # rosbridge_server's BSON transport: its own rules
            return self.mc.extract_values(msg)
        return self._object(msg)

    def _object(self, msg: Any) -> dict[str, Any]:
        fields = self._fields.get(type(msg))
        if fields is None:
            fields = self._fields[type(msg)] = [
                (name, self.converter(rostype))
                for name, rostype in msg.get_fields_and_field_types().items()]
        return {name: convert(getattr(msg, name)) for name, convert in fields}

    def converter(self, rostype: str) -> Converter:
        """The function that turns a field of ``rostype`` into JSON (``_from_inst``'s
        decisions, taken once)."""
        convert = self._converters.get(rostype)
        if convert is None:
            convert = self._converters[rostype] = self._compile(rostype)
        return convert

    def _compile(self, rostype: str) -> Converter:
        mc = self.mc
        fallback = self._fallback(rostype)
        list_types = mc.list_types
        for binary_type, expression in mc.ros_binary_types_list_braces:
            if expression.sub(binary_type, rostype) in mc.ros_binary_types:
                def binary(value):
                    if not isinstance(value, list_types):
                        return fallback(value)
                    return mc.get_encoder()(value).decode('ascii')
                return binary
        if rostype in mc.ros_time_types:
            time_types = (mc.TimeMsg, mc.DurationMsg)

            def stamp(value):
                if not isinstance(value, time_types):
                    return fallback(value)
                return {'sec': value.sec, 'nanosec': value.nanosec}
            return stamp
        if rostype in mc.ros_primitive_types:
            return self._primitive(rostype, fallback)
        try:
            base = mc._remove_list_indicators(rostype)
        except ValueError:  # a message type: a list value here goes to the fallback
            base = None
        element = None

        def composite(value):
            nonlocal element
            if not isinstance(value, list_types):
                if isinstance(value, mc.ROSMessage):
                    return self._object(value)
                return fallback(value)
            if base is None:
                return fallback(value)
            if len(value) == 0:
                return []
            if base in mc.ros_primitive_types:
                if isinstance(value, mc.np.ndarray) and (
                        base in mc.type_map['int'] or base in mc.type_map['float']):
                    return value.tolist()
                if base not in mc.type_map['float']:
                    return list(value)
            if element is None:
                element = self.converter(base)
            return [element(x) for x in value]
        return composite

    def _primitive(self, rostype: str, fallback: Converter) -> Converter:
        mc = self.mc
        if rostype in mc.type_map['float']:
            def real(value):
                if type(value) is not float:
                    return fallback(value)
                return value if math.isfinite(value) else None
            return real
        if rostype == 'octet':
            def octet(value):
                if type(value) is not bytes:
                    return fallback(value)
                return int.from_bytes(value, 'little')
            return octet
        accepted = (*mc.primitive_types, bytes)

        def plain(value):
            return value if isinstance(value, accepted) else fallback(value)
        return plain

    def _fallback(self, rostype: str) -> Converter:
        from_inst = self.mc._from_inst
        return lambda value: from_inst(value, rostype)
