"""Bookkeeping of the embedded graph: live announcements and types being fetched.

``Directory`` mirrors the liveliness tokens of publishers and servers (see ``keys``)
and answers ``topics()``/``services()``. ``PendingTypes`` holds work (decoding a
sample) for a type whose definition is still being fetched from a peer and runs it,
in arrival order, once the type is registered; if no peer can provide it, the work
is dropped with one error in the log.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import zenoh

from ..port import TopicInfo
from . import keys

log = logging.getLogger(__name__)


class Directory:
    """Live publisher and server tokens, by token key."""

    def __init__(self, prefix: str) -> None:
        self._prefix = prefix
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[str, str, str, str]] = {}

    def update(self, key: str, kind: zenoh.SampleKind) -> str | None:
        """Apply one liveliness sample; returns the type of a newly seen publisher."""
        parsed = keys.parse_token_key(self._prefix, key)
        if parsed is None:
            return None
        with self._lock:
            if kind == zenoh.SampleKind.PUT:
                self._entries[key] = parsed
            else:
                self._entries.pop(key, None)
        return parsed[2] if kind == zenoh.SampleKind.PUT and parsed[0] != "srv" else None

    def topics(self) -> dict[str, TopicInfo]:
        by_topic: dict[str, list[tuple[str, str, str]]] = {}
        with self._lock:
            for kind, epoch, type_name, name in self._entries.values():
                if kind != "srv":
                    by_topic.setdefault(name, []).append((type_name, epoch, kind))
        out = {}
        for topic, pubs in sorted(by_topic.items()):
            types = sorted({type_name for type_name, _, _ in pubs})
            meta = {"epochs": sorted(epoch for _, epoch, _ in pubs)}
            if len(types) > 1:
                meta["types"] = types
            latched = all(kind == "lat" for _, _, kind in pubs)
            out[topic] = TopicInfo(topic, types[0], len(pubs), meta, latched)
        return out

    def services(self) -> dict[str, str]:
        with self._lock:
            return {
                name: type_name
                for kind, _, type_name, name in sorted(self._entries.values())
                if kind == "srv"
            }


class PendingTypes:
    """Runs actions once their type is known, fetching unknown types once each."""

    def __init__(
        self,
        known: Callable[[str], bool],
        fetch: Callable[[str, Callable[[bool], None]], None],
        limit: int = 1000,
    ) -> None:
        self._known = known
        self._fetch = fetch
        self._limit = limit
        self._lock = threading.Lock()
        self._waiting: dict[str, list[Callable[[], None]]] = {}

    def run(self, type_name: str, action: Callable[[], None]) -> None:
        """Run ``action`` now if ``type_name`` is known, else when it becomes known."""
        if type_name not in self._waiting and self._known(type_name):
            action()
            return
        start = False
        with self._lock:
            waiting = self._waiting.get(type_name)
            if waiting is not None:
                if len(waiting) < self._limit:
                    waiting.append(action)
                else:
                    log.warning("definition of %s still pending; dropped a sample", type_name)
                return
            if not self._known(type_name):
                self._waiting[type_name] = [action]
                start = True
        if start:
            self._fetch(type_name, lambda ok: self._done(type_name, ok))
        else:
            action()

    def _done(self, type_name: str, ok: bool) -> None:
        while True:
            with self._lock:
                batch = self._waiting.get(type_name, [])
                if not ok or not batch:
                    self._waiting.pop(type_name, None)
                    return
                self._waiting[type_name] = []
            for action in batch:
                try:
                    action()
                except Exception:
                    log.exception("work waiting for type %s failed", type_name)
