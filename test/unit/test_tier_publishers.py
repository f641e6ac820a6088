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
from websocket_redundancy.tier.service import ADVERTISE_GRACE_S, TierService

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
    assert publishers(graph) == 0 and tier._publishers == {}  # noqa: SLF001


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
    epoch = tier._publishers['/cmd_vel'].epoch  # noqa: SLF001
    tier.drop(a)
    reactor.advance(ADVERTISE_GRACE_S / 2)
    again = connect(tier, 'a-again')
    send(tier, again, {'op': 'advertise', 'topic': '/cmd_vel', 'type': TWIST})
    reactor.advance(ADVERTISE_GRACE_S * 2)
    assert publishers(graph) == 1
    assert tier._publishers['/cmd_vel'].epoch == epoch  # noqa: SLF001


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

