"""Client-provided services in the tier over the in-memory graph: a graph call reaches
the providing client as ``call_service`` and its ``service_response`` reaches the caller;
the disconnect, ``unadvertise_service`` and the deadline fail calls in flight at once;
nothing is left behind (no server, no timer)."""
import json

import pytest
from twisted.internet.task import Clock

from websocket_redundancy.core.settings import settings_from_dict
from websocket_redundancy.graph.memory import MemoryGraph
from websocket_redundancy.graph.port import GraphError
from websocket_redundancy.tier.service import TierService

from .test_tier_service import FakeProto

SET_BOOL = 'std_srvs/srv/SetBool'


class Reactor(Clock):
    """Twisted's test clock, crossing threads at once (the memory graph has none)."""

    def callFromThread(self, fn, *args):
        fn(*args)


@pytest.fixture
def world():
    settings = settings_from_dict({
        'auth': {'roles': {'team': 'T'}},
        'tiers': {name: {'port': 8080 + i, 'priority': i,
                         'services': ['/websocket_redundancy/**', '/ops/**']}
                  for i, name in enumerate(('primary', 'secondary'))}})
    graph, reactor = MemoryGraph(), Reactor()
    tiers = {name: TierService(settings, name, graph, reactor, clock=reactor.seconds)
             for name in ('primary', 'secondary')}
    yield graph, tiers, reactor
    assert reactor.getDelayedCalls() == [], 'a timer was left armed'


def connect(tier, name, token='T'):
    proto = FakeProto(name)
    assert tier.admit(proto, token) == ''
    return proto


def send(tier, proto, frame):
    tier.receive(proto, json.dumps(frame).encode(), False)


def provide(tier, name='provider', service='/ops/arm'):
    proto = connect(tier, name)
    send(tier, proto, {'op': 'advertise_service', 'service': service, 'type': SET_BOOL})
    return proto


def respond(tier, proto, request, values=None, result=True):
    send(tier, proto, {'op': 'service_response', 'service': request['service'],
                       'id': request['id'], 'result': result,
                       'values': {'success': True, 'message': 'armed'}
                       if values is None else values})


def test_a_graph_call_reaches_the_client_and_its_response_reaches_the_caller(world):
    graph, tiers, _ = world
    provider = provide(tiers['primary'])
    assert graph.services() == {'/ops/arm': SET_BOOL}
    future = graph.call('/ops/arm', SET_BOOL, {'data': True}, timeout=5)
    [request] = provider.control
    assert request == {'op': 'call_service', 'id': 'service_request:/ops/arm:1',
                       'service': '/ops/arm', 'args': {'data': True}}
    assert not future.done()
    respond(tiers['primary'], provider, request)
    assert future.result(timeout=0) == {'success': True, 'message': 'armed'}


def test_a_client_of_another_tier_calls_it_with_call_service(world):
    _, tiers, _ = world
    provider = provide(tiers['primary'])
    caller = connect(tiers['secondary'], 'caller')
    send(tiers['secondary'], caller, {'op': 'call_service', 'service': '/ops/arm',
                                      'type': SET_BOOL, 'args': {'data': True}, 'id': 'c1'})
    respond(tiers['primary'], provider, provider.control[0])
    assert caller.control == [{'op': 'service_response', 'service': '/ops/arm', 'id': 'c1',
                               'result': True,
                               'values': {'success': True, 'message': 'armed'}}]


def test_a_failure_the_client_reports_fails_the_call_with_its_reason(world):
    graph, tiers, _ = world
    provider = provide(tiers['primary'])
    future = graph.call('/ops/arm', SET_BOOL, {}, timeout=5)
    respond(tiers['primary'], provider, provider.control[0], values='stowed', result=False)
    with pytest.raises(GraphError, match='the client providing /ops/arm reported a failure: '
                                         'stowed'):
        future.result(timeout=0)


def test_when_the_provider_disconnects_calls_in_flight_fail_at_once(world):
    graph, tiers, reactor = world
    provider = provide(tiers['primary'])
    futures = [graph.call('/ops/arm', SET_BOOL, {}, timeout=5) for _ in range(2)]
    assert len(reactor.getDelayedCalls()) == 1  # one timer for every call
    tiers['primary'].drop(provider)
    for future in futures:
        with pytest.raises(GraphError, match='the client providing /ops/arm disconnected'):
            future.result(timeout=0)
    assert graph.services() == {}
    assert tiers['primary'].provided.providers == {}
    assert tiers['primary'].health()['provided_services'] == []


def test_unadvertise_fails_calls_in_flight_and_frees_the_name(world):
    graph, tiers, _ = world
    primary = tiers['primary']
    provider = provide(primary)
    future = graph.call('/ops/arm', SET_BOOL, {}, timeout=5)
    send(primary, provider, {'op': 'unadvertise_service', 'service': '/ops/arm'})
    with pytest.raises(GraphError, match='the client providing /ops/arm unadvertised it'):
        future.result(timeout=0)
    assert graph.services() == {}
    other = provide(primary, 'other')  # the name is free again, at once
    assert primary.provided.providers == {'/ops/arm': other}
    primary.drop(other)


def test_a_call_the_client_does_not_answer_in_time_fails(world):
    graph, tiers, reactor = world
    provider = provide(tiers['primary'])
    first = graph.call('/ops/arm', SET_BOOL, {}, timeout=5)
    reactor.advance(2)
    second = graph.call('/ops/arm', SET_BOOL, {}, timeout=5)
    reactor.advance(3)
    with pytest.raises(GraphError, match='the client providing /ops/arm did not answer '
                                         'within 5 s'):
        first.result(timeout=0)
    assert not second.done()
    respond(tiers['primary'], provider, provider.control[0])  # the late answer to the first
    assert tiers['primary'].refused['bad_field'] == 1
    respond(tiers['primary'], provider, provider.control[1])
    assert second.result(timeout=0)['message'] == 'armed'


def test_a_name_another_client_provides_is_refused(world):
    graph, tiers, _ = world
    provider = provide(tiers['primary'])
    rival = connect(tiers['primary'], 'rival')
    send(tiers['primary'], rival, {'op': 'set_level', 'level': 'error'})
    send(tiers['primary'], rival, {'op': 'advertise_service', 'service': '/ops/arm',
                                   'type': SET_BOOL})
    [status] = rival.control
    assert 'already provided by another client of the primary tier' in status['msg']
    assert tiers['primary'].clients[rival].provider.services == {}
    future = graph.call('/ops/arm', SET_BOOL, {}, timeout=5)
    assert rival.control == [status] and len(provider.control) == 1  # still the first's
    tiers['primary'].drop(rival)  # the rival leaving does not stop the provider's service
    assert graph.services() == {'/ops/arm': SET_BOOL}
    respond(tiers['primary'], provider, provider.control[0])
    assert future.done()


def test_a_name_served_elsewhere_on_the_graph_is_refused(world):
    graph, tiers, _ = world
    provide(tiers['primary'])
    rival = connect(tiers['secondary'], 'rival')
    send(tiers['secondary'], rival, {'op': 'advertise_service', 'service': '/ops/arm',
                                     'type': SET_BOOL})
    assert tiers['secondary'].refused['conflict'] == 1
    handle = graph.serve('/ops/stow', SET_BOOL, lambda request: {'success': True})
    send(tiers['secondary'], rival, {'op': 'advertise_service', 'service': '/ops/stow',
                                     'type': SET_BOOL})
    assert tiers['secondary'].refused['conflict'] == 2
    assert tiers['secondary'].provided.providers == {}
    handle.close()


def test_the_graph_caller_never_reaches_another_clients_call(world):
    graph, tiers, _ = world
    provider = provide(tiers['primary'])
    other = connect(tiers['primary'], 'other')
    future = graph.call('/ops/arm', SET_BOOL, {}, timeout=5)
    respond(tiers['primary'], other, provider.control[0])
    assert not future.done() and tiers['primary'].refused['bad_field'] == 1
    tiers['primary'].drop(provider)
    assert future.exception(timeout=0) is not None


def test_when_the_tier_is_released_its_provided_services_stop(world):
    graph, tiers, _ = world
    provide(tiers['primary'])
    future = graph.call('/ops/arm', SET_BOOL, {}, timeout=5)
    tiers['primary'].release()
    with pytest.raises(GraphError, match='disconnected'):
        future.result(timeout=0)
    assert graph.services() == {}


def test_a_name_this_tier_just_stopped_serving_can_be_provided_again_at_once(world):
    """The graph's view may still list a server this tier closed (the embedded graph's
    discovery is asynchronous): for a grace period that is not taken for a rival."""
    graph, tiers, reactor = world
    primary = tiers['primary']
    provider = provide(primary)
    primary.drop(provider)
    stale = {'/ops/arm': SET_BOOL}
    graph.services = lambda: stale  # discovery has not caught up
    again = provide(primary, 'again')
    assert primary.provided.providers == {'/ops/arm': again}
    primary.drop(again)
    reactor.advance(6)  # past the grace: a server still listed is someone else's
    late = provide(primary, 'late')
    assert primary.refused['conflict'] == 1 and primary.provided.providers == {}
    primary.drop(late)
