"""rosapi answered by the tier: rosapi's response dicts, cut to the tier's scope."""
import json

import pytest

from websocket_redundancy.core.rosapi import SERVICES, GraphView, NodeInfo, answer
from websocket_redundancy.core.settings import settings_from_dict
from websocket_redundancy.core.typedefs import FieldDef, MessageFields

SETTINGS = settings_from_dict({'tiers': {
    'primary': {'services': ['/websocket_redundancy/**', '/sim/**']},
    'secondary': {}, 'tertiary': {}, 'emergency': {}}})

ODOM, FIX, TWIST = 'nav_msgs/msg/Odometry', 'sensor_msgs/msg/NavSatFix', 'geometry_msgs/msg/Twist'
IMAGE, TRIGGER = 'sensor_msgs/msg/CompressedImage', 'std_srvs/srv/Trigger'
SECRET, LENS = 'rover_msgs/msg/Secret', 'rover_msgs/msg/Lens'  # custom, out of most scopes


def f(name, type_name, array_len=-1, default=''):
    return FieldDef(name, type_name, array_len, default)


TYPES = {t.type_name: t for t in (
    MessageFields(ODOM, (f('header', 'std_msgs/msg/Header'), f('child_frame_id', 'string'),
                         f('pose', 'geometry_msgs/msg/PoseWithCovariance')),
                  text='std_msgs/Header header\nstring child_frame_id\n'
                       'geometry_msgs/PoseWithCovariance pose\n'),
    MessageFields('std_msgs/msg/Header', (f('stamp', 'builtin_interfaces/msg/Time'),
                                          f('frame_id', 'string')),
                  text='builtin_interfaces/Time stamp\nstring frame_id\n'),
    MessageFields('builtin_interfaces/msg/Time', (f('sec', 'int32', default='0'),
                                                  f('nanosec', 'uint32', default='0')),
                  text='int32 sec\nuint32 nanosec\n'),
    MessageFields('geometry_msgs/msg/PoseWithCovariance',
                  (f('pose', 'geometry_msgs/msg/Point'), f('covariance', 'double', 36, '0.0')),
                  text='geometry_msgs/Point pose\nfloat64[36] covariance\n'),
    MessageFields('geometry_msgs/msg/Point', (f('x', 'double', default='0.0'),),
                  text='float64 x\n'),
    MessageFields('sensor_msgs/msg/NavSatStatus', (f('status', 'int8', default='0'),),
                  (('STATUS_NO_FIX', '-1'), ('STATUS_FIX', '0')),
                  text='int8 STATUS_NO_FIX=-1\nint8 STATUS_FIX=0\nint8 status\n'),
    MessageFields(FIX, (f('status', 'sensor_msgs/msg/NavSatStatus'),
                        f('latitude', 'double', default='0.0')), text=''),
    MessageFields(SECRET, (f('lens', LENS, 0), f('code', 'string'))),
    MessageFields(LENS, (f('focus', 'float', default='0.0'),)),
    MessageFields('std_srvs/srv/Trigger_Request', ()),
    MessageFields('std_srvs/srv/Trigger_Response', (f('success', 'boolean', default='False'),
                                                    f('message', 'string'))),
)}

NODES = {n.name: n for n in (
    NodeInfo('/sim', publishing={'/odom': ODOM, '/gps/fix': FIX, '/camera/front/image/compressed':
                                 IMAGE, '/camera/secret': SECRET, '/rosout': 'rcl_interfaces/msg/Log'},
             subscribing={'/cmd_vel': TWIST, '/emergency_stop': 'std_msgs/msg/Bool'},
             services={'/sim/reset': TRIGGER, '/sim/get_parameters':
                       'rcl_interfaces/srv/GetParameters'}),
    NodeInfo('/camera_driver', publishing={'/camera/front/image/compressed': IMAGE}),
    NodeInfo('/primary', publishing={'/websocket_redundancy/heartbeat/primary':
                                     'std_msgs/msg/String'},
             subscribing={'/odom': ODOM, '/gps/fix': FIX},
             services={'/websocket_redundancy/status': TRIGGER,
                       '/primary/get_state': 'lifecycle_msgs/srv/GetState'}),
    NodeInfo('/_ros2cli_daemon', subscribing={'/gps/fix': FIX}),
    NodeInfo('/navigator', publishing={'/navigate/_action/feedback': 'nav2_msgs/action/'
                                       'Navigate_FeedbackMessage',
                                       '/navigate/_action/status': 'action_msgs/msg/GoalStatusArray'}),
)}

VIEW = GraphView(
    topics={'/odom': ODOM, '/gps/fix': FIX, '/camera/front/image/compressed': IMAGE,
            '/camera/secret': SECRET, '/websocket_redundancy/heartbeat/primary':
            'std_msgs/msg/String', '/rosout': 'rcl_interfaces/msg/Log',
            '/navigate/_action/feedback': 'nav2_msgs/action/Navigate_FeedbackMessage',
            '/navigate/_action/status': 'action_msgs/msg/GoalStatusArray'},
    services={'/websocket_redundancy/status': TRIGGER, '/sim/reset': TRIGGER,
              '/primary/get_state': 'lifecycle_msgs/srv/GetState'},
    nodes=NODES, fields=TYPES.get, now=1700000000.25, distro='jazzy')

ROSAPI = sorted(SERVICES)


def ask(tier, rosapi_name, **args):
    ok, values = answer('/rosapi/' + rosapi_name, args, SETTINGS.tier(tier), VIEW)
    assert ok, values
    return values


@pytest.mark.parametrize('tier, service, args, expected', [
    ('primary', 'topics', {}, {
        'topics': ['/camera/front/image/compressed', '/camera/secret', '/cmd_vel',
                   '/emergency_stop', '/gps/fix', '/odom', '/rosout',
                   '/websocket_redundancy/heartbeat/primary'],
        'types': [IMAGE, SECRET, TWIST, 'std_msgs/msg/Bool', FIX, ODOM,
                  'rcl_interfaces/msg/Log', 'std_msgs/msg/String']}),
    ('emergency', 'topics', {}, {
        'topics': ['/emergency_stop', '/gps/fix', '/websocket_redundancy/heartbeat/primary'],
        'types': ['std_msgs/msg/Bool', FIX, 'std_msgs/msg/String']}),
    ('primary', 'topic_type', {'topic': '/odom'}, {'type': ODOM}),
    ('primary', 'topic_type', {'topic': '/nothing'}, {'type': ''}),
    ('emergency', 'topic_type', {'topic': '/odom'}, {'type': ''}),
    ('primary', 'topic_type', {'topic': '/cmd_vel'}, {'type': TWIST}),  # publish scope
    ('secondary', 'topic_type', {'topic': '/cmd_vel'}, {'type': ''}),
    ('primary', 'topics_for_type', {'type': IMAGE}, {'topics': ['/camera/front/image/compressed']}),
    ('tertiary', 'topics_for_type', {'type': IMAGE}, {'topics': []}),
    ('primary', 'services', {}, {'services': ROSAPI + [
        '/sim/get_parameters', '/sim/reset', '/websocket_redundancy/status']}),
    ('emergency', 'services', {}, {'services': ROSAPI + ['/websocket_redundancy/status']}),
    ('emergency', 'service_type', {'service': '/sim/reset'}, {'type': ''}),
    ('primary', 'service_type', {'service': '/sim/reset'}, {'type': TRIGGER}),
    ('emergency', 'service_type', {'service': '/rosapi/topics'}, {'type': 'rosapi_msgs/srv/Topics'}),
    ('emergency', 'services_for_type', {'type': TRIGGER},
     {'services': ['/websocket_redundancy/status']}),
    ('primary', 'nodes', {}, {'nodes': ['/camera_driver', '/navigator', '/primary', '/sim']}),
    ('emergency', 'nodes', {}, {'nodes': ['/primary', '/sim']}),
    ('emergency', 'node_details', {'node': '/sim'},
     {'subscribing': ['/emergency_stop'], 'publishing': ['/gps/fix'], 'services': []}),
    ('emergency', 'node_details', {'node': '/camera_driver'},
     {'subscribing': [], 'publishing': [], 'services': []}),
    ('primary', 'node_details', {'node': '/nobody'},
     {'subscribing': [], 'publishing': [], 'services': []}),
    ('primary', 'node_details', {'node': '/primary'},
     {'subscribing': ['/gps/fix', '/odom'],
      'publishing': ['/websocket_redundancy/heartbeat/primary'],
      'services': ['/websocket_redundancy/status']}),
    ('primary', 'publishers', {'topic': '/camera/front/image/compressed'},
     {'publishers': ['/camera_driver', '/sim']}),
    ('emergency', 'publishers', {'topic': '/camera/front/image/compressed'}, {'publishers': []}),
    ('emergency', 'subscribers', {'topic': '/gps/fix'}, {'subscribers': ['/primary']}),
    ('primary', 'service_node', {'service': '/sim/reset'}, {'node': '/sim'}),
    ('emergency', 'service_node', {'service': '/sim/reset'}, {'node': ''}),
    ('emergency', 'service_providers', {'service': TRIGGER}, {'providers': ['/primary']}),
    ('primary', 'action_servers', {}, {'action_servers': ['/navigate']}),
    ('emergency', 'action_servers', {}, {'action_servers': []}),
    ('primary', 'action_type', {'action': '/navigate'}, {'type': 'nav2_msgs/action/Navigate'}),
    ('emergency', 'interfaces', {}, {'interfaces': sorted(
        {'std_msgs/msg/Bool', FIX, 'std_msgs/msg/String', TRIGGER, *SERVICES.values()})}),
    ('primary', 'get_time', {}, {'time': {'sec': 1700000000, 'nanosec': 250000000}}),
    ('primary', 'get_ros_version', {}, {'version': 2, 'distro': 'jazzy'}),
    ('primary', 'get_param_names', {}, {'names': []}),
    ('primary', 'has_param', {'name': '/sim:rate'}, {'exists': False}),
    ('primary', 'get_param', {'name': '/sim:rate', 'default_value': '5'},
     {'value': '5', 'successful': False,
      'reason': "no parameter '/sim:rate' is visible through the primary tier"}),
    ('primary', 'get_param', {'name': '/sim:rate', 'default_value': 'not json'},
     {'value': '""', 'successful': False,
      'reason': "no parameter '/sim:rate' is visible through the primary tier"}),
    ('emergency', 'message_details', {'type': 'nope_msgs/Nope'}, {'typedefs': []}),
    ('emergency', 'message_details', {'type': SECRET}, {'typedefs': []}),
    ('emergency', 'message_details', {'type': LENS}, {'typedefs': []}),
    ('emergency', 'service_request_details', {'type': 'nope/srv/X'}, {'typedefs': []}),
])
def test_when_a_rosapi_service_is_called_it_answers_as_rosapi_within_the_scope(
        tier, service, args, expected):
    assert ask(tier, service, **args) == expected


def test_when_message_details_are_asked_every_nested_type_follows_depth_first():
    typedefs = ask('emergency', 'message_details', type='nav_msgs/Odometry')['typedefs']
    assert [t['type'] for t in typedefs] == [
        'nav_msgs/Odometry', 'std_msgs/Header', 'builtin_interfaces/Time',
        'geometry_msgs/PoseWithCovariance', 'geometry_msgs/Point']
    assert typedefs[0] == {
        'type': 'nav_msgs/Odometry', 'fieldnames': ['header', 'child_frame_id', 'pose'],
        'fieldtypes': ['std_msgs/Header', 'string', 'geometry_msgs/PoseWithCovariance'],
        'fieldarraylen': [-1, -1, -1], 'examples': ['{}', '', '{}'],
        'constnames': [], 'constvalues': []}
    assert typedefs[3]['fieldarraylen'] == [-1, 36] and typedefs[3]['examples'] == ['{}', '[]']


def test_when_a_type_has_constants_they_are_listed_by_name():
    [status] = ask('emergency', 'message_details', type='sensor_msgs/msg/NavSatStatus')['typedefs']
    assert status['constnames'] == ['STATUS_FIX', 'STATUS_NO_FIX']
    assert status['constvalues'] == ['0', '-1']


def test_when_a_custom_type_is_in_scope_it_and_its_nested_types_are_described():
    assert [t['type'] for t in ask('primary', 'message_details', type=SECRET)['typedefs']] \
        == ['rover_msgs/Secret', 'rover_msgs/Lens']
    assert ask('primary', 'message_details', type=LENS)['typedefs'][0]['fieldtypes'] == ['float']


def test_when_service_details_are_asked_the_request_and_response_are_described():
    assert ask('emergency', 'service_request_details', type='std_srvs/Trigger') == {
        'typedefs': [{'type': 'std_srvs/Trigger_Request', 'fieldnames': [], 'fieldtypes': [],
                      'fieldarraylen': [], 'examples': [], 'constnames': [],
                      'constvalues': []}]}
    [response] = ask('emergency', 'service_response_details', type=TRIGGER)['typedefs']
    assert response['fieldtypes'] == ['boolean', 'string']
    assert response['examples'] == ['False', '']


def test_when_raw_types_are_asked_each_topic_has_its_full_text_with_dependencies():
    values = ask('emergency', 'topics_and_raw_types')
    assert values['topics'] == ['/emergency_stop', '/gps/fix',
                                '/websocket_redundancy/heartbeat/primary']
    odom = ask('primary', 'topics_and_raw_types')['typedefs_full_text'][5]
    rule = '=' * 80
    assert odom == ('std_msgs/Header header\nstring child_frame_id\n'
                    'geometry_msgs/PoseWithCovariance pose\n'
                    f'\n{rule}\nMSG: geometry_msgs/PoseWithCovariance\n'
                    'geometry_msgs/Point pose\nfloat64[36] covariance\n'
                    f'\n{rule}\nMSG: geometry_msgs/Point\nfloat64 x\n'
                    f'\n{rule}\nMSG: std_msgs/Header\n'
                    'builtin_interfaces/Time stamp\nstring frame_id\n'
                    f'\n{rule}\nMSG: builtin_interfaces/Time\nint32 sec\nuint32 nanosec\n')
    assert values['typedefs_full_text'][1].startswith('# failed to get full definition text '
                                                      'for sensor_msgs/NavSatFix')


@pytest.mark.parametrize('service', ['set_param', 'delete_param'])
@pytest.mark.parametrize('tier', ['primary', 'emergency'])
def test_when_a_client_would_change_a_parameter_the_call_fails_with_a_reason(tier, service):
    ok, text = answer(f'/rosapi/{service}', {'name': '/sim:rate', 'value': '1'},
                      SETTINGS.tier(tier), VIEW)
    assert ok is False
    assert text == (f'/rosapi/{service} is refused: the {tier} tier does not change parameters; '
                    'set them on the node itself (ros2 param set/delete)')


@pytest.mark.parametrize('service, args, says', [
    ('/rosapi/no_such', {}, '/rosapi/no_such is not a rosapi service this tier answers'),
    ('/rosapi/topic_type', {'topic': 5}, "/rosapi/topic_type: 'topic' must be a string, got 5"),
])
def test_when_a_call_cannot_be_answered_it_fails_with_one_sentence(service, args, says):
    ok, text = answer(service, args, SETTINGS.tier('primary'), VIEW)
    assert ok is False and text.startswith(says)


NAMES = sorted({*VIEW.topics, *VIEW.services, *NODES, '/cmd_vel', SECRET, LENS, IMAGE,
                'rover_msgs/Secret', '/navigate'})
ARGS = ('topic', 'type', 'service', 'node', 'action', 'name')


def test_the_emergency_tier_never_names_what_is_outside_its_scope():
    """When every rosapi service is asked about every name, no answer of the emergency
    tier contains /cmd_vel, a camera topic, the custom types or out-of-scope nodes."""
    said = []
    for service in SERVICES:
        for name in NAMES:
            ok, values = answer(service, {arg: name for arg in ARGS},
                                SETTINGS.tier('emergency'), VIEW)
            said.append(json.dumps(values))
    text = '\n'.join(said).replace('no parameter', '')
    text = '\n'.join(line for line in text.splitlines() if 'is visible through' not in line)
    for secret in ('/cmd_vel', '/camera', 'rover_msgs', '/camera_driver', '/navigate',
                   '/sim/reset', '/primary/get_state', '/odom', '/rosout'):
        assert secret not in text, secret
