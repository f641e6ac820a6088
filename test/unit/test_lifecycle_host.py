"""The one lifecycle-node host: lifecycle_msgs services and the rcl transition sequence,
driven over an in-memory graph as the coordinator drives a tier."""
import pytest

from websocket_redundancy.core.lifecycle import State
from websocket_redundancy.graph.memory import MemoryGraph
from websocket_redundancy.node.host import LifecycleHost


class Callbacks:
    def __init__(self):
        self.calls, self.answers, self.released, self.landed = [], {}, 0, []

    def table(self):
        def make(state):
            def callback():
                self.calls.append(state.label)
                answer = self.answers.get(state, '')
                if isinstance(answer, Exception):
                    raise answer
                return answer
            return callback
        return {s: make(s) for s in (State.CONFIGURING, State.ACTIVATING, State.DEACTIVATING,
                                     State.CLEANINGUP, State.SHUTTINGDOWN)}

    def release(self):
        self.released += 1


@pytest.fixture
def world():
    graph, cb, events = MemoryGraph(), Callbacks(), []
    graph.subscribe('/n/transition_event',
                    lambda s: events.append((s.msg['start_state']['label'],
                                             s.msg['goal_state']['label'])))
    host = LifecycleHost(graph, '/n', 'n', cb.table(), lambda fn: fn(), cb.release,
                         cb.landed.append)
    yield graph, host, cb, events
    host.close()


def change(graph, label):
    return graph.call('/n/change_state', 'lifecycle_msgs/srv/ChangeState',
                      {'transition': {'label': label}}, 1.0).result()['success']


def state(graph):
    return graph.call('/n/get_state', 'lifecycle_msgs/srv/GetState', {}, 1.0
                      ).result()['current_state']['label']


def test_when_driven_over_its_services_the_node_walks_the_lifecycle(world):
    graph, host, cb, events = world
    assert [change(graph, t) for t in ('configure', 'activate', 'deactivate', 'cleanup')] == [
        True] * 4
    assert cb.calls == ['configuring', 'activating', 'deactivating', 'cleaningup']
    assert events == [('unconfigured', 'inactive'), ('inactive', 'active'),
                      ('active', 'inactive'), ('inactive', 'unconfigured')]
    assert cb.landed == [State.INACTIVE, State.ACTIVE, State.INACTIVE, State.UNCONFIGURED]
    assert state(graph) == 'unconfigured'


def test_an_invalid_transition_is_refused_and_the_node_lives(world):
    graph, host, cb, events = world
    assert change(graph, 'activate') is False
    assert (cb.calls, events, state(graph)) == ([], [], 'unconfigured')
    available = graph.call('/n/get_available_transitions',
                           'lifecycle_msgs/srv/GetAvailableTransitions', {}, 1.0).result()
    assert {t['transition']['label'] for t in available['available_transitions']} == {
        'configure', 'shutdown'}


def test_a_callback_that_says_why_leaves_the_node_where_it_was(world):
    graph, host, cb, events = world
    cb.answers[State.CONFIGURING] = 'security.tls_cert x cannot be read'
    assert host.change_state('configure') == (False, 'security.tls_cert x cannot be read')
    assert (state(graph), cb.released) == ('unconfigured', 0)


def test_a_callback_that_raises_goes_through_error_processing_to_unconfigured(world):
    graph, host, cb, events = world
    host.change_state('configure')
    cb.answers[State.ACTIVATING] = ModuleNotFoundError("No module named 'OpenSSL'")
    ok, reason = host.change_state('activate')
    assert not ok and reason.startswith('activating raised ModuleNotFoundError')
    assert (state(graph), cb.released) == ('unconfigured', 1)
    assert events[-1] == ('inactive', 'unconfigured')
