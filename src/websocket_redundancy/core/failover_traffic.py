"""The application's traffic over the failover client's connections.

Which connections exist is the machine's business (``failover.py``); this module keeps
what the application asked for (subscriptions, pending service calls), the delivery
filter, and the set of topics the active tier cannot serve, and turns frames and
requests into commands for given connections.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

from . import failover_types as t
from .dedup import DeliveryFilter
from .failover_conn import ACTIVE, Conn, position, sub_id, subscribe_frame, unsubscribe_frame
from .ranking import TierInfo
from .ringbuffer import OUT_OF_SCOPE


class Traffic:
    """Subscriptions, delivery and scope bookkeeping; ``tier_of`` names a connection."""

    def __init__(self, tier_of: Callable[[Conn], TierInfo]) -> None:
        self.subs: dict[str, t.Subscribe] = {}
        self.filter = DeliveryFilter()
        self.degraded: set[str] = set()
        self.calls: dict[str, str] = {}  # call id -> url it was sent to
        self._tier_of = tier_of

    def label(self, conn: Conn) -> str:
        return self._tier_of(conn).label

    # ---- application requests --------------------------------------------------------

    def subscribe(self, ev: t.Subscribe, carriers: Iterable[Conn], active: Conn | None) -> list:
        """When the app subscribes, every connection carrying app topics subscribes too."""
        if ev.topic in self.subs:
            return []
        self.subs[ev.topic] = ev
        out = [self.subscribe_one(conn, ev) for conn in carriers
               if conn.serves(self._tier_of(conn), ev.topic)]
        if active is not None and not active.serves(self._tier_of(active), ev.topic):
            self.degraded.add(ev.topic)
            out.append(t.Notify(t.SCOPE_DEGRADED, t.ScopeChange(ev.topic, self.label(active))))
        return out

    def unsubscribe(self, ev: t.Unsubscribe, conns: Iterable[Conn]) -> list:
        """When the app unsubscribes, every connection carrying the topic drops it."""
        if self.subs.pop(ev.topic, None) is None:
            return []
        out = []
        for conn in conns:
            if ev.topic in conn.topics:
                conn.topics.discard(ev.topic)
                conn.pos.pop(ev.topic, None)
                out.append(t.Send(conn.url, unsubscribe_frame(ev.topic)))
        self.filter.forget(ev.topic)
        self.degraded.discard(ev.topic)
        return out

    def publish(self, ev: t.Publish, active: Conn | None) -> list:
        """When the app publishes, the active tier gets it if its publish scope allows
        (advertised once per connection); otherwise the app is told it was dropped."""
        if active is None:
            return [t.Notify(t.PUBLISH_DROPPED, t.Dropped(ev.topic, 'no tier is connected'))]
        tier = self._tier_of(active)
        if not tier.allows_publish(ev.topic):
            return [t.Notify(t.PUBLISH_DROPPED, t.Dropped(
                ev.topic, f"outside {tier.label}'s publish scope"))]
        out = []
        if ev.topic not in active.advertised:
            active.advertised.add(ev.topic)
            out.append(t.Send(active.url, {'op': 'advertise', 'topic': ev.topic,
                                           'type': ev.type, 'id': f'advertise:{ev.topic}'}))
        out.append(t.Send(active.url, {'op': 'publish', 'topic': ev.topic, 'msg': ev.msg}))
        return out

    def call(self, ev: t.CallService, active: Conn | None) -> list:
        """When the app calls a service, the active tier gets the call."""
        if active is None:
            return [t.Respond(ev.id, False, 'no tier is connected')]
        self.calls[ev.id] = active.url
        return [t.Send(active.url, {'op': 'call_service', 'service': ev.service,
                                    'args': ev.args, 'id': ev.id})]

    # ---- server frames ---------------------------------------------------------------

    def frame(self, conn: Conn, data: dict) -> list:
        op = data.get('op')
        if op == 'publish':
            return self._on_publish(conn, data)
        if op == 'resume_gap':
            return self._on_resume_gap(conn, data)
        if op == 'status' and data.get('level') == 'error':
            topic = next((x for x in conn.topics if sub_id(x) == data.get('id')), None)
            return [] if topic is None else self._refused(conn, topic)
        if op == 'service_response' and self.calls.get(data.get('id')) == conn.url:
            del self.calls[data['id']]
            return [t.Respond(data['id'], bool(data.get('result', True)), data.get('values'))]
        return []

    def _on_publish(self, conn: Conn, data: dict) -> list:
        topic = data.get('topic')
        if topic not in conn.topics or topic not in self.subs:
            return []  # the heartbeat, or a topic this connection no longer carries
        epoch, seq, label = data.get('epoch'), data.get('seq'), self.label(conn)
        if not isinstance(epoch, str) or not isinstance(seq, int):
            if conn.role != ACTIVE:
                return []  # without (epoch, seq) only the active tier can be trusted
            return [t.Deliver(topic, data.get('msg'), label, None, None)]
        conn.saw(topic, epoch, seq)
        ok, hole = self.filter.offer(topic, epoch, seq)
        out = []
        if hole is not None:
            out.append(t.Notify(t.GAP, t.GapInfo(topic, hole.reason, hole.last, hole.next,
                                                 label)))
        if ok:
            out.append(t.Deliver(topic, data.get('msg'), label, epoch, seq))
        return out

    def _on_resume_gap(self, conn: Conn, data: dict) -> list:
        topic = data.get('topic')
        if topic not in conn.topics:
            return []
        if data.get('reason') == OUT_OF_SCOPE:
            return self._refused(conn, topic)
        if conn.role != ACTIVE:
            return []  # another tier is still delivering; nothing is lost yet
        available = position(data.get('available'))
        self.filter.excuse(topic, available)
        return [t.Notify(t.GAP, t.GapInfo(topic, str(data.get('reason')),
                                          position(data.get('requested')), available,
                                          self.label(conn)))]

    def _refused(self, conn: Conn, topic: str) -> list:
        conn.refused.add(topic)
        conn.topics.discard(topic)
        if conn.role != ACTIVE or topic in self.degraded:
            return []
        self.degraded.add(topic)
        return [t.Notify(t.SCOPE_DEGRADED, t.ScopeChange(topic, self.label(conn)))]

    # ---- connection changes ----------------------------------------------------------

    def subscribe_all(self, conn: Conn) -> list:
        """Subscribe ``conn`` to every app topic it serves and does not carry yet, each
        with ``resume`` from the last delivered sample of each of the topic's streams."""
        tier = self._tier_of(conn)
        return [self.subscribe_one(conn, sub) for topic, sub in self.subs.items()
                if topic not in conn.topics and conn.serves(tier, topic)]

    def subscribe_one(self, conn: Conn, sub: t.Subscribe) -> t.Send:
        resume = self.filter.position(sub.topic)
        streams = self.filter.positions(sub.topic)
        conn.topics.add(sub.topic)
        conn.pos[sub.topic] = dict(streams)
        return t.Send(conn.url, subscribe_frame(sub, resume, streams))

    def drop_app_topics(self, conn: Conn) -> list:
        out = [t.Send(conn.url, unsubscribe_frame(topic)) for topic in sorted(conn.topics)]
        conn.topics.clear()
        conn.pos.clear()
        return out

    def rescope(self, conn: Conn) -> list:
        """When ``conn`` becomes active, report topics it cannot serve and ones it serves
        again."""
        tier, label, out = self._tier_of(conn), self.label(conn), []
        for topic in self.subs:
            served = conn.serves(tier, topic)
            if not served and topic not in self.degraded:
                self.degraded.add(topic)
                out.append(t.Notify(t.SCOPE_DEGRADED, t.ScopeChange(topic, label)))
            elif served and topic in self.degraded:
                self.degraded.discard(topic)
                out.append(t.Notify(t.SCOPE_RESTORED, t.ScopeChange(topic, label)))
        return out

    def caught_up(self, conn: Conn) -> bool:
        delivered = {topic: self.filter.position(topic) for topic in conn.topics}
        return conn.caught_up(delivered)

    def fail_calls(self, conn: Conn) -> list:
        """When ``conn`` is gone, its unanswered service calls fail."""
        ids = [i for i, url in self.calls.items() if url == conn.url]
        for i in ids:
            del self.calls[i]
        return [t.Respond(i, False, f'{self.label(conn)} closed') for i in ids]
