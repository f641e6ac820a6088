"""The other shapes of an outgoing rosbridge frame: CBOR, PNG and fragments.

rosbridge v2 lets a subscriber ask for ``compression`` (``cbor``: the frame as one
binary CBOR item, byte arrays as byte strings and numeric arrays as typed arrays;
``cbor-raw``: the message as its serialized bytes; ``png``: the JSON text packed into
the pixels of a PNG image) and any client set ``fragment_size`` (text frames longer
than that are sent as ``fragment`` pieces that roslibjs reassembles). ``Form`` names
the shape one subscription wants; the functions here make the bytes, standard
library only. Numeric arrays use the little-endian tags of RFC 8746, as
rosbridge_server does.
"""
from __future__ import annotations

import base64
import functools
import json
import math
import struct
import zlib
from dataclasses import dataclass
from typing import Any, NamedTuple

COMPRESSIONS = ('none', 'png', 'cbor', 'cbor-raw')


@dataclass(frozen=True)
class Form:
    """How one client takes one topic: ``compression`` (one of ``COMPRESSIONS``),
    ``keyed`` (the resume key, ``epoch`` and ``seq``, on every frame) and
    ``fragment_size`` (0: whole frames)."""

    compression: str = 'none'
    keyed: bool = False
    fragment_size: int = 0

    @property
    def binary(self) -> bool:
        return self.compression in ('cbor', 'cbor-raw')


STANDARD = Form()


@functools.lru_cache(maxsize=256)
def form(compression: str = 'none', keyed: bool = False, fragment_size: int = 0) -> Form:
    """The one ``Form`` object for these values, so a tier can tell forms apart with
    ``is`` on its hot path."""
    value = Form(compression, keyed, fragment_size)
    return STANDARD if value == STANDARD else value


class Tagged(NamedTuple):
    """A CBOR tagged item, e.g. a typed array: ``Tagged(86, <float64 LE bytes>)``."""
    tag: int
    value: Any


# numpy dtype kind+size -> RFC 8746 little-endian typed-array tag (uint8 goes as bytes)
TYPED_ARRAY_TAGS = {'u2': 69, 'u4': 70, 'u8': 71, 'i1': 72, 'i2': 77, 'i4': 78, 'i8': 79,
                    'f4': 85, 'f8': 86}


def _head(major: int, length: int) -> bytes:
    if length < 24:
        return bytes((major << 5 | length,))
    for extra, fmt in ((24, '>B'), (25, '>H'), (26, '>I'), (27, '>Q')):
        if length < 1 << (8 * struct.calcsize(fmt)):
            return bytes((major << 5 | extra,)) + struct.pack(fmt, length)
    raise ValueError(f'{length} is too large for CBOR')


def _encode(value: Any, out: list[bytes]) -> None:
    kind = type(value)
    if kind is str:
        data = value.encode()
        out += (_head(3, len(data)), data)
    elif kind is bool:
        out.append(b'\xf5' if value else b'\xf4')
    elif kind is int:
        out.append(_head(0, value) if value >= 0 else _head(1, -1 - value))
    elif kind is float:
        out.append(b'\xfb' + struct.pack('>d', value))
    elif value is None:
        out.append(b'\xf6')
    elif kind is dict:
        out.append(_head(5, len(value)))
        for key, item in value.items():
            _encode(key, out)
            _encode(item, out)
    elif kind is list or kind is tuple:
        out.append(_head(4, len(value)))
        for item in value:
            _encode(item, out)
    elif kind is bytes or kind is bytearray or kind is memoryview:
        data = bytes(value)
        out += (_head(2, len(data)), data)
    elif kind is Tagged or (hasattr(value, 'tag') and hasattr(value, 'value')):
        out.append(_head(6, value.tag))  # also cbor2.CBORTag, from rosbridge_library
        _encode(value.value, out)
    else:
        raise TypeError(f'cannot encode {kind.__name__} as CBOR')


def cbor(value: Any) -> bytes:
    """``value`` (dicts, lists, str, int, float, bool, None, bytes, ``Tagged``) as one
    CBOR item (RFC 8949; floats as float64, NaN and infinities included)."""
    out: list[bytes] = []
    _encode(value, out)
    return b''.join(out)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack('>I', len(data)) + kind + data + struct.pack(
        '>I', zlib.crc32(kind + data) & 0xffffffff)


def png_frame(text: bytes) -> bytes:
    """The ``{"op": "png", "data": ...}`` frame of JSON ``text``: its bytes as the RGB
    pixels of a near-square PNG, padded with newlines (JSON whitespace), base64."""
    width = max(1, math.floor(math.sqrt(len(text) / 3)))
    height = max(1, math.ceil(len(text) / 3 / width))
    pixels = text + b'\n' * (width * height * 3 - len(text))
    stride = width * 3
    rows = b''.join(b'\x00' + pixels[i:i + stride] for i in range(0, len(pixels), stride))
    image = b''.join((b'\x89PNG\r\n\x1a\n',
                      _chunk(b'IHDR', struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0)),
                      _chunk(b'IDAT', zlib.compress(rows, 6)), _chunk(b'IEND', b'')))
    return b'{"op":"png","data":"%s"}' % base64.b64encode(image)


def fragments(text: bytes, size: int, frame_id: str) -> list[bytes]:
    """``text`` (a JSON frame) as ``fragment`` frames whose ``data`` holds at most
    ``size`` characters each; the frame itself when it is not longer than that."""
    if len(text) <= size:
        return [text]
    chars = text.decode()
    total = (len(chars) + size - 1) // size
    return [json.dumps({'op': 'fragment', 'id': frame_id, 'data': chars[i * size:(i + 1) * size],
                        'num': i, 'total': total}, separators=(',', ':')).encode()
            for i in range(total)]
