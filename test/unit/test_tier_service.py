"""The tier service over an in-memory graph, with recording stand-ins for sockets.

These tests check what the tier does with frames (scope, roles, one encoding per
sample, service calls, heartbeat); the integration tests check the same over real
sockets with roslibpy.
"""
import json

import pytest

from websocket_redundancy.core.settings import settings_from_dict
from websocket_redundancy.graph.memory import MemoryGraph
from websocket_redundancy.tier.service import TierService


class ImmediateReactor:
    def callFromThread(self, fn, *args):
        fn(*args)


class FakeProto:
    """Records what the tier sends to one client."""

    def __init__(self, name):
        self.peer = name
        self.data, self.control, self.closed = [], [], None

        class _Q:
            dropped = 0
        self.queue = _Q()

    def send_data(self, prepared):
        self.data.append(prepared)

    def send_control(self, payload):
        self.control.append(json.loads(payload))

    def close_with(self, code, reason):
        self.closed = (code, reason)

    def frames(self):
        return [json.loads(p.payload) for p in self.data]


class Clock:
    now = 100.0

    def __call__(self):
        return self.now


@pytest.fixture
def world():
    settings = settings_from_dict({'auth': {'roles': {'team': 'T', 'judge': 'J'}},
                                   'tiers': {'primary': {'capacity': 3}, 'emergency': {}}})
    graph = MemoryGraph()
    clock = Clock()
    tiers = {name: TierService(settings, name, graph, ImmediateReactor(), clock=clock)
             for name in ('primary', 'emergency')}
    return graph, tiers, clock


def connect(tier, name, token=None):
    proto = FakeProto(name)
    assert tier.admit(proto, token) == ''
    return proto


def send(tier, proto, frame):
    tier.receive(proto, json.dumps(frame).encode(), False)


def test_when_two_clients_subscribe_each_sample_is_encoded_once_and_sent_to_both(world):
    graph, tiers, _ = world
    a, b = connect(tiers['primary'], 'a'), connect(tiers['primary'], 'b')
    for proto in (a, b):
        send(tiers['primary'], proto, {'op': 'subscribe', 'topic': '/odom'})
    pub = graph.advertise('/odom', 'nav_msgs/msg/Odometry')
    pub.publish({'pose': {'pose': {'position': {'x': 1.5}}}})
    assert a.data[0] is b.data[0]  # the same prepared frame object
    [frame] = a.frames()
    assert frame == {'op': 'publish', 'topic': '/odom', 'msg': frame['msg']}  # standard
    assert frame['msg']['pose']['pose']['position']['x'] == 1.5


def test_only_clients_that_ask_for_resume_keys_get_epoch_and_seq(world):
    """When one client subscribes with resume_keys and another without, each gets the
    same sample: the first with its (epoch, seq), the second as rosbridge sends it."""
    graph, tiers, _ = world
    tier = tiers['primary']
    keyed, plain = connect(tier, 'k'), connect(tier, 'p')
    send(tier, keyed, {'op': 'subscribe', 'topic': '/odom', 'resume_keys': True})
    send(tier, plain, {'op': 'subscribe', 'topic': '/odom'})
    pub = graph.advertise('/odom', 'nav_msgs/msg/Odometry')
    pub.publish({'pose': {'pose': {'position': {'x': 1.5}}}})
    pub.publish({'pose': {'pose': {'position': {'x': 2.5}}}})
    [k1, k2], [p1, p2] = keyed.frames(), plain.frames()
    assert [(f['epoch'], f['seq']) for f in (k1, k2)] == [(pub.epoch, 1), (pub.epoch, 2)]
    assert set(p1) == {'op', 'topic', 'msg'} and p2['msg'] == k2['msg']
    send(tier, keyed, {'op': 'subscribe', 'topic': '/odom', 'resume_keys': 'yes'})
    assert tier.health()['refused'] == {'bad_field': 1}


def test_the_emergency_tier_never_sends_odom(world):
    graph, tiers, _ = world
    client = connect(tiers['emergency'], 'c')
    send(tiers['emergency'], client, {'op': 'subscribe', 'topic': '/odom'})
    send(tiers['emergency'], client, {'op': 'subscribe', 'topic': '/gps/fix'})
    graph.advertise('/odom', 'nav_msgs/msg/Odometry').publish({})
    graph.advertise('/gps/fix', 'sensor_msgs/msg/NavSatFix').publish({'latitude': 38.4})
    assert [f['topic'] for f in client.frames()] == ['/gps/fix']
    assert tiers['emergency'].health()['refused'] == {'scope': 1}


def test_publishing_reaches_the_graph_only_with_a_role_and_in_scope(world):
    graph, tiers, _ = world
    seen = []
    graph.subscribe('/cmd_vel', lambda s: seen.append(s.msg), 'geometry_msgs/msg/Twist')
    anonymous = connect(tiers['primary'], 'anon')
    team = connect(tiers['primary'], 'team', token='T')
    on_emergency = connect(tiers['emergency'], 'team2', token='T')
    twist = {'op': 'publish', 'topic': '/cmd_vel', 'type': 'geometry_msgs/msg/Twist',
             'msg': {'linear': {'x': 0.5}}}
    send(tiers['primary'], anonymous, twist)
    send(tiers['emergency'], on_emergency, twist)
    assert seen == []
    send(tiers['primary'], team, twist)
    assert seen == [{'linear': {'x': 0.5}}]


def test_a_service_call_is_answered_with_service_response(world):
    graph, tiers, _ = world
    graph.serve('/websocket_redundancy/status', 'std_srvs/srv/Trigger',
                lambda req: {'success': True, 'message': '{"version": 1}'})
    client = connect(tiers['primary'], 'c')
    send(tiers['primary'], client, {'op': 'call_service', 'id': 'q1',
                                    'service': '/websocket_redundancy/status'})
    assert client.control == [{'op': 'service_response', 'service': '/websocket_redundancy/status',
                               'values': {'success': True, 'message': '{"version": 1}'},
                               'result': True, 'id': 'q1'}]


def test_a_call_to_a_missing_service_fails_with_a_reason(world):
    _, tiers, _ = world
    client = connect(tiers['primary'], 'c')
    send(tiers['primary'], client, {'op': 'call_service', 'id': 1,
                                    'service': '/websocket_redundancy/nothing'})
    [reply] = client.control
    assert reply['result'] is False and 'not available' in reply['values']


def test_when_the_tier_is_full_a_new_client_is_refused(world):
    _, tiers, _ = world
    for i in range(3):
        connect(tiers['primary'], str(i))
    assert 'full' in tiers['primary'].admit(FakeProto('late'), None)
    assert tiers['primary'].health()['refused'] == {'capacity': 1}


def test_heartbeat_goes_to_subscribers_with_increasing_seq(world):
    _, tiers, _ = world
    tier = tiers['primary']
    client = connect(tier, 'c')
    send(tier, client, {'op': 'subscribe', 'topic': '/websocket_redundancy/heartbeat',
                        'resume_keys': True})
    for _ in range(3):
        tier.beat()
    frames = client.frames()
    assert [f['seq'] for f in frames] == [1, 2, 3]
    beat = json.loads(frames[0]['msg']['data'])
    assert beat['tier'] == 'primary' and beat['session'] == tier.session_id


def test_when_a_client_leaves_the_graph_subscription_is_released(world):
    graph, tiers, _ = world
    client = connect(tiers['primary'], 'c')
    send(tiers['primary'], client, {'op': 'subscribe', 'topic': '/odom'})
    assert tiers['primary'].hub.topics() == ['/odom']
    tiers['primary'].drop(client)
    assert tiers['primary'].hub.topics() == []
    assert tiers['primary']._graph_subs == {}


def test_bad_input_is_counted_and_the_client_keeps_working(world):
    graph, tiers, _ = world
    tier = tiers['primary']
    client = connect(tier, 'c')
    tier.receive(client, b'{oops', False)
    tier.receive(client, b'\x00', True)
    send(tier, client, {'op': 'nope'})
    send(tier, client, {'op': 'subscribe', 'topic': '/odom'})
    graph.advertise('/odom', 'nav_msgs/msg/Odometry').publish({})
    assert len(client.frames()) == 1
    assert tier.health()['refused'] == {'malformed': 1, 'binary': 1, 'unknown_op': 1}


def test_an_active_tier_buffers_in_scope_topics_without_clients(world):
    graph, tiers, _ = world
    odom = graph.advertise('/odom', 'nav_msgs/msg/Odometry')
    fix = graph.advertise('/gps/fix', 'sensor_msgs/msg/NavSatFix')
    for tier in tiers.values():
        tier.track_topics()
    odom.publish({})
    fix.publish({})
    assert tiers['primary'].buffers == {}  # nobody takes them: nothing woke the loop
    for tier in tiers.values():
        tier.beat()  # the heartbeat tick takes them in
    assert sorted(tiers['primary'].buffers) == ['/gps/fix', '/odom']
    assert sorted(tiers['emergency'].buffers) == ['/gps/fix']


def test_a_resuming_client_gets_what_it_missed_then_live(world):
    graph, tiers, _ = world
    tier = tiers['primary']
    pub = graph.advertise('/imu/data', 'sensor_msgs/msg/Imu')
    tier.track_topics()
    for _ in range(5):
        pub.publish({})
    client = connect(tier, 'moved-here')
    send(tier, client, {'op': 'subscribe', 'topic': '/imu/data',
                        'resume': {'epoch': pub.epoch, 'seq': 2}})
    pub.publish({})
    assert [f['seq'] for f in client.frames()] == [3, 4, 5, 6]
    assert client.control == []


def test_a_resume_from_an_unknown_epoch_is_reported_as_a_gap(world):
    graph, tiers, _ = world
    tier = tiers['primary']
    pub = graph.advertise('/imu/data', 'sensor_msgs/msg/Imu')
    tier.track_topics()
    pub.publish({})
    client = connect(tier, 'c')
    send(tier, client, {'op': 'subscribe', 'topic': '/imu/data',
                        'resume': {'epoch': 'a-restarted-source', 'seq': 99}})
    [gap] = client.control
    assert gap['op'] == 'resume_gap' and gap['reason'] == 'epoch changed'
    assert gap['available'] == {'epoch': pub.epoch, 'seq': 1}
    assert [f['seq'] for f in client.frames()] == [1]


def test_a_tier_configured_for_any_free_port_can_be_built():
    settings = settings_from_dict({'tiers': {'primary': {'port': 0, 'priority': 0}}})
    tier = TierService(settings, 'primary', MemoryGraph(), ImmediateReactor())
    assert tier.health()['url'] == 'ws://127.0.0.1:0'
