"""The tier's lifecycle shell on an in-memory graph and a memory reactor (no sockets,
no sleeps: the clock is advanced by hand)."""
import json

import pytest
from twisted.internet.testing import MemoryReactorClock

from websocket_redundancy.core.settings import settings_from_dict
from websocket_redundancy.graph.memory import MemoryGraph
from websocket_redundancy.tier.node import TierNode


class Reactor(MemoryReactorClock):
    """A memory reactor whose thread crossings run at once (MemoryGraph delivers on
    the caller's thread)."""

    def callFromThread(self, f, *args, **kwargs):
        f(*args, **kwargs)


@pytest.fixture
def node_world():
    graph = MemoryGraph()
    reactor = Reactor()
    events, beats = [], []
    graph.subscribe('/primary/transition_event', lambda s: events.append(s.msg))
    graph.subscribe('/websocket_redundancy/heartbeat/primary',
                    lambda s: beats.append(json.loads(s.msg['data'])))
    settings = settings_from_dict({'tiers': {'primary': {'port': 0}}})  # any free port
    node = TierNode(settings, 'primary', graph, reactor)
    yield node, reactor, graph, events, beats
    node.close()
    assert reactor.getDelayedCalls() == []


def labels(events):
    return [(e['start_state']['label'], e['goal_state']['label']) for e in events]


def test_when_configured_and_activated_the_tier_listens(node_world):
    node, reactor, _, events, _ = node_world
    assert node.change_state('configure') == (True, '')
    assert reactor.tcpServers == []
    assert node.change_state('activate') == (True, '')
    assert len(reactor.tcpServers) == 1 and node.runner.service.state == 'active'
    assert labels(events) == [('unconfigured', 'inactive'), ('inactive', 'active')]


def test_an_invalid_transition_is_refused_and_changes_nothing(node_world):
    node, _, _, events, _ = node_world
    ok, reason = node.change_state('activate')
    assert not ok and 'not legal from state unconfigured' in reason
    assert node.machine.state.label == 'unconfigured' and events == []
    ok, reason = node.change_state('fly')
    assert not ok and 'not a lifecycle transition' in reason


def test_deactivate_closes_clients_with_1001_and_stops_listening(node_world):
    node, reactor, _, _, _ = node_world
    node.change_state('configure')
    node.change_state('activate')
    closed = []

    class Client:
        def close_with(self, code, reason):
            closed.append(code)
    node.runner.service.clients[Client()] = object()
    assert node.change_state('deactivate') == (True, '')
    assert closed == [1001] and node.runner.service.state == 'inactive'
    assert node.change_state('activate') == (True, '')


def test_the_get_state_service_answers_the_current_state(node_world):
    node, _, graph, _, _ = node_world
    reply = graph.call('/primary/get_state', 'lifecycle_msgs/srv/GetState', {}, 1.0).result()
    assert reply == {'current_state': {'id': 1, 'label': 'unconfigured'}}


def test_shutdown_finalizes_and_stops_the_process(node_world):
    node, reactor, _, events, _ = node_world
    node.change_state('configure')
    assert node.change_state('shutdown') == (True, '')
    assert node.machine.state.label == 'finalized'
    reactor.advance(0.1)
    assert reactor.hasStopped


def test_the_graph_heartbeat_advances_its_tick_and_carries_the_directory_entry(node_world):
    node, reactor, _, _, beats = node_world
    for _ in range(4):
        reactor.advance(0.05)
    assert [b['tick'] for b in beats] == [1, 2, 3, 4, 5]
    last = beats[-1]
    assert last['state'] == 'unconfigured' and last['tier'] == 'primary'
    assert last['scope']['subscribe'] == ['**'] and last['capacity'] == 200
