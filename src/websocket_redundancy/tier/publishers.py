"""The publishers a tier holds for its clients, kept as rosbridge_server 2.x keeps them.

A client's ``advertise`` (each id counts, in the session) or bare ``publish`` makes or
reuses the tier's one publisher of a topic; the publisher is made anew for another type
or another ``latch``. When the last client holding it lets go (``unadvertise``, or the
disconnect), it is closed ``ADVERTISE_GRACE_S`` later, so a client that comes back
within the grace keeps the same publisher (the same epoch for its subscribers).
Everything here runs on the reactor.
"""
from __future__ import annotations

from typing import Any

from ..core import commands as cmd
from ..core import rosbridge_publish
from ..graph.port import GraphError

ADVERTISE_GRACE_S = 10.0  # rosbridge_server's unregister_timeout


class TierPublishers:
    """Topic -> the tier's publisher, the clients holding it, its pending close."""

    def __init__(self, service) -> None:
        self.service = service  # TierService: graph, reactor, clients, execute, tier
        self.by_topic: dict[str, Any] = {}
        self.users: dict[str, set[Any]] = {}
        self.closing: dict[str, Any] = {}  # topic -> the delayed close of its publisher

    def advertise(self, proto, command: cmd.Advertise) -> None:
        service = self.service
        try:
            self._publisher(command.topic, command.type_name, command.latched)
        except GraphError as exc:
            service.execute(proto, service.clients[proto]._refuse(
                'bad_field', f'advertise {command.topic}: {exc}', 'advertise', None))
            return
        self.users.setdefault(command.topic, set()).add(proto)
        pending = self.closing.pop(command.topic, None)
        if pending is not None and pending.active():
            pending.cancel()
        info = service.graph.topics().get(command.topic)
        if command.latched and (info is None or info.latched) and \
                service.tier.subscribe.allows(command.topic):
            # its own publisher latches: known now, before discovery says so (roslibjs
            # advertises and publishes at once), so the first sample is kept for later
            # subscribers of this tier
            service.note_latched(command.topic, True)

    def unadvertise(self, proto, command: cmd.Unadvertise) -> None:
        users = self.users.get(command.topic)
        if users is None:
            return
        users.discard(proto)
        if not users:
            del self.users[command.topic]
            self.closing[command.topic] = self.service.reactor.callLater(
                ADVERTISE_GRACE_S, self._close, command.topic)

    def publish(self, proto, command: cmd.Publish) -> None:
        service = self.service
        session = service.clients[proto]
        type_name = command.type_name or self.known_type(command.topic)
        if not type_name:
            service.execute(proto, session._refuse(
                'bad_field', f'publish: the type of {command.topic} is unknown; advertise it '
                'first or give "type"', 'publish', None))
            return
        if not command.type_name:  # a bare publish without a type: advertised implicitly
            service.execute(proto, rosbridge_publish.advertise_implicitly(
                session, command.topic, type_name))
        try:
            self._publisher(command.topic, type_name).publish(command.msg)
        except GraphError as exc:
            service.execute(proto, session._refuse(
                'bad_field', f'publish {command.topic}: {exc}', 'publish', None))

    def known_type(self, topic: str) -> str:
        publisher = self.by_topic.get(topic)
        if publisher is not None:
            return publisher.type_name
        info = self.service.graph.topics().get(topic)
        return info.type_name if info else ''

    def release(self) -> None:
        for pending in self.closing.values():
            if pending.active():
                pending.cancel()
        self.closing.clear()
        self.users.clear()
        for publisher in self.by_topic.values():
            publisher.close()
        self.by_topic.clear()

    def _close(self, topic: str) -> None:
        self.closing.pop(topic, None)
        if topic not in self.users:
            publisher = self.by_topic.pop(topic, None)
            if publisher is not None:
                publisher.close()

    def _publisher(self, topic: str, type_name: str, latched: bool | None = None):
        """The tier's publisher of ``topic`` (made anew for another type, or when an
        advertisement asks for ``latch`` other than the current one)."""
        publisher = self.by_topic.get(topic)
        if publisher is None or publisher.type_name != type_name or (
                latched is not None and publisher.latched != latched):
            fresh = self.service.graph.advertise(topic, type_name, latched=bool(latched))
            if publisher is not None:
                publisher.close()
            publisher = self.by_topic[topic] = fresh
        return publisher
