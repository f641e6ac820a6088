"""Client-provided actions in the rosbridge session (advertise_action, action_feedback,
action_result, unadvertise_action): frames and graph goals in, commands out."""
import json

import pytest

from websocket_redundancy.core import rosbridge_action_servers as served
from websocket_redundancy.core import rosbridge_services as provided
from websocket_redundancy.core.commands import (
    AdvertiseAction,
    AnswerCall,
    EndServedGoal,
    Refused,
    Reply,
    ServedFeedback,
    UnadvertiseAction,
)
from websocket_redundancy.core.rosbridge import Session
from websocket_redundancy.core.settings import settings_from_dict

SETTINGS = settings_from_dict({
    'auth': {'roles': {'team': 'tok-team', 'viewer': 'tok-view'}},
    'limits': {'max_provided_services': 2, 'max_provided_calls': 2},
    'tiers': {'primary': {'services': ['/websocket_redundancy/**', '/ops/**']},
              'emergency': {'port': 8083, 'priority': 3}}})
FIB = 'example_interfaces/action/Fibonacci'


def session(tier='primary', role='team'):
    return Session(SETTINGS.tier(tier), SETTINGS.limits, SETTINGS.roles, role=role)


def send(s, frame, now=0.0):
    return s.receive(json.dumps(frame).encode(), False, now)


def advertise(s, action='/ops/fib', type_name='example_interfaces/Fibonacci'):
    return send(s, {'op': 'advertise_action', 'action': action, 'type': type_name})


def goal(s, handle, action='/ops/fib', args=None):
    """The graph goal ``handle`` reaches the client: its goal id."""
    [reply] = served.goal(s, action, {'order': 5} if args is None else args, handle)
    return reply.frame['id']


def result(s, goal_id, action='/ops/fib', values=..., status=4, ok=True, **extra):
    frame = {'op': 'action_result', 'action': action, 'id': goal_id, 'result': ok,
             'status': status, 'values': {'sequence': [0, 1, 1]} if values is ... else values}
    return send(s, {**frame, **extra})


def refused(commands):
    return [c.kind for c in commands if isinstance(c, Refused)]


def test_when_a_client_advertises_an_action_in_scope_the_tier_serves_it():
    s = session()
    assert advertise(s) == [AdvertiseAction('/ops/fib', FIB)]
    assert advertise(s, type_name=FIB) == []  # the same again: nothing new
    assert s.provider.actions == {'/ops/fib': FIB}


def test_a_graph_goal_becomes_send_action_goal_as_rosbridge_words_it():
    s = session()
    advertise(s)
    handle = object()
    assert served.goal(s, '/ops/fib', {'order': 5}, handle) == [Reply(
        {'op': 'send_action_goal', 'id': 'action_goal:/ops/fib:1', 'action': '/ops/fib',
         'action_type': FIB, 'args': {'order': 5}, 'feedback': True})]


def test_feedback_and_the_result_reach_the_goal_and_end_it():
    s = session()
    advertise(s)
    handle = object()
    goal_id = goal(s, handle)
    assert send(s, {'op': 'action_feedback', 'action': '/ops/fib', 'id': goal_id,
                    'values': {'sequence': [0, 1]}}) == [ServedFeedback(handle, {'sequence': [0, 1]})]
    assert result(s, goal_id) == [EndServedGoal(handle, 4, {'sequence': [0, 1, 1]})]
    assert s.provider.goals == {}
    assert refused(result(s, goal_id)) == ['bad_field']  # ended: a second result is refused


def test_a_graph_cancel_reaches_the_client_once_and_it_may_end_the_goal_canceled():
    s = session()
    advertise(s)
    handle = object()
    goal_id = goal(s, handle)
    assert served.cancel(s, handle) == [Reply({'op': 'cancel_action_goal', 'id': goal_id,
                                               'action': '/ops/fib'})]
    assert served.cancel(s, handle) == []
    assert result(s, goal_id, values={'sequence': []}, status=5) == [
        EndServedGoal(handle, 5, {'sequence': []})]
    assert served.cancel(s, handle) == []  # ended: nothing to cancel


@pytest.mark.parametrize('frame, reason', [
    ({'result': False, 'values': None},  # roslibjs's setFailed sends no values
     'the client providing /ops/fib reported a failure'),
    ({'result': False, 'values': 'jammed'},
     'the client providing /ops/fib reported a failure: jammed'),
    ({'status': 6}, ''),
    ({'status': 5}, 'the client providing /ops/fib ended a goal canceled that no one asked '
                    'to cancel'),
])
def test_results_other_than_success_end_the_goal_aborted(frame, reason):
    s = session()
    advertise(s)
    handle = object()
    commands = result(s, goal(s, handle), **frame)
    [end] = commands
    assert (end.goal, end.status, end.reason) == (handle, 6, reason)


@pytest.mark.parametrize('frame, problem', [
    ({'result': 'yes'}, "'result' must be true or false"),
    ({'status': 2}, "'status' must be 4 (succeeded), 5 (canceled) or 6 (aborted), got 2"),
    ({'status': True}, "'status' must be 4"),
    ({'values': 'done'}, "'values' must be an object"),
])
def test_a_malformed_result_for_a_goal_of_this_client_aborts_it_at_once(frame, problem):
    s = session()
    advertise(s)
    handle = object()
    commands = result(s, goal(s, handle), **frame)
    assert refused(commands) == ['bad_field'] and problem in commands[0].detail
    assert commands[-1].goal is handle and commands[-1].status == 6
    assert 'malformed action_result' in commands[-1].reason
    assert s.provider.goals == {}


def test_feedback_or_results_for_goals_that_are_not_this_clients_are_refused_and_change_nothing():
    s, other = session(), session()
    advertise(s)
    advertise(s, '/ops/dock')
    handle = object()
    goal_id = goal(s, handle)
    advertise(other)  # the same name on another connection (the shell refuses it later)
    for frame in (
        {'op': 'action_result', 'action': '/ops/fib', 'id': 'action_goal:/ops/fib:99',
         'result': True, 'status': 4, 'values': {}},  # unknown id
        {'op': 'action_result', 'action': '/ops/dock', 'id': goal_id, 'result': True,
         'status': 4, 'values': {}},  # a goal of another action
        {'op': 'action_feedback', 'action': '/ops/fib', 'values': {}},  # no id
        {'op': 'action_feedback', 'action': '/ops/nav', 'id': goal_id, 'values': {}},
        {'op': 'action_feedback', 'action': '/ops/fib', 'id': goal_id, 'values': [1]},
    ):
        assert refused(send(s, frame)) == ['bad_field'], frame
    assert refused(send(other, {'op': 'action_feedback', 'action': '/ops/fib',
                                'id': goal_id, 'values': {}})) == ['bad_field']
    assert list(s.provider.goals) == [goal_id]


def test_advertise_action_refusals_name_the_fix():
    cases = [
        (session(), {'action': 'ops/fib', 'type': FIB}, 'bad_field', 'not a valid ROS name'),
        (session(), {'action': '/ops/fib', 'type': 'Fibonacci'}, 'bad_field',
         'is not a ROS action type'),
        (session(), {'action': '/ops/fib'}, 'bad_field', "'type' must be a string"),
        (session(), {'action': '/map/fib', 'type': FIB}, 'scope',
         'add it to tiers.primary.services'),
        (session(), {'action': '/websocket_redundancy/fib', 'type': FIB}, 'scope',
         'provide it under another name'),
        (session(role='viewer'), {'action': '/ops/fib', 'type': FIB}, 'auth',
         "role 'viewer' may not provide /ops/fib"),
        (session(role=None), {'action': '/ops/fib', 'type': FIB}, 'auth',
         'an unauthenticated client may not provide'),
        (session('emergency'), {'action': '/ops/fib', 'type': FIB}, 'scope',
         "outside the emergency tier's service scope"),
    ]
    for s, frame, kind, text in cases:
        [command] = send(s, {'op': 'advertise_action', **frame})
        assert command.kind == kind and text in command.detail, (frame, command)
        assert s.provider.actions == {}


def test_one_type_per_name_and_a_bounded_number_of_actions():
    s = session()
    advertise(s)
    [command] = advertise(s, type_name='nav2_msgs/action/NavigateToPose')
    assert command.kind == 'conflict' and 'unadvertise_action it before' in command.detail
    advertise(s, '/ops/two')
    [command] = advertise(s, '/ops/three')
    assert command.kind == 'limit' and 'at most 2 actions' in command.detail
    assert list(s.provider.actions) == ['/ops/fib', '/ops/two']


def test_goals_share_the_budget_of_calls_waiting_for_the_client():
    s = session()
    advertise(s)
    send(s, {'op': 'advertise_service', 'service': '/ops/arm', 'type': 'std_srvs/SetBool'})
    goal(s, 'g1')
    assert len(provided.request(s, '/ops/arm', {}, 'c1', now=0.0)) == 1
    [end] = served.goal(s, '/ops/fib', {}, 'g2')
    assert end.status == 6 and 'already has 2 calls and goals waiting' in end.reason
    [answer] = provided.request(s, '/ops/arm', {}, 'c2', now=0.0)
    assert answer == AnswerCall('c2', False, 'the client providing /ops/arm already has 2 '
                                'calls and goals waiting for its answers; try again later')


def test_unadvertise_and_the_disconnect_end_goals_in_flight_aborted_at_once():
    s = session()
    advertise(s)
    advertise(s, '/ops/dock')
    goal(s, 'g1')
    goal(s, 'g2', '/ops/dock')
    assert send(s, {'op': 'unadvertise_action', 'action': '/ops/fib'}) == [
        EndServedGoal('g1', 6, {}, 'the client providing /ops/fib unadvertised it'),
        UnadvertiseAction('/ops/fib')]
    assert served.goal(s, '/ops/fib', {}, 'g3') == [
        EndServedGoal('g3', 6, {}, 'the client providing /ops/fib unadvertised it')]
    assert refused(send(s, {'op': 'unadvertise_action', 'action': '/ops/fib'})) == ['bad_field']
    assert s.closed() == [
        EndServedGoal('g2', 6, {}, 'the client providing /ops/dock disconnected'),
        UnadvertiseAction('/ops/dock')]
    assert s.provider.actions == {} and s.provider.goals == {}
    assert s.closed() == []


def test_a_refusal_by_the_shell_forgets_the_action():
    s = session()
    advertise(s)
    [command] = served.refuse_advertise(s, '/ops/fib', 'conflict', '/ops/fib is taken')
    assert command == Refused('conflict', 'advertise_action: /ops/fib is taken')
    assert s.provider.actions == {}
