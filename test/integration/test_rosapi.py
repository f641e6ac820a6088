"""rosapi from roslibpy against the tiers `up` runs on the embedded graph: every tier
answers, and each names only what its scope allows."""
from __future__ import annotations

from needs import needs

needs('zenoh', 'rosbags', 'roslibpy')

import threading

import pytest
import roslibpy

from .harness import wait_for

pytestmark = pytest.mark.integration
SIM_TOPICS = {'/odom', '/imu/data', '/gps/fix', '/battery_state', '/emergency_stop',
              '/rover/state', '/mission/state', '/diagnostics', '/camera/front/image/compressed'}


@pytest.fixture
def connect():
    opened = []

    def make(port: int) -> roslibpy.Ros:
        ros = roslibpy.Ros('127.0.0.1', port)
        ros.run(timeout=10)
        opened.append(ros)
        return ros
    yield make
    for ros in opened:
        ros.close()


def answer(method, *args, timeout: float = 10.0):
    """roslibpy's callback form of a rosapi call, with a deadline (``get_nodes`` has
    none of its own)."""
    done, box = threading.Event(), {}
    method(*args, callback=lambda result: (box.update(ok=result), done.set()),
           errback=lambda error: (box.update(error=error), done.set()))
    assert done.wait(timeout), f'no answer to {method.__name__}{args} within {timeout:g} s'
    assert 'error' not in box, box['error']
    return box['ok']


def test_the_primary_answers_roslibpys_rosapi_calls(system, connect):
    ros = connect(system['primary'])
    topics = wait_for(lambda: SIM_TOPICS <= set(ros.get_topics()) and ros.get_topics(), 20,
                      'the simulator topics in /rosapi/topics on the primary')
    assert '/cmd_vel' in topics  # the simulator subscribes it; the primary may publish it
    assert ros.get_topic_type('/odom') == 'nav_msgs/msg/Odometry'
    assert ros.get_topic_type('/no/such/topic') == ''
    services = ros.get_services()
    assert '/websocket_redundancy/status' in services and '/rosapi/topics' in services
    nodes = answer(ros.get_nodes)['nodes']
    assert {'/sim', '/primary', '/emergency'} <= set(nodes)
    details = answer(ros.get_node_details, '/sim')
    assert '/odom' in details['publishing'] and '/cmd_vel' in details['subscribing']
    typedefs = ros.get_message_details('nav_msgs/msg/Odometry')['typedefs']
    assert typedefs[0]['type'] == 'nav_msgs/Odometry'
    assert typedefs[0]['fieldnames'] == ['header', 'child_frame_id', 'pose', 'twist']
    assert {'std_msgs/Header', 'geometry_msgs/PoseWithCovariance',
            'geometry_msgs/Vector3'} <= {t['type'] for t in typedefs}


def test_the_emergency_tier_names_only_what_its_scope_allows(system, connect):
    ros = connect(system['emergency'])
    topics = wait_for(lambda: {'/gps/fix', '/battery_state'} <= set(ros.get_topics())
                      and ros.get_topics(), 20, '/gps/fix in /rosapi/topics on emergency')
    assert not [t for t in topics if t.startswith(('/cmd_vel', '/camera', '/odom', '/imu'))]
    assert ros.get_topic_type('/odom') == ''
    assert ros.get_topic_type('/cmd_vel') == ''
    assert ros.get_topics_for_type('sensor_msgs/msg/CompressedImage') == []
    details = answer(ros.get_node_details, '/sim')
    assert details['publishing'] and set(details['publishing']) <= {
        '/gps/fix', '/battery_state', '/emergency_stop'}
    assert not [s for s in ros.get_services() if s.startswith('/primary/')]
    # standard types are described on any tier; the answer names no topic
    assert ros.get_message_details('nav_msgs/Odometry')['typedefs'][0]['type'] \
        == 'nav_msgs/Odometry'


def test_setting_a_parameter_through_a_tier_fails_with_a_reason(system, connect):
    ros = connect(system['primary'])
    done, box = threading.Event(), {}
    roslibpy.Service(ros, '/rosapi/set_param', 'rosapi/SetParam').call(
        roslibpy.ServiceRequest({'name': '/sim:rate', 'value': '1'}),
        callback=lambda r: (box.update(ok=r), done.set()),
        errback=lambda e: (box.update(error=e), done.set()))
    assert done.wait(10), 'no answer to /rosapi/set_param'
    assert 'refused' in str(box.get('error')), box
