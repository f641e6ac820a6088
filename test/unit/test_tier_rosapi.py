"""rosapi answered by the tier service itself, over an in-memory graph."""
import json

from websocket_redundancy.core.rosapi import NodeInfo
from websocket_redundancy.core.settings import settings_from_dict
from websocket_redundancy.core.typedefs import FieldDef, MessageFields
from websocket_redundancy.graph.memory import MemoryGraph
from websocket_redundancy.tier.service import TierService

from .test_tier_service import FakeProto, ImmediateReactor


def world():
    settings = settings_from_dict({'auth': {'roles': {'team': 'T'}}})
    camera = NodeInfo('/camera_driver', publishing={'/camera/front/image/compressed':
                                                    'sensor_msgs/msg/CompressedImage'})
    types = {'std_msgs/msg/Bool': MessageFields('std_msgs/msg/Bool', (
        FieldDef('data', 'boolean', -1, 'False'),), text='bool data\n')}
    graph = MemoryGraph(name='sim', others={camera.name: camera}, types=types)
    for topic, type_name in (('/gps/fix', 'sensor_msgs/msg/NavSatFix'),
                             ('/emergency_stop', 'std_msgs/msg/Bool'),
                             ('/cmd_vel', 'geometry_msgs/msg/Twist')):
        graph.advertise(topic, type_name)
    tiers = {name: TierService(settings, name, graph, ImmediateReactor())
             for name in ('primary', 'emergency')}
    return graph, tiers


def call(tier, service, args=None, token=None):
    proto = FakeProto('c')
    assert tier.admit(proto, token) == ''
    tier.receive(proto, json.dumps({'op': 'call_service', 'id': 'q', 'service': service,
                                    'type': 'rosapi/X', 'args': args or {}}).encode(), False)
    [reply] = proto.control
    assert reply['op'] == 'service_response' and reply['id'] == 'q'
    return reply


def test_when_a_client_asks_for_topics_the_tier_answers_within_its_scope():
    graph, tiers = world()
    seen = []
    graph.serve('/rosapi/topics', 'rosapi_msgs/srv/Topics', lambda r: seen.append(r) or {})
    reply = call(tiers['emergency'], '/rosapi/topics')
    assert reply['result'] is True and seen == []  # answered by the tier, not the graph
    assert reply['values'] == {'topics': ['/emergency_stop', '/gps/fix'],
                               'types': ['std_msgs/msg/Bool', 'sensor_msgs/msg/NavSatFix']}
    assert '/cmd_vel' in call(tiers['primary'], '/rosapi/topics')['values']['topics']


def test_nodes_and_message_details_come_from_the_graph():
    _, tiers = world()
    assert call(tiers['primary'], '/rosapi/nodes')['values'] == {
        'nodes': ['/camera_driver', '/sim']}
    assert call(tiers['emergency'], '/rosapi/nodes')['values'] == {'nodes': ['/sim']}
    [typedef] = call(tiers['emergency'], '/rosapi/message_details',
                     {'type': 'std_msgs/Bool'})['values']['typedefs']
    assert typedef['type'] == 'std_msgs/Bool' and typedef['fieldtypes'] == ['boolean']


def test_when_a_client_sets_a_parameter_it_gets_a_failed_response_even_with_a_role():
    _, tiers = world()
    reply = call(tiers['primary'], '/rosapi/set_param', {'name': '/sim:rate', 'value': '1'},
                 token='T')
    assert reply['result'] is False
    assert reply['values'].startswith('/rosapi/set_param is refused')
