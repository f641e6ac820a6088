"""The failover client's Twisted shell over in-memory connections and a ``task.Clock``."""
import logging

import pytest
from twisted.internet import task
from twisted.internet.defer import Deferred, succeed

from websocket_redundancy.client.shell import FailoverClient, Meta, ServiceError
from websocket_redundancy.core.failover_types import FailoverSettings, TierChange
from websocket_redundancy.core.settings import HEARTBEAT_TOPIC

P, S, T = 'ws://127.0.0.1:8080', 'ws://127.0.0.1:8081', 'ws://127.0.0.1:8082'
IMU = '/imu/data'


class FakeLink:
    """One in-memory connection: what the shell sent, and a way to play the server."""

    def __init__(self, url, events):
        self.url, self.events = url, events
        self.sent, self.closed = [], None

    def send(self, frame):
        self.sent.append(frame)

    def close(self, code, reason):
        self.closed = (code, reason)

    def ops(self):
        return [(f['op'], f.get('topic')) for f in self.sent]

    def publish(self, topic, seq, epoch='e1'):
        self.events.frame({'op': 'publish', 'topic': topic, 'msg': {'n': seq},
                           'epoch': epoch, 'seq': seq})

    def beat(self):
        self.events.frame({'op': 'publish', 'topic': HEARTBEAT_TOPIC, 'msg': {'data': '{}'}})


class Harness:
    def __init__(self, urls=(P, S, T), fetch=None, poll=0.0, **kw):
        self.clock = task.Clock()
        self.links = []
        self.fetched = []

        def connect(url, events):
            self.links.append(FakeLink(url, events))
            return self.links[-1]

        def default_fetch(url):
            self.fetched.append(url)
            return succeed(None)

        self.client = FailoverClient(list(urls), reactor=object(), clock=self.clock,
                                     connect=connect, fetch=fetch or default_fetch,
                                     directory_poll_s=poll, **kw)
        self.got, self.events = [], []
        for kind in ('tier_changed', 'gap', 'scope_degraded', 'all_down'):
            self.client.on(kind, lambda detail, kind=kind: self.events.append((kind, detail)))

    def link(self, url):
        return [link for link in self.links if link.url == url][-1]

    def running(self):
        """Subscribed to IMU, active on P, warm standby S open."""
        self.client.subscribe(IMU, 'sensor_msgs/msg/Imu', lambda m, meta: self.got.append(
            (m['n'], meta)))
        self.client.connect()
        self.link(P).events.opened()
        self.link(S).events.opened()
        return self.link(P), self.link(S)

    def beat(self, seconds, *links, step=0.1):
        for _ in range(round(seconds / step)):
            self.clock.advance(step)
            for link in links:
                link.beat()


def test_open_subscribe_deliver_and_close_leaves_no_timer():
    """When the client connects, the first tier gets set_level, the heartbeat and the app's
    subscription; samples reach the callback with their tier, epoch and seq; exactly one
    timer is armed; after close every connection is closed and no timer is left."""
    h = Harness()
    p, s = h.running()
    assert p.ops() == [('set_level', None), ('subscribe', HEARTBEAT_TOPIC), ('subscribe', IMU)]
    assert s.ops() == [('set_level', None), ('subscribe', HEARTBEAT_TOPIC)]
    p.publish(IMU, 1)
    p.publish(IMU, 2)
    p.publish(IMU, 2)
    assert h.got == [(1, Meta(P, 'e1', 1)), (2, Meta(P, 'e1', 2))]
    assert h.events == [('tier_changed', TierChange(None, P, 'start'))]
    assert len(h.clock.getDelayedCalls()) == 1
    h.client.close()
    assert (p.closed, s.closed) == ((1000, 'client closed'), (1000, 'client closed'))
    assert h.clock.getDelayedCalls() == []


def test_hung_primary_is_dropped_at_the_deadline_and_standby_resumes():
    """When the primary stops sending (SIGSTOP), the timer fires at the heartbeat deadline,
    the primary is dropped, and the standby is subscribed with resume after the last
    delivered sample; the next tier becomes the standby."""
    h = Harness()
    p, s = h.running()
    p.publish(IMU, 7)
    h.beat(0.2, p, s)
    h.beat(0.3, s)
    assert p.closed == (4000, 'heartbeat timeout')
    assert h.client.active == S
    assert s.sent[-1]['resume'] == {'epoch': 'e1', 'seq': 7, 'streams': {'e1': 7}}
    assert h.link(T).sent == []
    s.publish(IMU, 7)
    s.publish(IMU, 8)
    p.publish(IMU, 9)  # a late frame from the dropped connection is ignored
    assert [n for n, _ in h.got] == [7, 8]
    h.client.close()
    assert h.clock.getDelayedCalls() == []


def test_connect_timeout_moves_on_to_the_next_tier():
    """When the first tier does not answer within connect_timeout_s, its attempt is
    abandoned and the next tier is opened."""
    h = Harness(settings=FailoverSettings(connect_timeout_s=0.5))
    h.client.connect()
    p = h.link(P)
    h.clock.advance(0.5)
    assert p.closed == (4000, 'connect timeout')
    assert h.link(S).closed is None
    p.events.opened()  # too late: the attempt was abandoned
    assert h.client.active is None
    h.link(S).events.opened()
    assert h.client.active == S
    h.client.close()
    assert h.clock.getDelayedCalls() == []


def test_closed_connection_fails_over_at_once():
    """When the active connection closes (kill -9: 1006), the standby takes over without
    waiting for any timer."""
    h = Harness()
    p, s = h.running()
    p.publish(IMU, 1)
    p.events.closed(1006, 'peer dropped the TCP connection')
    assert h.client.active == S
    assert h.events[-1][1].previous == P
    h.client.close()
    assert h.clock.getDelayedCalls() == []


def test_directory_is_polled_on_the_active_tier_and_names_tiers():
    """When the active tier serves a status document, its tiers (names, scopes) are fed to
    the machine; a tier without one (None, i.e. 503) changes nothing."""
    docs = [None, {'tiers': [
        {'url': P, 'name': 'primary', 'priority': 0, 'health': 'UP'},
        {'url': S, 'name': 'secondary', 'priority': 1, 'health': 'UP'}]}]
    asked = []

    def fetch(url):
        asked.append(url)
        return succeed(docs.pop(0) if docs else None)

    h = Harness(fetch=fetch, poll=1.0, directory_wait_s=0)
    p, s = h.running()
    h.beat(2.0, p, s)
    assert asked == ['http://127.0.0.1:8080/status'] * 2
    p.publish(IMU, 1)
    assert h.got[-1] == (1, Meta('primary', 'e1', 1))
    h.client.close()
    assert h.clock.getDelayedCalls() == []


def test_first_endpoint_is_picked_from_the_directory_fetched_at_connect():
    """When the client connects it asks the first bootstrap URL for the directory at once
    and opens the endpoint the directory ranks best (here the less loaded primary
    replica), not the first bootstrap URL."""
    replica = 'ws://127.0.0.1:9090'
    doc = {'tiers': [
        {'url': P, 'name': 'primary', 'endpoint': 'primary', 'priority': 0, 'health': 'UP',
         'clients': 150, 'capacity': 200},
        {'url': replica, 'name': 'primary', 'endpoint': 'primary-b', 'priority': 0,
         'health': 'UP', 'clients': 10, 'capacity': 200}]}
    asked, pending = [], Deferred()

    def fetch(url):
        asked.append(url)
        return pending
    h = Harness(fetch=fetch, poll=1.0)
    h.client.connect()
    assert asked == ['http://127.0.0.1:8080/status'] and h.links == []
    pending.callback(doc)
    assert [link.url for link in h.links] == [replica]
    h.client.close()
    assert h.clock.getDelayedCalls() == []


def test_without_a_directory_the_bootstrap_order_is_used_after_the_wait():
    """When no directory answers within directory_wait_s, the first bootstrap URL is
    opened."""
    h = Harness(fetch=lambda url: Deferred(), poll=1.0, directory_wait_s=0.5)
    h.client.connect()
    assert h.links == []
    h.clock.advance(0.5)
    assert [link.url for link in h.links] == [P]
    h.client.close()
    assert h.clock.getDelayedCalls() == []


def test_slow_directory_request_is_cancelled_on_close():
    """When a status request is still outstanding at close, it is cancelled."""
    pending = Deferred()
    h = Harness(fetch=lambda url: pending, poll=1.0, directory_wait_s=0)
    p, s = h.running()
    h.beat(1.2, p, s)
    h.client.close()
    assert pending.called
    assert h.clock.getDelayedCalls() == []


def test_service_call_answered_and_failed_when_tier_lost():
    """When the tier answers a call, the Deferred fires with the values; when the tier is
    lost first, it fails with ServiceError."""
    h = Harness()
    p, _ = h.running()
    results, errors = [], []
    h.client.call_service('/websocket_redundancy/status').addCallback(results.append)
    call = p.sent[-1]
    assert call['op'] == 'call_service'
    p.events.frame({'op': 'service_response', 'id': call['id'], 'result': True,
                    'values': {'success': True}})
    h.client.call_service('/websocket_redundancy/status').addErrback(
        lambda f: errors.append(f.trap(ServiceError)))
    p.events.closed(1006, '')
    assert results == [{'success': True}] and errors == [ServiceError]
    h.client.close()


def test_raising_callback_is_logged_and_delivery_continues(caplog):
    """When an application callback raises, the error is logged with its traceback and the
    next sample is still delivered."""
    h = Harness()
    seen = []

    def callback(msg, meta):
        seen.append(msg['n'])
        if msg['n'] == 1:
            raise RuntimeError('app bug')

    h.client.subscribe(IMU, '', callback)
    h.client.connect()
    p = h.link(P)
    p.events.opened()
    with caplog.at_level(logging.ERROR):
        p.publish(IMU, 1)
        p.publish(IMU, 2)
    assert seen == [1, 2]
    assert 'app bug' in caplog.text
    h.client.close()
    assert h.clock.getDelayedCalls() == []


def test_bad_input_is_refused_with_a_sentence():
    """When the URL, the event kind or a second subscription is wrong, one clear error."""
    with pytest.raises(ValueError, match='ws://host:port'):
        FailoverClient(['http://x:1'], reactor=object(), clock=task.Clock())
    with pytest.raises(ValueError, match='at least one tier URL'):
        FailoverClient([], reactor=object(), clock=task.Clock())
    h = Harness()
    with pytest.raises(ValueError, match="unknown client event 'tier_change'"):
        h.client.on('tier_change', print)
    h.client.subscribe(IMU, '', lambda m, meta: None)
    with pytest.raises(ValueError, match='already subscribed'):
        h.client.subscribe(IMU, '', lambda m, meta: None)
