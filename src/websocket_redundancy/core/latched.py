"""Latched (transient-local) topics at a tier: which of its topics latch, and the last
sample of each publisher a new subscriber gets first, as rosbridge_server's
transient-local subscription gives it.

A topic latches while all its publishers do (the graph says so, or a client's own
latched ``advertise``); a publisher that does not latch joining ends it. Publishers are
told apart by epoch, and at most ``keep`` of them are remembered per topic (the oldest
is forgotten first). Samples are any objects (the tier's ``LazyFrame``\\s); nothing here
reads a clock or knows the wire.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Generic, TypeVar

from .ringbuffer import EPOCHS_REMEMBERED

Item = TypeVar('Item')


class LatchedTopics(Generic[Item]):
    def __init__(self, keep: int = EPOCHS_REMEMBERED):
        self.keep = keep
        self._latched: set[str] = set()
        self._latest: dict[str, dict[str, Item]] = {}  # topic -> epoch -> last sample

    def __contains__(self, topic: str) -> bool:
        return topic in self._latched

    def note(self, topic: str, latched: bool) -> bool:
        """What the graph says of ``topic`` now; True if it has just begun to latch
        (the caller then ``seed``\\s it with what arrived before)."""
        if latched and topic not in self._latched:
            self._latched.add(topic)
            return True
        if not latched and topic in self._latched:
            self._latched.discard(topic)
            self._latest.pop(topic, None)
        return False

    def seed(self, topic: str, newest: Mapping[str, Item]) -> None:
        """The newest sample of each publisher that arrived before the topic was seen
        to latch (oldest publisher first): a client was subscribed when the publisher
        appeared and published at once, as roslibjs's ``publish`` does."""
        if topic in self._latched and newest:
            self._latest[topic] = dict(list(newest.items())[-self.keep:])

    def record(self, topic: str, epoch: str, item: Item) -> None:
        """A new sample of a latched ``topic`` replaces its publisher's last one."""
        latest = self._latest.setdefault(topic, {})
        latest.pop(epoch, None)
        latest[epoch] = item
        if len(latest) > self.keep:
            latest.pop(next(iter(latest)))

    def latest(self, topic: str) -> list[Item]:
        """The samples a new subscriber to ``topic`` gets first, oldest publisher first."""
        return list(self._latest.get(topic, {}).values())

    def clear(self) -> None:
        self._latched.clear()
        self._latest.clear()
