"""rosapi's view of a real ROS 2 graph (collected only where ROS 2 is installed): the
nodes rclpy discovers and the message types rosidl describes, answered as rosapi
(rosapi 2.x on Jazzy and Humble) answers them. Waits are bounded executor spins."""
import time

import pytest

rclpy = pytest.importorskip('rclpy')
from rclpy.executors import SingleThreadedExecutor  # noqa: E402

from websocket_redundancy.core.rosapi import GraphView, answer  # noqa: E402
from websocket_redundancy.core.settings import settings_from_dict  # noqa: E402
from websocket_redundancy.graph.ros import RosGraph  # noqa: E402

SETTINGS = settings_from_dict({'tiers': {'primary': {}, 'emergency': {}}})


@pytest.fixture()
def graph():
    rclpy.init()
    rover, tier = rclpy.create_node('wr_rosapi_rover'), rclpy.create_node('wr_rosapi_tier')
    executor = SingleThreadedExecutor()
    executor.add_node(rover)
    executor.add_node(tier)
    ros_graph = RosGraph(tier)
    yield rover, ros_graph, executor
    ros_graph.close()
    executor.shutdown(timeout_sec=2)
    rover.destroy_node()
    tier.destroy_node()
    rclpy.try_shutdown()


def view(ros_graph):
    return GraphView({t: i.type_name for t, i in ros_graph.topics().items()},
                     ros_graph.services(), ros_graph.nodes(1.0).result(1.0),
                     ros_graph.message_fields)


def test_when_a_node_publishes_rosapi_names_it_and_its_topics_within_the_scope(graph):
    from geometry_msgs.msg import Twist
    from nav_msgs.msg import Odometry
    from sensor_msgs.msg import NavSatFix
    rover, ros_graph, executor = graph
    rover.create_publisher(Odometry, '/odom', 10)
    rover.create_publisher(NavSatFix, '/gps/fix', 10)
    rover.create_subscription(Twist, '/cmd_vel', lambda msg: None, 10)

    def discovered():
        rover_info = ros_graph.nodes(1.0).result(1.0).get('/wr_rosapi_rover')
        return rover_info is not None and '/cmd_vel' in rover_info.subscribing \
            and '/gps/fix' in rover_info.publishing
    deadline = time.monotonic() + 10
    while not discovered() and time.monotonic() < deadline:
        executor.spin_once(timeout_sec=0.05)
    assert discovered(), 'the rover node and its topics were not discovered within 10 s'
    primary, emergency = SETTINGS.tier('primary'), SETTINGS.tier('emergency')
    ok, topics = answer('/rosapi/topics', {}, primary, view(ros_graph))
    assert ok and {'/odom', '/gps/fix', '/cmd_vel'} <= set(topics['topics'])
    ok, details = answer('/rosapi/node_details', {'node': '/wr_rosapi_rover'}, emergency,
                         view(ros_graph))
    assert details == {'subscribing': [], 'publishing': ['/gps/fix'], 'services': []}
    ok, topics = answer('/rosapi/topics', {}, emergency, view(ros_graph))
    assert topics == {'topics': ['/gps/fix'], 'types': ['sensor_msgs/msg/NavSatFix']}


def test_when_message_details_are_asked_rosidl_describes_them_as_rosapi_does(graph):
    _, ros_graph, _ = graph
    ok, values = answer('/rosapi/message_details', {'type': 'nav_msgs/msg/Odometry'},
                        SETTINGS.tier('emergency'), view(ros_graph))
    by_type = {t['type']: t for t in values['typedefs']}
    assert list(by_type)[:3] == ['nav_msgs/Odometry', 'std_msgs/Header', 'builtin_interfaces/Time']
    assert by_type['geometry_msgs/PoseWithCovariance']['fieldarraylen'] == [-1, 36]
    assert by_type['geometry_msgs/Quaternion']['examples'] == ['0.0', '0.0', '0.0', '1.0']
    ok, values = answer('/rosapi/message_details', {'type': 'sensor_msgs/NavSatStatus'},
                        SETTINGS.tier('emergency'), view(ros_graph))
    [status] = values['typedefs']
    assert dict(zip(status['constnames'], status['constvalues'], strict=True))['STATUS_FIX'] == '0'
    ok, values = answer('/rosapi/service_response_details', {'type': 'std_srvs/srv/Trigger'},
                        SETTINGS.tier('emergency'), view(ros_graph))
    assert values['typedefs'][0]['fieldtypes'] == ['boolean', 'string']
