"""Re-attaching to an action goal by its id, on tiers over the in-memory graph: a goal
sent through one tier with ``goal_id`` is followed from another tier after the first
is gone; the new tier replays the feedback the client missed, reports what it no
longer has as a gap, and forwards the one result."""
import base64
import json
import uuid

import pytest

from websocket_redundancy.core.settings import settings_from_dict
from websocket_redundancy.graph.memory import MemoryGraph
from websocket_redundancy.tier.service import TierService

from .test_tier_service import Clock, FakeProto, ImmediateReactor

NAV = '/navigate_to_pose'
NAV_TYPE = 'nav2_msgs/action/NavigateToPose'
GOAL_ID = base64.b64encode(uuid.UUID(int=7).bytes).decode()


def make_world(replay_items=512):
    settings = settings_from_dict({
        'auth': {'roles': {'team': 'T'}},
        'limits': {'replay_items': replay_items},
        'tiers': {'primary': {'services': ['/websocket_redundancy/**', NAV]},
                  'secondary': {'services': ['/websocket_redundancy/**', NAV]},
                  'tertiary': {}, 'emergency': {}}})
    graph = MemoryGraph()
    goals = []
    server = graph.serve_action(NAV, NAV_TYPE, goals.append)
    tiers = {name: TierService(settings, name, graph, ImmediateReactor(), clock=Clock())
             for name in ('primary', 'secondary', 'tertiary')}
    for tier in tiers.values():
        tier.track_topics()  # as the tier's 2 Hz tracking does: follows the action's feedback
    return graph, tiers, goals, server


@pytest.fixture
def world():
    graph, tiers, goals, server = make_world()
    yield tiers, goals
    server.close()


def connect(tier):
    proto = FakeProto('client')
    assert tier.admit(proto, 'T') == ''
    return proto


def send(tier, proto, frame):
    tier.receive(proto, json.dumps(frame).encode(), False)


def attach(tier, proto, resume=None, **extra):
    frame = {'op': 'attach_action_goal', 'id': 'g1', 'action': NAV, 'action_type': NAV_TYPE,
             'goal_id': GOAL_ID, 'feedback': True, **extra}
    if resume is not None:
        frame['resume'] = {'epoch': resume[0], 'seq': resume[1]}
    send(tier, proto, frame)


def sent_goal(tiers, goals):
    """A goal sent with goal_id through the primary, two feedback samples seen there."""
    client = connect(tiers['primary'])
    send(tiers['primary'], client, {
        'op': 'send_action_goal', 'id': 'g1', 'action': NAV, 'action_type': NAV_TYPE,
        'args': {}, 'feedback': True, 'goal_id': GOAL_ID})
    [served] = goals
    assert served.goal_id == GOAL_ID
    served.publish_feedback({'distance_remaining': 3.0})
    served.publish_feedback({'distance_remaining': 2.0})
    return client, served


def test_feedback_and_result_name_the_goal_id_and_the_sample_key(world):
    tiers, goals = world
    client, served = sent_goal(tiers, goals)
    served.finish(4, {'error_code': 0})
    first, second, result = client.control
    assert first['op'] == 'action_feedback' and first['goal_id'] == GOAL_ID
    assert first['values'] == {'distance_remaining': 3.0}
    assert isinstance(first['epoch'], str) and second['seq'] == first['seq'] + 1
    assert result == {'op': 'action_result', 'id': 'g1', 'action': NAV, 'goal_id': GOAL_ID,
                      'values': {'error_code': 0}, 'status': 4, 'result': True}


def test_reattach_on_another_tier_replays_missed_feedback_then_the_result_once(world):
    """When the primary is gone mid-goal, attaching on the secondary with the last
    feedback key seen replays only what came after it, then live feedback, then the
    result, once."""
    tiers, goals = world
    old, served = sent_goal(tiers, goals)
    last = old.control[-1]
    tiers['primary'].drop(old)  # the client's tier is gone: the goal runs on
    served.publish_feedback({'distance_remaining': 1.0})  # nobody listens on the primary
    client = connect(tiers['secondary'])
    attach(tiers['secondary'], client, (last['epoch'], last['seq']))
    served.publish_feedback({'distance_remaining': 0.5})
    served.finish(4, {'error_code': 0})
    served.publish_feedback({'distance_remaining': 0.0})  # after the end: not forwarded
    ops = [(f['op'], f['values']) for f in client.control]
    assert ops == [('action_feedback', {'distance_remaining': 1.0}),
                   ('action_feedback', {'distance_remaining': 0.5}),
                   ('action_result', {'error_code': 0})]
    assert client.control[0]['seq'] == last['seq'] + 1
    assert client.control[-1]['status'] == 4 and client.control[-1]['goal_id'] == GOAL_ID
    assert tiers['secondary'].actions.in_flight() == 0


def test_reattach_after_the_goal_ended_gets_the_result_from_the_server(world):
    tiers, goals = world
    old, served = sent_goal(tiers, goals)
    tiers['primary'].drop(old)
    served.finish(6, {'error_code': 1})
    client = connect(tiers['secondary'])
    attach(tiers['secondary'], client, (old.control[-1]['epoch'], old.control[-1]['seq']))
    assert client.control == [{'op': 'action_result', 'id': 'g1', 'action': NAV,
                               'goal_id': GOAL_ID, 'values': {'error_code': 1},
                               'status': 6, 'result': True}]


def test_feedback_the_tier_no_longer_holds_is_reported_as_a_gap():
    graph, tiers, goals, server = make_world(replay_items=2)
    old, served = sent_goal(tiers, goals)
    first = old.control[0]
    tiers['primary'].drop(old)
    for distance in (1.0, 0.5, 0.2):  # the secondary keeps the goal's last 2 samples
        served.publish_feedback({'distance_remaining': distance})
    client = connect(tiers['secondary'])
    attach(tiers['secondary'], client, (first['epoch'], first['seq']))
    gap, *feedback = client.control
    assert gap['op'] == 'action_feedback_gap' and gap['goal_id'] == GOAL_ID
    assert gap['requested'] == {'epoch': first['epoch'], 'seq': first['seq']}
    assert gap['available'] == {'epoch': first['epoch'], 'seq': first['seq'] + 3}
    assert [f['values']['distance_remaining'] for f in feedback] == [0.5, 0.2]
    server.close()


def test_nothing_missing_is_no_gap_even_when_other_goals_fed_back_between(world):
    """Keys of one goal are not consecutive when other goals feed back in between; only
    feedback the tier lost is a gap."""
    tiers, goals = world
    old, served = sent_goal(tiers, goals)
    last = old.control[-1]
    tiers['primary'].drop(old)
    other = connect(tiers['primary'])
    send(tiers['primary'], other, {'op': 'send_action_goal', 'id': 'x', 'action': NAV,
                                   'action_type': NAV_TYPE, 'args': {}})
    goals[1].publish_feedback({'distance_remaining': 9.0})
    served.publish_feedback({'distance_remaining': 1.0})
    client = connect(tiers['secondary'])
    attach(tiers['secondary'], client, (last['epoch'], last['seq']))
    assert [f['op'] for f in client.control] == ['action_feedback']
    assert client.control[0]['values'] == {'distance_remaining': 1.0}


def test_a_goal_the_server_does_not_know_ends_with_a_failed_result(world):
    tiers, goals = world
    client = connect(tiers['secondary'])
    attach(tiers['secondary'], client)
    [reply] = client.control
    assert reply['op'] == 'action_result' and reply['result'] is False
    assert 'does not know goal' in reply['values'] and 'attached' not in reply


def test_a_tier_without_the_action_refuses_to_attach_and_says_so(world):
    """When the action is outside the tier's scope the reply says attached: false (the
    goal runs on; only this tier cannot follow it)."""
    tiers, goals = world
    client = connect(tiers['tertiary'])
    attach(tiers['tertiary'], client)
    [reply] = client.control
    assert reply['attached'] is False and reply['result'] is False
    assert reply['goal_id'] == GOAL_ID and 'service scope' in reply['values']


def test_a_cancel_through_the_new_tier_reaches_the_server(world):
    tiers, goals = world
    old, served = sent_goal(tiers, goals)
    tiers['primary'].drop(old)
    client = connect(tiers['secondary'])
    attach(tiers['secondary'], client)
    send(tiers['secondary'], client, {'op': 'cancel_action_goal', 'id': 'g1', 'action': NAV})
    assert served.cancel_requested
    served.finish(5)
    assert client.control[-1]['status'] == 5


@pytest.mark.parametrize('goal_id', ['nope', 42, base64.b64encode(b'short').decode()])
def test_a_malformed_goal_id_is_refused_naming_the_field(world, goal_id):
    tiers, goals = world
    client = connect(tiers['primary'])
    send(tiers['primary'], client, {'op': 'send_action_goal', 'id': 'g1', 'action': NAV,
                                    'action_type': NAV_TYPE, 'args': {}, 'goal_id': goal_id})
    [reply] = client.control
    assert reply['result'] is False and "'goal_id' must be a UUID" in reply['values']
    assert goals == []
