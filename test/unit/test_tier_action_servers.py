"""Client-provided actions in the tier over the in-memory graph: a graph goal reaches
the providing client as ``send_action_goal``, its feedback and result reach the graph's
action client, a graph cancel reaches it as ``cancel_action_goal``; the disconnect and
``unadvertise_action`` end goals in flight aborted at once; nothing is left behind."""

import pytest

from websocket_redundancy.graph.port import (
    GOAL_ABORTED,
    GOAL_CANCELED,
    GOAL_SUCCEEDED,
    GraphError,
)

from . import test_tier_provided
from .test_tier_provided import connect, send

world = test_tier_provided.world  # the fixture: two tiers on one memory graph

FIB = 'example_interfaces/action/Fibonacci'
SERVER_NAMES = {'/ops/fib/_action/send_goal', '/ops/fib/_action/get_result',
                '/ops/fib/_action/cancel_goal'}


def provide(tier, name='provider', action='/ops/fib'):
    proto = connect(tier, name)
    send(tier, proto, {'op': 'advertise_action', 'action': action, 'type': FIB})
    return proto


class Sent:
    """A goal a graph client sent, with its feedback."""

    def __init__(self, graph, order=5, action='/ops/fib'):
        self.feedback = []
        self.handle = graph.send_goal(action, FIB, {'order': order}, self.feedback.append, 5)

    def outcome(self):
        assert self.handle.result.done(), 'the goal has not ended'
        return self.handle.result.result(timeout=0)


def answer(tier, proto, frame, op='action_result', **fields):
    send(tier, proto, {'op': op, 'action': frame['action'], 'id': frame['id'], **fields})


def served(graph):
    return SERVER_NAMES <= set(graph.services())


def test_a_graph_goal_reaches_the_client_and_its_feedback_and_result_reach_the_sender(world):
    graph, tiers, _ = world
    primary = tiers['primary']
    provider = provide(primary)
    assert served(graph) and primary.health()['provided_actions'] == ['/ops/fib']
    sent = Sent(graph)
    [goal] = provider.control
    assert goal == {'op': 'send_action_goal', 'id': 'action_goal:/ops/fib:1',
                    'action': '/ops/fib', 'action_type': FIB, 'args': {'order': 5},
                    'feedback': True}
    answer(primary, provider, goal, 'action_feedback', values={'sequence': [0, 1]})
    assert sent.feedback == [{'sequence': [0, 1]}]
    assert not sent.handle.result.done()
    answer(primary, provider, goal, result=True, status=4,
           values={'sequence': [0, 1, 1, 2, 3]})
    outcome = sent.outcome()
    assert (outcome.status, outcome.result) == (GOAL_SUCCEEDED, {'sequence': [0, 1, 1, 2, 3]})
    assert primary.clients[provider].provider.goals == {}


def test_a_client_of_another_tier_sends_the_goal_with_send_action_goal(world):
    _, tiers, _ = world
    provider = provide(tiers['primary'])
    caller = connect(tiers['secondary'], 'caller')
    send(tiers['secondary'], caller, {'op': 'send_action_goal', 'id': 'g1', 'action': '/ops/fib',
                                      'action_type': FIB, 'args': {'order': 2}, 'feedback': True})
    [goal] = provider.control
    answer(tiers['primary'], provider, goal, 'action_feedback', values={'sequence': [0]})
    answer(tiers['primary'], provider, goal, result=True, status=4, values={'sequence': [0, 1]})
    assert caller.control == [
        {'op': 'action_feedback', 'id': 'g1', 'action': '/ops/fib', 'values': {'sequence': [0]}},
        {'op': 'action_result', 'id': 'g1', 'action': '/ops/fib', 'values': {'sequence': [0, 1]},
         'status': GOAL_SUCCEEDED, 'result': True}]


def test_a_graph_cancel_reaches_the_client_which_ends_the_goal_canceled(world):
    graph, tiers, _ = world
    provider = provide(tiers['primary'])
    sent = Sent(graph)
    sent.handle.cancel()
    goal, cancel = provider.control
    assert cancel == {'op': 'cancel_action_goal', 'id': goal['id'], 'action': '/ops/fib'}
    answer(tiers['primary'], provider, goal, result=True, status=5, values={'sequence': [0]})
    assert sent.outcome().status == GOAL_CANCELED


@pytest.mark.parametrize('leave, reason', [
    (lambda tier, proto: tier.drop(proto), 'disconnected'),
    (lambda tier, proto: send(tier, proto, {'op': 'unadvertise_action', 'action': '/ops/fib'}),
     'unadvertised it'),
    (lambda tier, proto: tier.release(), 'disconnected'),
])
def test_when_the_provider_leaves_goals_in_flight_end_aborted_at_once(world, caplog, leave,
                                                                      reason):
    graph, tiers, reactor = world
    primary = tiers['primary']
    provider = provide(primary)
    goals = [Sent(graph), Sent(graph, 3)]
    leave(primary, provider)
    for sent in goals:
        assert sent.outcome().status == GOAL_ABORTED
    assert f'the client providing /ops/fib {reason}' in caplog.text
    assert not served(graph)
    assert primary.served.providers == {} and primary.health()['provided_actions'] == []
    assert reactor.getDelayedCalls() == []
    late = Sent(graph)  # nobody serves it now: the goal fails, it does not hang
    with pytest.raises(GraphError, match='no action server for /ops/fib'):
        late.outcome()


def test_a_name_another_client_or_node_serves_is_refused(world):
    graph, tiers, _ = world
    provider = provide(tiers['primary'])
    rival = provide(tiers['primary'], 'rival')
    assert tiers['primary'].refused['conflict'] == 1
    assert tiers['primary'].clients[rival].provider.actions == {}
    elsewhere = provide(tiers['secondary'], 'elsewhere')  # the graph has its server
    assert tiers['secondary'].refused['conflict'] == 1
    assert tiers['secondary'].served.providers == {}
    Sent(graph)
    assert len(provider.control) == 1 and rival.control == [] == elsewhere.control
    tiers['primary'].drop(rival)  # the rival leaving does not stop the provider's server
    assert served(graph)
    tiers['primary'].drop(provider)
    again = provide(tiers['secondary'], 'again')  # the name is free again, at once
    assert tiers['secondary'].served.providers == {'/ops/fib': again}
    tiers['secondary'].drop(again)


def test_an_unknown_action_type_is_refused_with_the_graphs_reason(world, monkeypatch):
    graph, tiers, _ = world

    def unknown(action, type_name, execute):
        raise GraphError(f'unknown action type {type_name!r}')
    monkeypatch.setattr(graph, 'serve_action', unknown)
    proto = connect(tiers['primary'], 'provider')
    send(tiers['primary'], proto, {'op': 'set_level', 'level': 'error'})
    send(tiers['primary'], proto, {'op': 'advertise_action', 'action': '/ops/fib', 'type': FIB})
    [status] = proto.control
    assert status['msg'] == ("advertise_action: cannot serve /ops/fib as "
                             f"{FIB}: unknown action type '{FIB}'")
    assert tiers['primary'].clients[proto].provider.actions == {}


def test_another_client_cannot_end_or_feed_the_providers_goal(world):
    graph, tiers, _ = world
    primary = tiers['primary']
    provider = provide(primary)
    other = connect(primary, 'other')
    sent = Sent(graph)
    [goal] = provider.control
    answer(primary, other, goal, result=True, status=4, values={'sequence': []})
    answer(primary, other, goal, 'action_feedback', values={'sequence': []})
    assert not sent.handle.result.done() and sent.feedback == []
    assert primary.refused['bad_field'] == 2
    primary.drop(provider)
    assert sent.outcome().status == GOAL_ABORTED
