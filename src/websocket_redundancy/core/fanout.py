"""Fan-out: at most one encoding per sample, bounded queues per client.

``Hub`` keeps which sessions take which topic and encodes each server ``publish``
frame at most once per tier (``LazyFrame``: only when a client takes the sample, live
or in a replay); the same bytes go to every subscriber. ``SendQueue``
holds what a slow socket has not taken yet: telemetry is dropped oldest-first (the
client sees the hole in ``seq`` and can resume), control replies are never dropped
but a client that lets them pile up past the bound is disconnected.
"""
from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Hashable
from typing import Any

_EMPTY: dict = {}


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, separators=(',', ':'), allow_nan=False).encode()


class Hub:
    """Topic -> subscribed keys (each with a value, e.g. the client's session), and the
    once-per-sample encoder."""

    def __init__(self, encode: Callable[[Any], bytes] = _json_bytes):
        self.encode = encode
        self._subscribers: dict[str, dict[Hashable, Any]] = {}

    def add(self, topic: str, key: Hashable, value: Any = None) -> bool:
        """Add ``key`` to ``topic``; True when it is the tier's first subscriber (the
        shell then subscribes on the graph)."""
        keys = self._subscribers.setdefault(topic, {})
        first = not keys
        keys[key] = value
        return first

    def remove(self, topic: str, key: Hashable) -> bool:
        """Remove ``key``; True when ``topic`` has no subscriber left."""
        keys = self._subscribers.get(topic)
        if keys is None:
            return False
        keys.pop(key, None)
        if keys:
            return False
        del self._subscribers[topic]
        return True

    def has(self, topic: str) -> bool:
        """Some key takes ``topic`` (a single dict lookup: safe from a graph thread)."""
        return topic in self._subscribers

    def subscribers(self, topic: str) -> dict[Hashable, Any]:
        """The keys on ``topic`` with their values (the live dict: copy to mutate)."""
        return self._subscribers.get(topic, _EMPTY)

    def topics(self) -> list[str]:
        return sorted(self._subscribers)

    def publish_frame(self, topic: str, msg: dict[str, Any]) -> bytes:
        """The one encoding of a server ``publish`` for every client of this tier: the
        standard rosbridge frame (``LazyFrame.keyed`` adds the resume key)."""
        return self.encode({'op': 'publish', 'topic': topic, 'msg': msg})


def with_key(frame: bytes, epoch: str, seq: int) -> bytes:
    """``frame`` (a JSON object) with ``"epoch"`` and ``"seq"`` appended: the extension
    fields of a client that subscribed with ``resume_keys``, at the cost of one copy."""
    return b'%s,"epoch":%s,"seq":%d}' % (frame[:-1], json.dumps(epoch).encode(), seq)


class LazyFrame:
    """A frame built on first use, at most once: a sample a tier buffers for resuming
    clients costs its encoding only if some client takes it. ``build`` returns the
    standard bytes, or None when the sample cannot be sent (the shell said why);
    ``keyed()`` is the same frame with the sample's resume key, made at most once too."""

    __slots__ = ('_build', '_value', 'epoch', 'seq', 'source', '_keyed', '_shapes')

    def __init__(self, build: Callable[[], bytes | None], epoch: str = '', seq: int = 0,
                 source: Any = None):
        self._build: Callable[[], bytes | None] | None = build
        self._value: bytes | None = None
        self.epoch = epoch
        self.seq = seq
        self.source = source  # what the frame is made from (the shell's sample)
        self._keyed: bytes | None = None
        self._shapes: dict[Hashable, Any] | None = None

    def get(self) -> bytes | None:
        build = self._build
        if build is not None:
            self._build = None
            self._value = build()
        return self._value

    def keyed(self) -> bytes | None:
        if self._keyed is None:
            frame = self.get()
            if frame is None:
                return None
            self._keyed = with_key(frame, self.epoch, self.seq)
        return self._keyed

    def shaped(self, shape: Hashable, make: Callable[[LazyFrame, Any], Any]) -> Any:
        """The frame in another ``shape`` (e.g. CBOR), made by ``make(self, shape)`` the
        first time a client asks for that shape, and kept for the next ones."""
        shapes = self._shapes
        if shapes is None:
            shapes = self._shapes = {}
        if shape not in shapes:
            shapes[shape] = make(self, shape)
        return shapes[shape]

    @property
    def built(self) -> bool:
        return self._build is None


class QueueOverflow(Exception):
    """Control replies piled up past the bound: the client is not reading."""


class SendQueue:
    """Frames waiting for a paused (slow) socket."""

    def __init__(self, max_frames: int, max_control: int):
        self._data: deque[bytes] = deque()
        self._control: deque[bytes] = deque()
        self.max_frames = max_frames
        self.max_control = max_control
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._data) + len(self._control)

    @property
    def waiting(self) -> bool:
        """Anything queued (cheaper than ``len`` on the hot path)."""
        return bool(self._data or self._control)

    def push_data(self, frame: bytes) -> None:
        if len(self._data) >= self.max_frames:
            self._data.popleft()
            self.dropped += 1
        self._data.append(frame)

    def push_control(self, frame: bytes) -> None:
        if len(self._control) >= self.max_control:
            raise QueueOverflow(f'{len(self._control)} replies unread')
        self._control.append(frame)

    def pop(self) -> bytes | None:
        """Control first, then telemetry in order."""
        if self._control:
            return self._control.popleft()
        if self._data:
            return self._data.popleft()
        return None
