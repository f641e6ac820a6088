"""The tier's cost follows what its clients take: on the real embedded graph, a sample
is decoded (CDR -> rosbridge JSON) only when a client needs it, live or in a replay, and
at most once; a replay after a failover still delivers exactly what was missed.

The tier runs in this process on an ``EmbeddedGraph`` of its own, fed by a second graph
over Zenoh on 127.0.0.1; decoding is counted at the tier graph's typestore. Every wait
has a deadline; nothing asserts on time.
"""
from __future__ import annotations

from needs import needs

needs('zenoh', 'rosbags')

import json
import threading
from collections import Counter

import pytest

from websocket_redundancy.core.settings import settings_from_dict
from websocket_redundancy.graph.embedded.graph import EmbeddedGraph
from websocket_redundancy.tier.service import TierService

from .test_embedded_graph import ep, free_ports, wait_for

pytestmark = pytest.mark.integration
ODOM, IMU = '/odom', '/imu/data'


class LockedReactor:
    """Runs what the tier hands to its reactor at once, one call at a time."""

    def __init__(self) -> None:
        self.lock = threading.Lock()

    def callFromThread(self, fn, *args):
        with self.lock:
            fn(*args)


class Client:
    def __init__(self, name: str) -> None:
        self.peer, self.data, self.control, self.closed = name, [], [], None

        class _Q:
            dropped = 0
        self.queue = _Q()

    def send_data(self, prepared):
        self.data.append(json.loads(prepared.payload))

    def send_control(self, payload):
        self.control.append(json.loads(payload))

    def close_with(self, code, reason):
        self.closed = (code, reason)

    def seqs(self, topic: str) -> list[int]:
        return [f['seq'] for f in self.data if f['topic'] == topic]


@pytest.fixture
def world():
    p_src, p_tier = free_ports(2)
    source = EmbeddedGraph(listen=[ep(p_src)], connect=[ep(p_tier)], name='rover')
    graph = EmbeddedGraph(listen=[ep(p_tier)], connect=[ep(p_src)], name='tier')
    decoded: Counter[str] = Counter()
    real = graph.typestore.deserialize_cdr

    def counting(payload, type_name):
        decoded[type_name] += 1
        return real(payload, type_name)
    graph.typestore.deserialize_cdr = counting
    reactor = LockedReactor()
    settings = settings_from_dict({'tiers': {'primary': {}}})
    tier = TierService(settings, 'primary', graph, reactor)
    yield source, tier, decoded, reactor
    tier.release()
    graph.close()
    source.close()


def _publish(pub, count, msg):
    for _ in range(count):
        pub.publish(msg)


def _buffered(tier, reactor, topic):
    """Samples in ``topic``'s replay buffer after a heartbeat tick (which takes in the
    samples that woke nothing: no client takes their topic)."""
    with reactor.lock:
        tier.beat()
        buffer = tier.buffers.get(topic)
        return 0 if buffer is None else len(buffer)


def _tracked(tier, source_pubs):
    wait_for(lambda: all(p.topic in tier.graph.topics() for p in source_pubs),
             'the tier graph to see the rover topics')
    tier.track_topics()


def test_a_topic_nobody_takes_is_buffered_but_never_decoded(world):
    source, tier, decoded, reactor = world
    odom = source.advertise(ODOM, 'nav_msgs/msg/Odometry')
    imu = source.advertise(IMU, 'sensor_msgs/msg/Imu')
    _tracked(tier, [odom, imu])
    client = Client('dashboard')
    with reactor.lock:
        assert tier.admit(client, None) == ''
        tier.receive(client, json.dumps({'op': 'subscribe', 'topic': ODOM,
                                          'resume_keys': True}).encode(), False)
    wait_for(lambda: ODOM in tier._graph_subs, 'the subscription')  # noqa: SLF001
    _publish(odom, 20, {'pose': {'pose': {'position': {'x': 1.0}}}})
    _publish(imu, 20, {'linear_acceleration': {'z': 9.81}})
    wait_for(lambda: len(client.seqs(ODOM)) == 20, '20 /odom samples at the client')
    wait_for(lambda: _buffered(tier, reactor, IMU) == 20,
             '20 /imu/data samples in the replay buffer')
    assert decoded['nav_msgs/msg/Odometry'] == 20  # once per sample, for the client
    assert decoded['sensor_msgs/msg/Imu'] == 0  # buffered, never read
    assert client.data[0]['msg']['pose']['pose']['position']['x'] == 1.0


def test_a_replay_after_failover_decodes_and_delivers_exactly_what_was_missed(world):
    source, tier, decoded, reactor = world
    imu = source.advertise(IMU, 'sensor_msgs/msg/Imu')
    _tracked(tier, [imu])
    for i in range(1, 31):
        imu.publish({'linear_acceleration': {'z': float(i)}})
    wait_for(lambda: _buffered(tier, reactor, IMU) == 30,
             '30 samples in the replay buffer')
    assert decoded['sensor_msgs/msg/Imu'] == 0
    for i in range(31, 36):  # these wake nothing and wait in the inbox (no heartbeat tick)
        imu.publish({'linear_acceleration': {'z': float(i)}})
    wait_for(lambda: len(tier._inbox) == 5, '5 samples waiting in the inbox')  # noqa: SLF001
    moved = Client('moved-here')  # had seq 1..12 from the tier that failed
    with reactor.lock:
        assert tier.admit(moved, None) == ''
        tier.receive(moved, json.dumps({'op': 'subscribe', 'topic': IMU, 'resume': {
            'epoch': imu.epoch, 'seq': 12}}).encode(), False)
    assert moved.seqs(IMU) == list(range(13, 36))
    assert [f['msg']['linear_acceleration']['z'] for f in moved.data] == \
        [float(i) for i in range(13, 36)]
    assert moved.control == []  # no gap reported: nothing was lost
    assert decoded['sensor_msgs/msg/Imu'] == 23  # only the replayed samples
    second = Client('also-moved')  # the same samples again: already encoded, not decoded
    with reactor.lock:
        assert tier.admit(second, None) == ''
        tier.receive(second, json.dumps({'op': 'subscribe', 'topic': IMU, 'resume': {
            'epoch': imu.epoch, 'seq': 12}}).encode(), False)
    assert second.seqs(IMU) == list(range(13, 36))
    assert decoded['sensor_msgs/msg/Imu'] == 23
    imu.publish({'linear_acceleration': {'z': 36.0}})
    wait_for(lambda: moved.seqs(IMU)[-1:] == [36] and second.seqs(IMU)[-1:] == [36],
             'the live sample after the replay at both clients')
    assert decoded['sensor_msgs/msg/Imu'] == 24  # one decode for two clients
