"""Minimal WebSocket framing (RFC 6455) for the benchmark's own clients.

The load client holds hundreds of connections in one process, so it parses frames by
hand instead of running a WebSocket library per connection. Frames from a server are
unmasked; frames to a server are masked. Fragmented messages are not used by the
servers measured here and are not reassembled.
"""
from __future__ import annotations

import base64
import os
import struct
from urllib.parse import urlsplit


def split_url(url: str) -> tuple[str, int, str]:
    """(host, port, path) of a ``ws://`` URL."""
    parts = urlsplit(url)
    if parts.scheme != 'ws' or not parts.hostname:
        raise ValueError(f'{url!r} is not a ws:// URL, e.g. ws://127.0.0.1:9090')
    path = (parts.path or '/') + (f'?{parts.query}' if parts.query else '')
    return parts.hostname, parts.port or 80, path


def handshake(host: str, port: int, path: str, headers: dict[str, str] | None = None) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    extra = ''.join(f'{k}: {v}\r\n' for k, v in (headers or {}).items())
    return (f'GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n'
            f'Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n'
            f'Sec-WebSocket-Version: 13\r\n{extra}\r\n').encode()


def encode(payload: bytes | str, opcode: int = 1) -> bytes:
    """One masked frame (client to server)."""
    if isinstance(payload, str):
        payload = payload.encode()
    n = len(payload)
    if n < 126:
        header = struct.pack('!BB', 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        header = struct.pack('!BBH', 0x80 | opcode, 0x80 | 126, n)
    else:
        header = struct.pack('!BBQ', 0x80 | opcode, 0x80 | 127, n)
    mask = os.urandom(4)
    body = (int.from_bytes(payload, 'big') ^ int.from_bytes((mask * (n // 4 + 1))[:n], 'big')
            ).to_bytes(n, 'big') if n else b''
    return header + mask + body


def frames(buf: bytes) -> tuple[list[tuple[int, int, int]], int]:
    """([(opcode, start, end) of each complete frame in ``buf``], offset of the first
    byte not yet part of a complete frame)."""
    out = []
    pos, n = 0, len(buf)
    while n - pos >= 2:
        length = buf[pos + 1] & 0x7F
        head = 2
        if length == 126:
            if n - pos < 4:
                break
            length = int.from_bytes(buf[pos + 2:pos + 4], 'big')
            head = 4
        elif length == 127:
            if n - pos < 10:
                break
            length = int.from_bytes(buf[pos + 2:pos + 10], 'big')
            head = 10
        end = pos + head + length
        if end > n:
            break
        out.append((buf[pos] & 0x0F, pos + head, end))
        pos = end
    return out, pos


def data_fields(buf: bytes, start: int, end: int, with_time: bool) -> tuple[int, float]:
    """(index, send time) from a publish frame whose ``msg.data`` starts "<i> <t> ...";
    (-1, 0.0) for any other frame. Works with any JSON spacing."""
    k = buf.find(b'"data"', start, end)
    if k < 0:
        return -1, 0.0
    q = buf.find(b'"', k + 6, end)
    sp = buf.find(b' ', q + 1, end)
    if q < 0 or sp < 0:
        return -1, 0.0
    try:
        index = int(buf[q + 1:sp])
        sent = float(buf[sp + 1:buf.find(b' ', sp + 1, end)]) if with_time else 0.0
    except ValueError:
        return -1, 0.0
    return index, sent


def payload_text(index: int, sent: float, size: int) -> str:
    """The ``data`` string every benchmark source sends: index, send time, padding."""
    head = f'{index} {sent:.6f} '
    return head + 'x' * max(0, size - len(head))
