"""What a tier publishes for its clients, as rosbridge_server 2.x does it: advertisements
counted per id and per client, a publisher closed only when no client holds it (after
the same 10 s grace rosbridge uses, so a reconnecting client keeps it), a bare publish
held like an advertisement until the client leaves; ``call_service`` honours the
client's ``timeout``; ``anonymous`` in ``publish_roles`` opens a tier on purpose.

Over an in-memory graph, with a Twisted test clock standing in for the reactor.
"""
import logging

import pytest
from twisted.internet import task

from websocket_redundancy.core.settings import SettingsError, settings_from_dict
from websocket_redundancy.graph.memory import MemoryGraph
from websocket_redundancy.tier.publishers import ADVERTISE_GRACE_S
from websocket_redundancy.tier.service import TierService

from .test_tier_service import FakeProto, send

TWIST = 'geometry_msgs/msg/Twist'


class Reactor(task.Clock):
    def callFromThread(self, fn, *args):
        fn(*args)


class RecordingGraph(MemoryGraph):
    def __init__(self):
        super().__init__()
        self.timeouts = []

    def call(self, name, type_name, request, timeout):
        self.timeouts.append(timeout)
        return super().call(name, type_name, request, timeout)


def make(config=None):
    settings = settings_from_dict(config or {'auth': {'roles': {'team': 'T'}},
                                             'tiers': {'primary': {}}})
    graph, reactor = RecordingGraph(), Reactor()
    return graph, reactor, TierService(settings, 'primary', graph, reactor)


def connect(tier, name, token='T'):
    proto = FakeProto(name)
    assert tier.admit(proto, token) == ''
    return proto


def publishers(graph, topic='/cmd_vel'):
    info = graph.topics().get(topic)
    return info.publishers if info else 0


def test_a_publisher_stays_while_any_advertisement_id_holds_it():
    graph, reactor, tier = make()
    a = connect(tier, 'a')
    for adv in ('adv-1', 'adv-2'):
        send(tier, a, {'op': 'advertise', 'topic': '/cmd_vel', 'type': TWIST, 'id': adv})
    assert publishers(graph) == 1
    send(tier, a, {'op': 'unadvertise', 'topic': '/cmd_vel', 'id': 'adv-1'})
    reactor.advance(ADVERTISE_GRACE_S + 1)
    assert publishers(graph) == 1  # adv-2 still holds it
    send(tier, a, {'op': 'publish', 'topic': '/cmd_vel', 'msg': {'linear': {'x': 1.0}}})
    send(tier, a, {'op': 'unadvertise', 'topic': '/cmd_vel', 'id': 'adv-2'})
    reactor.advance(ADVERTISE_GRACE_S - 1)
    assert publishers(graph) == 1  # the grace: closed 10 s after the last one left
    reactor.advance(2)
    assert publishers(graph) == 0


def test_one_clients_unadvertise_or_disconnect_leaves_anothers_publisher():
    graph, reactor, tier = make()
    a, b = connect(tier, 'a'), connect(tier, 'b')
    for proto in (a, b):
        send(tier, proto, {'op': 'advertise', 'topic': '/cmd_vel', 'type': TWIST})
    send(tier, a, {'op': 'unadvertise', 'topic': '/cmd_vel'})
    tier.drop(a)
    reactor.advance(ADVERTISE_GRACE_S + 1)
    assert publishers(graph) == 1
    tier.drop(b)
    reactor.advance(ADVERTISE_GRACE_S + 1)
    assert publishers(graph) == 0 and tier.publishers.by_topic == {}


def test_a_bare_publish_holds_its_publisher_until_the_client_leaves():
    graph, reactor, tier = make()
    seen = []
    graph.subscribe('/cmd_vel', lambda s: seen.append(s.msg), TWIST)
    a = connect(tier, 'a')
    send(tier, a, {'op': 'publish', 'topic': '/cmd_vel', 'type': TWIST,
                   'msg': {'linear': {'x': 0.5}}})
    send(tier, a, {'op': 'publish', 'topic': '/cmd_vel', 'msg': {'linear': {'x': 0.6}}})
    assert [m['linear']['x'] for m in seen] == [0.5, 0.6]
    reactor.advance(ADVERTISE_GRACE_S + 1)
    assert publishers(graph) == 1
    tier.drop(a)
    reactor.advance(ADVERTISE_GRACE_S + 1)
    assert publishers(graph) == 0


def test_a_bare_publish_without_type_is_held_like_one_with_it():
    graph, reactor, tier = make()
    rover = graph.advertise('/cmd_vel', TWIST)  # the graph knows the type
    a = connect(tier, 'a')
    send(tier, a, {'op': 'publish', 'topic': '/cmd_vel', 'msg': {'linear': {'x': 0.5}}})
    assert publishers(graph) == 2
    tier.drop(a)
    reactor.advance(ADVERTISE_GRACE_S + 1)
    assert publishers(graph) == 1  # only the rover's own
    rover.close()


def test_a_client_that_comes_back_within_the_grace_keeps_the_publisher():
    graph, reactor, tier = make()
    a = connect(tier, 'a')
    send(tier, a, {'op': 'advertise', 'topic': '/cmd_vel', 'type': TWIST})
    epoch = tier.publishers.by_topic['/cmd_vel'].epoch
    tier.drop(a)
    reactor.advance(ADVERTISE_GRACE_S / 2)
    again = connect(tier, 'a-again')
    send(tier, again, {'op': 'advertise', 'topic': '/cmd_vel', 'type': TWIST})
    reactor.advance(ADVERTISE_GRACE_S * 2)
    assert publishers(graph) == 1
    assert tier.publishers.by_topic['/cmd_vel'].epoch == epoch


def test_call_service_uses_the_clients_timeout_and_refuses_a_bad_one():
    graph, _, tier = make()
    graph.serve('/websocket_redundancy/status', 'std_srvs/srv/Trigger',
                lambda req: {'success': True, 'message': '{}'})
    c = connect(tier, 'c')
    for frame in ({}, {'timeout': 0.25}, {'timeout': 30}):
        send(tier, c, {'op': 'call_service', 'service': '/websocket_redundancy/status', **frame})
    assert graph.timeouts == [5.0, 0.25, 30.0]
    for bad in (0, -1, 'soon', True, 1e9):
        send(tier, c, {'op': 'call_service', 'id': 'bad', 'timeout': bad,
                       'service': '/websocket_redundancy/status'})
    refusals = [r for r in c.control if r.get('id') == 'bad']
    assert len(refusals) == 5 and all(r['result'] is False and "'timeout'" in r['values']
                                      for r in refusals)
    assert graph.timeouts == [5.0, 0.25, 30.0]


def test_anonymous_in_publish_roles_opens_publishing_with_a_warning(caplog):
    config = {'auth': {'roles': {'team': 'T'}},
              'tiers': {'primary': {'publish_roles': ['team', 'anonymous']}}}
    with caplog.at_level(logging.WARNING):
        graph, _, tier = make(config)
    assert any('without a token may publish' in r.getMessage() for r in caplog.records)
    seen = []
    graph.subscribe('/cmd_vel', lambda s: seen.append(s.msg), TWIST)
    anon = connect(tier, 'anon', token=None)
    send(tier, anon, {'op': 'publish', 'topic': '/cmd_vel', 'type': TWIST,
                      'msg': {'linear': {'x': 0.1}}})
    assert len(seen) == 1
    closed_graph, _, closed = make()  # the default stays closed
    anon = connect(closed, 'anon', token=None)
    send(closed, anon, {'op': 'publish', 'topic': '/cmd_vel', 'type': TWIST, 'msg': {}})
    assert closed.health()['refused'] == {'auth': 1}


def test_anonymous_is_reserved_and_other_unknown_roles_name_the_way_out():
    with pytest.raises(SettingsError, match="'anonymous' is reserved"):
        settings_from_dict({'auth': {'roles': {'anonymous': 'x'}}, 'tiers': {'primary': {}}})
    with pytest.raises(SettingsError, match="use 'anonymous'"):
        settings_from_dict({'auth': {'roles': {'team': 'T'}},
                            'tiers': {'primary': {'publish_roles': ['everyone']}}})
    reading = {'auth': {'roles': {'team': 'T'}},
               'tiers': {'primary': {'read_roles': ['anonymous']}}}
    with pytest.raises(SettingsError, match='not defined under auth.roles'):
        settings_from_dict(reading)  # reading is opened by leaving read_roles out



def test_a_new_subscriber_to_a_latched_topic_gets_the_last_sample_first():
    graph, reactor, tier = make({'auth': {'roles': {'team': 'T'}},
                                 'tiers': {'primary': {}, 'emergency': {}}})
    mission = graph.advertise('/mission/state', 'std_msgs/msg/String', latched=True)
    chatter = graph.advertise('/chatter', 'std_msgs/msg/String')
    tier.track_topics()
    for text in ('leg 1', 'leg 2', 'leg 3'):
        mission.publish({'data': text})
        chatter.publish({'data': text})
    tier.beat()
    late = connect(tier, 'late')
    send(tier, late, {'op': 'subscribe', 'topic': '/mission/state'})
    send(tier, late, {'op': 'subscribe', 'topic': '/chatter'})
    assert [(f['topic'], f['msg']['data']) for f in late.frames()] == [('/mission/state', 'leg 3')]
    mission.publish({'data': 'leg 4'})
    assert [f['msg']['data'] for f in late.frames()] == ['leg 3', 'leg 4']
    resuming = connect(tier, 'resuming')  # had leg 4 from another tier: nothing again
    send(tier, resuming, {'op': 'subscribe', 'topic': '/mission/state',
                          'resume': {'epoch': mission.epoch, 'seq': 4}})
    assert resuming.frames() == []


def test_a_topic_stops_being_latched_when_a_publisher_that_does_not_latch_joins():
    graph, _, tier = make()
    graph.advertise('/mission/state', 'std_msgs/msg/String', latched=True).publish(
        {'data': 'leg 1'})
    tier.track_topics()
    tier.beat()
    graph.advertise('/mission/state', 'std_msgs/msg/String')  # volatile
    tier.track_topics()
    late = connect(tier, 'late')
    send(tier, late, {'op': 'subscribe', 'topic': '/mission/state'})
    assert late.frames() == []


def test_a_client_advertising_latch_true_gets_a_latched_publisher():
    graph, _, tier = make()
    a = connect(tier, 'a')
    send(tier, a, {'op': 'advertise', 'topic': '/emergency_stop', 'type': 'std_msgs/msg/Bool',
                   'latch': True})
    send(tier, a, {'op': 'publish', 'topic': '/emergency_stop', 'msg': {'data': True}})
    assert graph.topics()['/emergency_stop'].latched
    seen = []
    graph.subscribe('/emergency_stop', lambda s: seen.append(s.msg))  # a node that starts later
    assert seen == [{'data': True}]
    send(tier, a, {'op': 'advertise', 'topic': '/cmd_vel', 'type': TWIST, 'latch': 'yes'})
    assert tier.health()['refused'] == {'bad_field': 1}


def test_samples_nobody_takes_wake_the_loop_only_in_bounded_batches():
    """An inactive tier has no heartbeat tick: its inbox still never holds more than a
    batch; the samples land in the (bounded) replay buffer."""
    from websocket_redundancy.tier.service import INBOX_BATCH

    class Counting(Reactor):
        wakes = 0

        def callFromThread(self, fn, *args):
            self.wakes += 1
            fn(*args)

    settings = settings_from_dict({'tiers': {'primary': {}}})
    graph, reactor = RecordingGraph(), Counting()
    tier = TierService(settings, 'primary', graph, reactor)
    imu = graph.advertise('/imu/data', 'sensor_msgs/msg/Imu')
    tier.track_topics()
    for _ in range(3 * INBOX_BATCH):
        imu.publish({})
    assert reactor.wakes == 3
    assert len(tier._inbox) == 0  # noqa: SLF001
    assert len(tier.buffers['/imu/data']) == min(3 * INBOX_BATCH, tier.limits.replay_items)


def test_a_latched_sample_published_before_the_tier_saw_it_latched_reaches_later_subscribers():
    """When a client already takes a topic and a latched publisher appears and publishes
    at once (roslibjs's publish advertises and publishes in one go), the tier learns it is
    latched only at its next look at the graph; the sample it buffered meanwhile is the
    one a later subscriber gets."""
    graph, _, tier = make()
    early = connect(tier, 'early')
    send(tier, early, {'op': 'subscribe', 'topic': '/mission/state'})
    graph.advertise('/mission/state', 'std_msgs/msg/String', latched=True).publish(
        {'data': 'leg 3'})
    assert [f['msg'] for f in early.frames()] == [{'data': 'leg 3'}]
    tier.track_topics()
    late = connect(tier, 'late')
    send(tier, late, {'op': 'subscribe', 'topic': '/mission/state'})
    assert [f['msg'] for f in late.frames()] == [{'data': 'leg 3'}]


def test_a_latched_advertisement_keeps_its_first_sample_before_discovery_reports_it():
    """When a client advertises with latch and publishes at once while another client
    already takes the topic, and the graph does not list the publisher yet (discovery
    lags), a client subscribing right after still gets the sample: the tier knows its
    own publisher latches."""
    graph, _, tier = make()
    graph.topics = dict  # discovery has not caught up: no topic is listed yet
    early, team, late = connect(tier, 'early'), connect(tier, 'team'), connect(tier, 'late')
    send(tier, early, {'op': 'subscribe', 'topic': '/mission/command'})
    send(tier, team, {'op': 'advertise', 'topic': '/mission/command',
                      'type': 'std_msgs/msg/String', 'latch': True})
    send(tier, team, {'op': 'publish', 'topic': '/mission/command', 'msg': {'data': 'go'}})
    assert [f['msg'] for f in early.frames()] == [{'data': 'go'}]
    send(tier, late, {'op': 'subscribe', 'topic': '/mission/command'})
    assert [f['msg'] for f in late.frames()] == [{'data': 'go'}]
