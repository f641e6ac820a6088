"""Zenoh key expressions and sample attachments of the embedded graph.

Layout under one prefix per domain, ``wr/<domain>``::

    wr/0/t/<topic>                          samples of a topic (CDR payload)
    wr/0/s/<service>                        queryable of a service
    wr/0/types/<pkg>/msg/<Name>             queryable: concatenated message definition
    wr/0/pub/<epoch>/<pkg>/msg/<Name>/<topic>    liveliness token per publisher
    wr/0/lat/<epoch>/<pkg>/msg/<Name>/<topic>    ... per latched publisher
    wr/0/l/<epoch>/<topic>                  queryable of a latched publisher: its last sample
    wr/0/srv/<epoch>/<pkg>/srv/<Name>/<service>  liveliness token per server

ROS names hold only ``[A-Za-z0-9_/]`` and type names always have three parts, so a
token key parses back without escaping. Every sample carries an attachment::

    version (1 byte) | seq (uint64 LE) | source_time (float64 LE) | epoch NUL type_name
"""
from __future__ import annotations

import re
import secrets
import struct
import time

from ..port import GraphError

_NAME = re.compile(r"^/?[A-Za-z_][A-Za-z0-9_]*(/[A-Za-z0-9_]+)*$")
_HEADER = struct.Struct("<BQd")
_VERSION = 1


def prefix(domain: int) -> str:
    return f"wr/{int(domain)}"


def ros_name(name: str, what: str = "topic") -> str:
    """``name`` with one leading slash, or ``GraphError`` if it is not a ROS name."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise GraphError(f"{what} name {name!r} is not a valid ROS name ([A-Za-z0-9_/])")
    return "/" + name.lstrip("/")


def new_epoch() -> str:
    """A publisher instance id: 8 random bytes and the start time in ms, both hex."""
    return f"{secrets.token_hex(8)}-{int(time.time() * 1000):x}"


def topic_key(pfx: str, topic: str) -> str:
    return f"{pfx}/t{topic}"


def service_key(pfx: str, service: str) -> str:
    return f"{pfx}/s{service}"


def types_key(pfx: str, type_name: str) -> str:
    return f"{pfx}/types/{type_name}"


def latch_key(pfx: str, epoch: str, topic: str) -> str:
    """Where a latched publisher answers with its last sample."""
    return f"{pfx}/l/{epoch}{topic}"


def latch_query(pfx: str, topic: str) -> str:
    """Every latched publisher's last sample of ``topic``."""
    return f"{pfx}/l/*{topic}"


def token_key(pfx: str, kind: str, epoch: str, type_name: str, name: str) -> str:
    """Liveliness key; ``kind`` is 'pub', 'lat' (a latched publisher) or 'srv'."""
    return f"{pfx}/{kind}/{epoch}/{type_name}{name}"


def parse_token_key(pfx: str, key: str) -> tuple[str, str, str, str] | None:
    """``(kind, epoch, type_name, name)`` from a token key, None if it is not one."""
    if not key.startswith(pfx + "/"):
        return None
    parts = key[len(pfx) + 1 :].split("/")
    if len(parts) < 6 or parts[0] not in ("pub", "lat", "srv"):
        return None
    return parts[0], parts[1], "/".join(parts[2:5]), "/" + "/".join(parts[5:])


def encode_attachment(seq: int, source_time: float, epoch: str, type_name: str) -> bytes:
    return _HEADER.pack(_VERSION, seq, source_time) + f"{epoch}\0{type_name}".encode()


def decode_attachment(data: bytes) -> tuple[int, float, str, str] | None:
    """``(seq, source_time, epoch, type_name)``, or None if not an attachment of ours."""
    if len(data) <= _HEADER.size or data[0] != _VERSION:
        return None
    _, seq, source_time = _HEADER.unpack_from(data)
    epoch, sep, type_name = data[_HEADER.size :].decode("utf-8", "replace").partition("\0")
    if not sep:
        return None
    return seq, source_time, epoch, type_name
