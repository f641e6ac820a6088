"""One connection of the failover client, and the rosbridge frames it sends.

Roles: ``pending`` (opening, meant to become active), ``active`` (carries the app's
topics), ``standby`` (next-ranked tier, heartbeat only; app topics too in hot-standby
mode) and ``candidate`` (a higher-ranked tier on probation before failback).
"""
from __future__ import annotations

from typing import Any

from .failover_types import Position, Subscribe
from .ranking import TierInfo

PENDING, ACTIVE, STANDBY, CANDIDATE = 'pending', 'active', 'standby', 'candidate'
MAX_STREAMS = 32  # streams (epochs) remembered per topic and connection


class Conn:
    """What the machine knows about one connection it asked the shell to open."""

    __slots__ = ('url', 'role', 'is_open', 'started', 'opened_at', 'last_seen',
                 'topics', 'pos', 'refused', 'advertised', 'syncing_since', 'probation_from')

    def __init__(self, url: str, role: str, now: float) -> None:
        self.url = url
        self.role = role
        self.is_open = False
        self.started = now
        self.opened_at: float | None = None
        self.last_seen = now
        self.topics: set[str] = set()  # app topics subscribed on this connection
        self.pos: dict[str, dict[str, int]] = {}  # per topic: epoch -> newest seq seen here
        self.refused: set[str] = set()  # topics the tier refused at run time
        self.advertised: set[str] = set()
        self.syncing_since: float | None = None  # make-before-break in progress
        self.probation_from: float | None = None  # failback hold-down counts from here

    def serves(self, tier: TierInfo, topic: str) -> bool:
        """When the tier's scope allows ``topic`` and it has not refused it, True."""
        return topic not in self.refused and tier.allows_subscribe(topic)

    def caught_up(self, delivered: dict[str, Position | None]) -> bool:
        """When this connection has seen, for every topic it carries, at least what was
        delivered, True."""
        for topic in self.topics:
            done = delivered.get(topic)
            if done is None:
                continue
            seen = self.pos.get(topic, {}).get(done[0])
            if seen is None or seen < done[1]:
                return False
        return True

    def saw(self, topic: str, epoch: str, seq: int) -> None:
        """When a sample of ``topic`` arrives here, remember it (the newest per stream)."""
        streams = self.pos.setdefault(topic, {})
        if seq > streams.get(epoch, seq - 1):
            streams.pop(epoch, None)
            streams[epoch] = seq
            while len(streams) > MAX_STREAMS:
                del streams[next(iter(streams))]


def sub_id(topic: str) -> str:
    return f'subscribe:{topic}'


def subscribe_frame(sub: Subscribe, resume: Position | None,
                    streams: dict[str, int] | None = None) -> dict[str, Any]:
    """A ``subscribe`` that asks for the resume key (``epoch``, ``seq``) on every frame
    (the tier sends standard rosbridge frames otherwise); with ``resume`` (the most
    recently delivered sample) it asks for the frames after it, and after each of
    ``streams`` (epoch -> last seq, every stream of the topic, the most recent one
    included)."""
    frame = {'op': 'subscribe', 'topic': sub.topic, 'type': sub.type, 'id': sub_id(sub.topic),
             'throttle_rate': sub.throttle_rate, 'queue_length': sub.queue_length,
             'resume_keys': True}
    if resume is not None:
        all_streams = dict(streams or {})
        all_streams[resume[0]] = resume[1]
        frame['resume'] = {'epoch': resume[0], 'seq': resume[1], 'streams': all_streams}
    return frame


def unsubscribe_frame(topic: str) -> dict[str, Any]:
    return {'op': 'unsubscribe', 'topic': topic, 'id': sub_id(topic)}


SET_LEVEL = {'op': 'set_level', 'level': 'error'}


def heartbeat_frame(topic: str) -> dict[str, Any]:
    return subscribe_frame(Subscribe(topic, 'std_msgs/msg/String'), None)


def position(value: Any) -> Position | None:
    """``{"epoch": str, "seq": int}`` from the wire as a tuple, or None."""
    if isinstance(value, dict) and isinstance(value.get('epoch'), str) \
            and isinstance(value.get('seq'), int):
        return value['epoch'], value['seq']
    return None
