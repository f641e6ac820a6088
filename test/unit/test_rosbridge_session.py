"""The rosbridge v2 session: frames in, commands out; bad input never raises."""
import json

import pytest

from websocket_redundancy.core.commands import (
    Advertise,
    CallService,
    Close,
    Publish,
    Refused,
    Reply,
    Subscribe,
    Unadvertise,
    Unsubscribe,
)
from websocket_redundancy.core.rosbridge import Session, normalize_type, role_for_token
from websocket_redundancy.core.settings import settings_from_dict

SETTINGS = settings_from_dict({'auth': {'roles': {'team': 'tok-team', 'viewer': 'tok-view'}},
                               'limits': {'max_frame_bytes': 1000, 'max_ops_per_s': 10,
                                          'max_subscriptions': 3}})


def session(tier='primary', role=None):
    return Session(SETTINGS.tier(tier), SETTINGS.limits, SETTINGS.roles, role=role)


def send(s, frame, now=0.0):
    text = frame if isinstance(frame, str) else json.dumps(frame)
    return s.receive(text.encode(), False, now)


def test_when_a_client_subscribes_the_tier_subscribes_once():
    s = session()
    assert send(s, {'op': 'subscribe', 'topic': '/odom', 'type': 'nav_msgs/Odometry',
                    'id': 'a'}) == [Subscribe('/odom', 'nav_msgs/msg/Odometry')]
    assert send(s, {'op': 'subscribe', 'topic': '/odom', 'id': 'b'}) == []
    assert send(s, {'op': 'unsubscribe', 'topic': '/odom', 'id': 'a'}) == []
    assert send(s, {'op': 'unsubscribe', 'topic': '/odom', 'id': 'b'}) == [Unsubscribe('/odom')]


def test_when_a_subscribe_carries_resume_it_is_passed_on():
    s = session()
    assert send(s, {'op': 'subscribe', 'topic': '/odom', 'resume': {'epoch': 'e1', 'seq': 41}}) \
        == [Subscribe('/odom', None, ('e1', 41))]
    assert send(s, {'op': 'subscribe', 'topic': '/odom', 'resume': {
        'epoch': 'e1', 'seq': 42, 'streams': {'e1': 42, 'judge': 3}}}) \
        == [Subscribe('/odom', None, ('e1', 42), (('e1', 42), ('judge', 3)))]


def test_when_a_topic_is_outside_the_scope_the_subscribe_is_refused():
    s = session('emergency')
    [refused] = send(s, {'op': 'subscribe', 'topic': '/odom'})
    assert refused.kind == 'scope' and '/odom is outside the emergency tier' in refused.detail
    assert s.subscriptions == {}


def test_when_the_client_asked_for_status_it_gets_the_error_as_a_status_op():
    s = session('emergency')
    assert send(s, {'op': 'set_level', 'level': 'error'}) == []
    refused, reply = send(s, {'op': 'subscribe', 'topic': '/odom', 'id': 'x'})
    assert reply == Reply({'op': 'status', 'level': 'error', 'msg': refused.detail, 'id': 'x'})


def test_publish_needs_scope_and_role():
    anonymous = session()
    [refused] = send(anonymous, {'op': 'publish', 'topic': '/cmd_vel', 'msg': {}})
    assert refused.kind == 'auth' and 'unauthenticated' in refused.detail
    team = session(role='team')
    assert send(team, {'op': 'advertise', 'topic': '/cmd_vel', 'type': 'geometry_msgs/Twist'}) \
        == [Advertise('/cmd_vel', 'geometry_msgs/msg/Twist')]
    assert send(team, {'op': 'publish', 'topic': '/cmd_vel', 'msg': {'linear': {'x': 1.0}}}) \
        == [Publish('/cmd_vel', 'geometry_msgs/msg/Twist', {'linear': {'x': 1.0}})]
    [refused] = send(session('emergency', role='team'),
                     {'op': 'publish', 'topic': '/cmd_vel', 'msg': {}})
    assert refused.kind == 'scope'


def test_auth_op_sets_the_role_and_a_wrong_token_is_refused():
    s = session()
    [refused] = send(s, {'op': 'auth', 'mac': 'nope'})
    assert refused.kind == 'auth' and s.role is None
    assert send(s, {'op': 'auth', 'mac': 'tok-team'}) == [] and s.role == 'team'


def test_role_for_token():
    roles = {'team': 'a', 'judge': 'b', 'viewer': ''}
    assert role_for_token('a', roles) == 'team'
    assert role_for_token('', roles) is None
    assert role_for_token('c', roles) is None


def test_call_service_in_scope_and_out_of_scope():
    s = session()
    assert send(s, {'op': 'call_service', 'service': '/websocket_redundancy/status', 'id': 7}) \
        == [CallService(7, '/websocket_redundancy/status', None, {})]
    refused, reply = send(s, {'op': 'call_service', 'service': '/reboot', 'id': 'r'})
    assert refused.kind == 'scope'
    assert reply.frame['op'] == 'service_response' and reply.frame['result'] is False
    assert reply.frame['id'] == 'r'


@pytest.mark.parametrize('frame, kind', [
    ('{not json', 'malformed'),
    ('[1, 2]', 'malformed'),
    ('"text"', 'malformed'),
    ({'op': 'explode'}, 'unknown_op'),
    ({'no_op': True}, 'unknown_op'),
    ({'op': 'subscribe'}, 'bad_field'),
    ({'op': 'subscribe', 'topic': 5}, 'bad_field'),
    ({'op': 'subscribe', 'topic': 'odom'}, 'bad_field'),
    ({'op': 'subscribe', 'topic': '/odom', 'type': 'not a type'}, 'bad_field'),
    ({'op': 'subscribe', 'topic': '/odom', 'throttle_rate': 'fast'}, 'bad_field'),
    ({'op': 'subscribe', 'topic': '/odom', 'resume': {'epoch': 1}}, 'bad_field'),
    ({'op': 'subscribe', 'topic': '/odom', 'resume': {'epoch': 'e', 'seq': 1,
                                                      'streams': {'x': 'y'}}}, 'bad_field'),
    ({'op': 'publish', 'topic': '/cmd_vel', 'msg': 'go'}, 'bad_field'),
    ({'op': 'subscribe', 'topic': '/odom', 'id': ['x']}, 'bad_field'),
    ({'op': 'set_level', 'level': 'loud'}, 'bad_field'),
])
def test_bad_frames_are_refused_with_a_reason(frame, kind):
    s = session(role='team')
    commands = send(s, frame)
    assert isinstance(commands[0], Refused) and commands[0].kind == kind, commands
    assert commands[0].detail


def test_invalid_utf8_and_binary_frames_are_refused():
    s = session()
    assert s.receive(b'\xff\xfe{', False, 0.0)[0].kind == 'malformed'
    assert s.receive(b'\x00\x01', True, 0.0)[0].kind == 'binary'


def test_an_oversized_frame_closes_with_1009():
    s = session()
    refused, close = s.receive(b'{' + b' ' * 2000 + b'}', False, 0.0)
    assert refused.kind == 'limit' and close == Close(1009, 'frame too large')


def test_when_a_client_floods_ops_it_is_refused_until_the_bucket_refills():
    s = session()
    results = [send(s, {'op': 'set_level', 'level': 'none'}, now=0.0) for _ in range(25)]
    assert results[:20] == [[]] * 20
    assert results[20][0].kind == 'limit'
    assert send(s, {'op': 'set_level', 'level': 'none'}, now=1.0) == []


def test_subscription_count_is_limited():
    s = session()
    for topic in ('/a', '/b', '/c'):
        assert send(s, {'op': 'subscribe', 'topic': topic}) == [Subscribe(topic, None)]
    assert send(s, {'op': 'subscribe', 'topic': '/d'})[0].kind == 'limit'


def test_throttle_rate_limits_what_the_client_takes():
    s = session()
    send(s, {'op': 'subscribe', 'topic': '/imu', 'throttle_rate': 100})
    taken = [s.wants('/imu', t / 100) for t in range(0, 50)]  # 100 Hz for 0.5 s
    assert taken.count(True) == 5
    assert not s.wants('/other', 0.0)


def test_when_the_connection_closes_everything_is_released():
    s = session(role='team')
    send(s, {'op': 'subscribe', 'topic': '/odom'})
    send(s, {'op': 'advertise', 'topic': '/cmd_vel', 'type': 'geometry_msgs/msg/Twist'})
    assert s.closed() == [Unsubscribe('/odom'), Unadvertise('/cmd_vel')]
    assert s.closed() == []


@pytest.mark.parametrize('raw, kind, expected', [
    ('nav_msgs/Odometry', 'msg', 'nav_msgs/msg/Odometry'),
    ('nav_msgs/msg/Odometry', 'msg', 'nav_msgs/msg/Odometry'),
    ('std_srvs/Trigger', 'srv', 'std_srvs/srv/Trigger'),
    ('Odometry', 'msg', None),
    ('a/b/c/d', 'msg', None),
])
def test_normalize_type(raw, kind, expected):
    assert normalize_type(raw, kind) == expected


def test_services_beyond_the_control_namespace_need_a_role():
    open_settings = settings_from_dict({'auth': {'roles': {'team': 'T'}},
                                        'tiers': {'primary': {'services': ['**']}}})
    tier = open_settings.tier('primary')
    anonymous = Session(tier, open_settings.limits, open_settings.roles)
    refused, reply = send(anonymous, {'op': 'call_service', 'service': '/rover/reboot', 'id': 1})
    assert refused.kind == 'auth' and reply.frame['result'] is False
    team = Session(tier, open_settings.limits, open_settings.roles, role='team')
    assert send(team, {'op': 'call_service', 'service': '/rover/reboot'}) == [
        CallService(None, '/rover/reboot', None, {})]
    assert send(anonymous, {'op': 'call_service', 'service': '/websocket_redundancy/status'}) \
        == [CallService(None, '/websocket_redundancy/status', None, {})]


@pytest.mark.parametrize('extra, why', [
    ({'id': ['x']}, "'id' must be a string"),
    ({'id': 'c1', 'fragment_size': -1}, "'fragment_size' must be a positive number"),
])
def test_a_refused_call_service_is_still_answered_with_a_failed_response(extra, why):
    """When a call_service is refused before it is read as a call, the standard client
    still gets the failed service_response it waits for (never a hang)."""
    s = session()
    refused, reply = send(s, {'op': 'call_service', 'service': '/websocket_redundancy/status',
                              **extra})
    assert isinstance(refused, Refused) and why in refused.detail
    assert reply.frame['op'] == 'service_response' and reply.frame['result'] is False
    assert why in reply.frame['values'] and reply.frame['service'] == '/websocket_redundancy/status'
    assert reply.frame.get('id') == (extra['id'] if isinstance(extra['id'], str) else None)


def test_a_call_service_over_the_rate_limit_gets_a_failed_response():
    s = session()
    call = {'op': 'call_service', 'service': '/websocket_redundancy/status', 'id': 'c'}
    results = [send(s, call, now=0.0) for _ in range(21)]
    assert all(len(r) == 1 and type(r[0]) is CallService for r in results[:20])
    refused, reply = results[20]
    assert refused.kind == 'limit'
    assert reply.frame == {'op': 'service_response', 'service': '/websocket_redundancy/status',
                           'values': refused.detail, 'result': False, 'id': 'c'}


def test_a_refused_call_with_set_level_gets_both_the_status_and_the_response():
    s = session()
    send(s, {'op': 'set_level', 'level': 'error'})
    commands = send(s, {'op': 'call_service', 'service': '/x', 'id': ['bad']})
    assert [c.frame['op'] for c in commands if type(c) is Reply] == ['status', 'service_response']


def test_when_a_client_calls_rosapi_any_tier_takes_it_without_a_role():
    """rosapi is reading: outside every services scope, no publish role needed."""
    s = session('emergency')
    assert send(s, {'op': 'call_service', 'service': '/rosapi/topics', 'id': 'r',
                    'type': 'rosapi/Topics'}) == [
        CallService('r', '/rosapi/topics', 'rosapi/srv/Topics', {}, 5.0)]


def test_when_reading_needs_a_token_rosapi_needs_it_too():
    settings = settings_from_dict({'auth': {'roles': {'team': 't', 'viewer': 'v'}},
                                   'tiers': {'primary': {'read_roles': ['viewer']}}})
    s = Session(settings.tier('primary'), settings.limits, settings.roles)
    [refused, reply] = send(s, {'op': 'call_service', 'service': '/rosapi/topics', 'id': 1})
    assert refused.kind == 'auth'
    assert reply.frame['result'] is False and 'viewer' in reply.frame['values']
    s.role = 'viewer'
    assert [type(c) for c in send(s, {'op': 'call_service', 'service': '/rosapi/nodes'})] \
        == [CallService]


def test_a_send_action_goal_with_a_bad_id_gets_a_failed_action_result():
    """When a goal is refused before it is read as a goal, roslibpy/roslibjs still get
    the failed action_result they wait for."""
    s = session()
    refused, reply = send(s, {'op': 'send_action_goal', 'action': '/navigate_to_pose',
                              'action_type': 'nav2_msgs/action/NavigateToPose', 'id': [1]})
    assert refused.kind == 'bad_field'
    assert reply.frame['op'] == 'action_result' and reply.frame['result'] is False
    assert reply.frame['action'] == '/navigate_to_pose' and "'id'" in reply.frame['values']


def test_a_relative_service_name_is_resolved_from_the_root_as_rosbridge_does():
    """roslibjs 2.x calls rosapi as 'rosapi/topics'; rosbridge resolves it to /rosapi/topics."""
    s = session()
    assert send(s, {'op': 'call_service', 'service': 'rosapi/topics', 'id': 'r'}) == [
        CallService('r', '/rosapi/topics', None, {}, 5.0)]
    refused, reply = send(s, {'op': 'call_service', 'service': 'bad name', 'id': 'b'})
    assert refused.kind == 'bad_field' and reply.frame['result'] is False
