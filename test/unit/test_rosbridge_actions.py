"""The session's action ops: send_action_goal / cancel_action_goal in, commands out;
every refusal of a goal is a failed action_result the client can read."""
import json

import pytest

from websocket_redundancy.core.commands import CancelGoal, DetachGoals, Refused, Reply, SendGoal
from websocket_redundancy.core.rosbridge import Session, normalize_type
from websocket_redundancy.core.rosbridge_actions import (
    MAX_GOALS,
    feedback_reply,
    normalize_action_type,
    result_reply,
)
from websocket_redundancy.core.settings import settings_from_dict

NAV = '/navigate_to_pose'
NAV_TYPE = 'nav2_msgs/action/NavigateToPose'
SETTINGS = settings_from_dict({
    'auth': {'roles': {'team': 'tok-team', 'viewer': 'tok-view'}},
    'tiers': {'primary': {'services': ['/websocket_redundancy/**', NAV],
                          'publish_roles': ['team']},
              'emergency': {}},
})


def session(tier='primary', role='team'):
    return Session(SETTINGS.tier(tier), SETTINGS.limits, SETTINGS.roles, role=role)


def send(s, frame, now=0.0):
    return s.receive(json.dumps(frame).encode(), False, now)


def goal(**extra):
    return {'op': 'send_action_goal', 'id': 'g1', 'action': NAV, 'action_type': NAV_TYPE,
            'args': {'pose': {'pose': {'position': {'x': 2.0}}}}, 'feedback': True, **extra}


def test_when_a_team_client_sends_a_goal_in_scope_the_tier_sends_it():
    s = session()
    assert send(s, goal()) == [SendGoal('g1', 'g1', NAV, NAV_TYPE,
                                        {'pose': {'pose': {'position': {'x': 2.0}}}}, True)]
    assert send(s, goal(id='g2', action_type='nav2_msgs/NavigateToPose', feedback=False,
                        args=[])) == [SendGoal('g2', 'g2', NAV, NAV_TYPE, {}, False)]


@pytest.mark.parametrize(('tier', 'role', 'frame', 'kind', 'words'), [
    ('emergency', 'team', goal(), 'scope', "outside the emergency tier's service scope"),
    ('primary', None, goal(), 'auth', 'an unauthenticated client may not send goals'),
    ('primary', 'viewer', goal(), 'auth', "role 'viewer' may not send goals"),
    ('primary', 'team', goal(action='nav'), 'bad_field', "'action' must be a ROS name"),
    ('primary', 'team', goal(action_type='Nav'), 'bad_field', "'action_type' must be"),
    ('primary', 'team', goal(action_type=None), 'bad_field', "'action_type' must be"),
    ('primary', 'team', goal(args='x'), 'bad_field', "'args' must be an object"),
    ('primary', 'team', goal(feedback='yes'), 'bad_field', "'feedback' must be true or false"),
])
def test_a_refused_goal_is_a_failed_action_result(tier, role, frame, kind, words):
    """When a goal is refused, the client gets action_result with result false, status
    0 and the reason, under its id (roslibpy calls its errback), and nothing is sent."""
    s = session(tier, role)
    refused, reply = send(s, frame)
    assert isinstance(refused, Refused) and refused.kind == kind and words in refused.detail
    assert reply.frame['op'] == 'action_result' and reply.frame['id'] == 'g1'
    assert reply.frame['result'] is False and reply.frame['status'] == 0
    assert words in reply.frame['values']
    assert s.goals == {}


def test_goals_in_flight_are_bounded_and_ids_are_unique():
    s = session()
    for n in range(MAX_GOALS):
        [command] = send(s, goal(id=f'g{n}'))
        assert isinstance(command, SendGoal)
    refused, reply = send(s, goal(id='one-more'))
    assert refused.kind == 'limit' and reply.frame['result'] is False
    result_reply(s, 'g0', True, 4, {})
    refused, reply = send(s, goal(id='g1'))
    assert 'already in flight' in refused.detail and reply.frame['id'] == 'g1'
    assert isinstance(send(s, goal(id='g0'))[0], SendGoal)  # ended: its id is free again


def test_a_cancel_names_a_goal_of_this_connection_once():
    s = session()
    send(s, goal())
    assert send(s, {'op': 'cancel_action_goal', 'id': 'g1', 'action': NAV}) == \
        [CancelGoal('g1', NAV)]
    assert send(s, {'op': 'cancel_action_goal', 'id': 'g1', 'action': NAV}) == []
    [refused] = send(s, {'op': 'cancel_action_goal', 'id': 'nope', 'action': NAV})
    assert refused.kind == 'bad_field' and "no goal with id 'nope'" in refused.detail
    [refused] = send(session(), {'op': 'cancel_action_goal', 'id': 'g1', 'action': NAV})
    assert 'no goal' in refused.detail  # another connection's goal is not found


def test_feedback_only_when_asked_and_the_result_ends_the_goal():
    s = session()
    send(s, goal())
    send(s, goal(id='quiet', feedback=False))
    assert feedback_reply(s, 'g1', {'distance_remaining': 1.5}) == Reply(
        {'op': 'action_feedback', 'action': NAV, 'values': {'distance_remaining': 1.5},
         'id': 'g1'})
    assert feedback_reply(s, 'quiet', {'distance_remaining': 1.5}) is None
    assert result_reply(s, 'g1', True, 4, {'error_code': 0}) == Reply(
        {'op': 'action_result', 'action': NAV, 'values': {'error_code': 0}, 'status': 4,
         'result': True, 'id': 'g1'})
    assert feedback_reply(s, 'g1', {}) is None and result_reply(s, 'g1', True, 4, {}) is None


def test_a_goal_without_an_id_still_gets_its_result_and_the_disconnect_detaches_goals():
    s = session()
    [command] = send(s, goal(id=None))
    assert command.call_id is None and command.key in s.goals
    reply = result_reply(s, command.key, False, 0, 'no action server')
    assert 'id' not in reply.frame and reply.frame['values'] == 'no action server'
    send(s, goal())
    assert DetachGoals() in s.closed() and s.goals == {}
    assert DetachGoals() not in s.closed()


def test_action_type_names():
    assert normalize_action_type('nav2_msgs/NavigateToPose') == NAV_TYPE
    assert normalize_action_type(NAV_TYPE) == NAV_TYPE
    assert normalize_action_type('nav2_msgs/msg/NavigateToPose') is None
    assert normalize_type('nav2_msgs/action/NavigateToPose_FeedbackMessage') == \
        'nav2_msgs/action/NavigateToPose_FeedbackMessage'  # an action's feedback topic
    s = session()
    assert send(s, {'op': 'subscribe', 'topic': '/navigate_to_pose/_action/feedback',
                    'type': 'nav2_msgs/action/NavigateToPose_FeedbackMessage'})[0].topic == \
        '/navigate_to_pose/_action/feedback'
