"""A tier carrying out its clients' action goals on the in-memory graph: the goal reaches
the action server, feedback and the result come back as rosbridge frames, cancels
reach the server, refusals and failures are failed action_results."""
import json

import pytest

from websocket_redundancy.core.rosbridge_actions import MAX_GOALS
from websocket_redundancy.core.settings import settings_from_dict
from websocket_redundancy.graph.memory import MemoryGraph
from websocket_redundancy.tier.service import TierService

from .test_tier_service import Clock, FakeProto, ImmediateReactor

NAV = '/navigate_to_pose'
NAV_TYPE = 'nav2_msgs/action/NavigateToPose'


@pytest.fixture
def world():
    settings = settings_from_dict({
        'auth': {'roles': {'team': 'T'}},
        'tiers': {'primary': {'services': ['/websocket_redundancy/**', NAV]}, 'emergency': {}}})
    graph = MemoryGraph()
    tier = TierService(settings, 'primary', graph, ImmediateReactor(), clock=Clock())
    goals = []
    server = graph.serve_action(NAV, NAV_TYPE, goals.append)
    yield graph, tier, goals
    server.close()


def connect(tier, token='T'):
    proto = FakeProto('client')
    assert tier.admit(proto, token) == ''
    return proto


def send(tier, proto, frame):
    tier.receive(proto, json.dumps(frame).encode(), False)


def goal(**extra):
    return {'op': 'send_action_goal', 'id': 'g1', 'action': NAV, 'action_type': NAV_TYPE,
            'args': {'pose': {'pose': {'position': {'x': 2.0}}}}, 'feedback': True, **extra}


def test_a_goal_gets_feedback_then_its_result(world):
    graph, tier, goals = world
    client = connect(tier)
    send(tier, client, goal())
    [served] = goals
    assert served.request == {'pose': {'pose': {'position': {'x': 2.0}}}}
    served.publish_feedback({'distance_remaining': 1.5})
    served.finish(4, {'error_code': 0, 'error_msg': ''})
    assert client.control == [
        {'op': 'action_feedback', 'action': NAV, 'values': {'distance_remaining': 1.5},
         'id': 'g1'},
        {'op': 'action_result', 'action': NAV, 'values': {'error_code': 0, 'error_msg': ''},
         'status': 4, 'result': True, 'id': 'g1'}]
    assert tier.actions.in_flight() == 0 and tier.clients[client].goals == {}
    served.publish_feedback({'distance_remaining': 0.0})  # after the end: nothing more
    assert len(client.control) == 2


def test_a_cancel_reaches_the_server_and_the_result_says_canceled(world):
    graph, tier, goals = world
    client = connect(tier)
    send(tier, client, goal(feedback=False))
    [served] = goals
    send(tier, client, {'op': 'cancel_action_goal', 'id': 'g1', 'action': NAV})
    assert served.cancel_requested
    served.finish(5)
    assert client.control == [{'op': 'action_result', 'action': NAV, 'values': {},
                               'status': 5, 'result': True, 'id': 'g1'}]


def test_refusals_and_failures_are_failed_results(world):
    """When a goal is out of scope, has no server or an unknown type, or the client has
    no role, the client gets action_result with result false naming why."""
    graph, tier, goals = world
    anonymous = connect(tier, token=None)
    send(tier, anonymous, goal())
    team = connect(tier)
    send(tier, team, goal(action='/dig', id='g2'))
    send(tier, team, goal(action='/websocket_redundancy/nothing', id='g3'))
    assert goals == []
    [refused] = anonymous.control
    assert refused['result'] is False and 'unauthenticated' in refused['values']
    out_of_scope, no_server = team.control
    assert out_of_scope['id'] == 'g2' and 'outside the primary tier' in out_of_scope['values']
    assert no_server['id'] == 'g3' and no_server['result'] is False
    assert 'no action server for /websocket_redundancy/nothing' in no_server['values']
    assert tier.refused['auth'] == 1 and tier.refused['scope'] == 1


def test_when_the_client_leaves_its_goal_runs_on_and_nothing_is_sent(world):
    graph, tier, goals = world
    client = connect(tier)
    send(tier, client, goal())
    tier.drop(client)
    assert tier.actions.in_flight() == 0
    [served] = goals
    assert not served.cancel_requested  # the rover keeps driving
    served.publish_feedback({'distance_remaining': 1.0})
    served.finish(4, {})
    assert client.control == []


def test_goals_in_flight_per_client_are_bounded(world):
    graph, tier, goals = world
    client = connect(tier)
    for n in range(MAX_GOALS + 1):
        send(tier, client, goal(id=f'g{n}'))
    assert len(goals) == MAX_GOALS
    [refused] = client.control
    assert refused['id'] == f'g{MAX_GOALS}' and 'already in flight' in refused['values']
