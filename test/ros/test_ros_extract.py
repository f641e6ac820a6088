"""The compiled conversion (graph/ros_extract.py) gives rosbridge_library's
``extract_values`` output, value for value, on messages of the types a rover's tiers
carry, with the awkward values in them (NaN and infinities, bytes, fixed and unbounded
arrays, nested sequences, Time). Collected only where ROS 2 is installed."""
import array
import json
import math

import pytest

pytest.importorskip('rclpy')
mc = pytest.importorskip('rosbridge_library.internal.message_conversion')

from websocket_redundancy.graph.ros_convert import conversion, to_rosbridge  # noqa: E402

conversion()  # configures message_conversion as the tier does (base64 for uint8[])

NAN, INF = math.nan, math.inf


def messages():
    from builtin_interfaces.msg import Duration, Time
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
    from geometry_msgs.msg import PoseWithCovariance, Twist, TwistStamped
    from nav_msgs.msg import Odometry
    from sensor_msgs.msg import (
        BatteryState,
        CompressedImage,
        Image,
        Imu,
        JointState,
        NavSatFix,
        PointCloud2,
        PointField,
    )
    from std_msgs.msg import (
        Bool,
        Byte,
        Char,
        Float32MultiArray,
        Float64,
        Header,
        Int64,
        MultiArrayDimension,
        String,
        UInt8MultiArray,
    )

    odom = Odometry()
    odom.header.stamp = Time(sec=1_700_000_000, nanosec=5)
    odom.header.frame_id = 'odom'
    odom.pose.pose.position.x = 1.5
    odom.pose.covariance[0] = NAN
    odom.pose.covariance[7] = INF
    odom.twist.twist.angular.z = -INF
    imu = Imu(orientation_covariance=[-1.0] + [0.0] * 8)
    imu.linear_acceleration.z = 9.81
    fix = NavSatFix(latitude=38.406, longitude=-110.792, altitude=NAN)
    battery = BatteryState(voltage=24.2, percentage=0.5, temperature=NAN,
                           cell_voltage=[3.9, NAN, -INF], location='rear', serial_number='x')
    image = CompressedImage(format='jpeg', data=bytes(range(256)) * 3)
    raw = Image(height=2, width=3, encoding='mono8', step=3, data=bytes(range(6)))
    joints = JointState(name=['a', 'b'], position=[0.1, NAN], velocity=[], effort=[INF])
    cloud = PointCloud2(height=1, width=2, fields=[PointField(name='x', offset=0,
                                                              datatype=7, count=1)],
                        point_step=4, row_step=8, data=bytes(8), is_dense=True)
    diag = DiagnosticArray(status=[DiagnosticStatus(level=b'\x01', name='wheel',
                                                    message='warm', hardware_id='m1',
                                                    values=[KeyValue(key='t', value='71')])])
    floats = Float32MultiArray(data=[1.0, NAN, 2.5])
    floats.layout.dim = [MultiArrayDimension(label='x', size=3, stride=3)]
    u8 = UInt8MultiArray(data=array.array('B', [0, 255, 7]))
    return [
        String(data='pause'), String(data=''), Bool(data=True), Byte(data=b'\x7f'),
        Char(data=200), Int64(data=-(2**62)), Float64(data=NAN), Float64(data=-0.0),
        Header(frame_id='base'), Time(sec=3, nanosec=4), Duration(sec=-1, nanosec=5),
        Twist(), TwistStamped(), PoseWithCovariance(), odom, imu, fix, battery, image,
        raw, joints, cloud, diag, floats, u8, UInt8MultiArray(), Float32MultiArray(),
    ]


@pytest.mark.parametrize('msg', messages(), ids=lambda m: type(m).__name__)
def test_the_compiled_conversion_equals_extract_values(msg):
    want = mc.extract_values(msg)
    got = to_rosbridge(msg)
    assert json.dumps(got) == json.dumps(want)
    assert json.dumps(to_rosbridge(msg)) == json.dumps(want)  # the compiled plan, again
