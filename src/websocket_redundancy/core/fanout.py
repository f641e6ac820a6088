"""Fan-out: at most one encoding per sample and form, bounded queues per client.

``Hub`` keeps which sessions take which topic and encodes each server ``publish``
frame at most once per tier and form (``LazyFrame``: only when a client takes the
sample, live or in a replay, and only the forms taken: standard, with the resume key);
the same bytes go to every subscriber of that form. ``SendQueue``
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
    once-per-sample encoder. Each topic's keys are also grouped by the form of frame
    they take (``None``: the standard frame; ``set_form``), so a sample is prepared
    once per group and sent in a loop with no per-key form check."""

    def __init__(self, encode: Callable[[Any], bytes] = _json_bytes):
        self.encode = encode
        self._subscribers: dict[str, dict[Hashable, Any]] = {}
        self._groups: dict[str, dict[Hashable, dict[Hashable, Any]]] = {}
        self._form_of: dict[tuple[str, Hashable], Hashable] = {}  # (topic, key) -> form

    def add(self, topic: str, key: Hashable, value: Any = None) -> bool:
        """Add ``key`` to ``topic`` (in its form's group, the standard one for a new
        key); True when it is the tier's first subscriber (the shell then subscribes
        on the graph)."""
        keys = self._subscribers.setdefault(topic, {})
        first = not keys
        keys[key] = value
        form = self._form_of.setdefault((topic, key), None)
        self._groups.setdefault(topic, {}).setdefault(form, {})[key] = value
        return first

    def remove(self, topic: str, key: Hashable) -> bool:
        """Remove ``key``; True when ``topic`` has no subscriber left."""
        keys = self._subscribers.get(topic)
        if keys is None:
            return False
        keys.pop(key, None)
        self._leave(topic, key)
        if keys:
            return False
        del self._subscribers[topic]
        return True

    def set_form(self, topic: str, key: Hashable, form: Hashable) -> None:
        """Move ``key`` to the group of ``topic``'s subscribers taking ``form``."""
        keys = self._subscribers.get(topic)
        if keys is None or key not in keys or self._form_of.get((topic, key)) == form:
            return
        self._leave(topic, key)
        self._form_of[(topic, key)] = form
        self._groups.setdefault(topic, {}).setdefault(form, {})[key] = keys[key]

    def _leave(self, topic: str, key: Hashable) -> None:
        form = self._form_of.pop((topic, key), None)
        groups = self._groups.get(topic)
        members = groups.get(form) if groups is not None else None
        if members is None:
            return
        members.pop(key, None)
        if not members:
            del groups[form]
            if not groups:
                del self._groups[topic]

    def has(self, topic: str) -> bool:
        """Some key takes ``topic`` (a single dict lookup: safe from a graph thread)."""
        return topic in self._subscribers

    def subscribers(self, topic: str) -> dict[Hashable, Any]:
        """The keys on ``topic`` with their values (the live dict: copy to mutate)."""
        return self._subscribers.get(topic, _EMPTY)

    def groups(self, topic: str) -> dict[Hashable, dict[Hashable, Any]]:
        """``topic``'s subscribers by the form they take (``None``: the standard frame;
        live dicts: copy to iterate while sending)."""
        return self._groups.get(topic, _EMPTY)

    def topics(self) -> list[str]:
        return sorted(self._subscribers)

    def publish_frame(self, topic: str, msg: dict[str, Any],
                      key: tuple[str, int] | None = None) -> bytes:
        """The one encoding of a server ``publish`` for every client of this tier: the
        standard rosbridge frame, or with ``key`` its resume key (``epoch``, ``seq``)
        for the clients that subscribed with ``resume_keys``."""
        if key is None:
            return self.encode({'op': 'publish', 'topic': topic, 'msg': msg})
        return self.encode({'op': 'publish', 'topic': topic, 'msg': msg,
                            'epoch': key[0], 'seq': key[1]})


class LazyFrame:
    """A frame built on first use, at most once: a sample a tier buffers for resuming
    clients costs its encoding only if some client takes it. ``build(key)`` returns the
    bytes (standard for ``key`` None, else with the resume key ``(epoch, seq)``), or
    None when the sample cannot be sent (the shell said why); ``get()`` and ``keyed()``
    each build their frame at most once, and only the forms some client takes are
    built."""

    __slots__ = ('_build', '_value', 'epoch', 'seq', 'source', '_keyed', '_shapes',
                 '_failed')

    def __init__(self, build: Callable[[tuple[str, int] | None], bytes | None],
                 epoch: str = '', seq: int = 0, source: Any = None):
        self._build = build
        self._value: bytes | None = None
        self.epoch = epoch
        self.seq = seq
        self.source = source  # what the frame is made from (the shell's sample)
        self._keyed: bytes | None = None
        self._shapes: dict[Hashable, Any] | None = None
        self._failed = False  # a build returned None: the sample cannot be sent

    def get(self) -> bytes | None:
        if self._value is None and not self._failed:
            self._value = self._build(None)
            self._failed = self._value is None
        return self._value

    def keyed(self) -> bytes | None:
        if self._keyed is None and not self._failed:
            self._keyed = self._build((self.epoch, self.seq))
            self._failed = self._keyed is None
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
