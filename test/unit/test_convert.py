"""rosbags objects <-> rosbridge dicts: round trips through CDR and clear errors."""
from __future__ import annotations

from needs import needs

needs('rosbags')

import base64
import math

import pytest
from rosbags.typesys import Stores, get_types_from_msg, get_typestore

from websocket_redundancy.graph.embedded.convert import from_rosbridge, to_rosbridge
from websocket_redundancy.graph.port import GraphError


@pytest.fixture(scope="module")
def typestore():
    return get_typestore(Stores.ROS2_HUMBLE)


HEADER = {"stamp": {"sec": 1700000000, "nanosec": 250000000}, "frame_id": "base_link"}

MESSAGES = {
    "nav_msgs/msg/Odometry": {
        "header": HEADER,
        "child_frame_id": "base_footprint",
        "pose": {
            "pose": {
                "position": {"x": 1.5, "y": -2.25, "z": 0.0},
                "orientation": {"x": 0.0, "y": 0.0, "z": 0.3826834, "w": 0.9238795},
            },
            "covariance": [0.01 * i for i in range(36)],
        },
        "twist": {
            "twist": {"linear": {"x": 0.5, "y": 0.0, "z": 0.0},
                      "angular": {"x": 0.0, "y": 0.0, "z": 0.1}},
            "covariance": [0.0] * 36,
        },
    },
    "sensor_msgs/msg/Imu": {
        "header": HEADER,
        "orientation": {"x": 0.0, "y": 0.0, "z": 0.0, "w": 1.0},
        "orientation_covariance": [-1.0] + [0.0] * 8,
        "angular_velocity": {"x": 0.01, "y": 0.02, "z": 0.03},
        "angular_velocity_covariance": [0.0] * 9,
        "linear_acceleration": {"x": 0.0, "y": 0.0, "z": 9.81},
        "linear_acceleration_covariance": [0.0] * 9,
    },
    "sensor_msgs/msg/NavSatFix": {
        "header": HEADER,
        "status": {"status": 0, "service": 1},
        "latitude": 38.406,
        "longitude": -110.792,
        "altitude": 1350.5,
        "position_covariance": [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 4.0],
        "position_covariance_type": 2,
    },
    "sensor_msgs/msg/BatteryState": {
        "header": HEADER,
        "voltage": 24.5, "temperature": 31.0, "current": -3.5, "charge": 40.0,
        "capacity": 50.0, "design_capacity": 52.0, "percentage": 0.75,
        "power_supply_status": 2, "power_supply_health": 1, "power_supply_technology": 2,
        "present": True, "cell_voltage": [4.0, 4.25], "cell_temperature": [30.5, 31.5],
        "location": "chassis", "serial_number": "B-0042",
    },
    "sensor_msgs/msg/CompressedImage": {
        "header": HEADER,
        "format": "jpeg",
        "data": base64.b64encode(bytes(range(256)) * 200).decode("ascii"),
    },
    "std_msgs/msg/Bool": {"data": True},
    "std_msgs/msg/String": {"data": '{"mode": "auto", "nav": "driving"} — ünïcode'},
    "diagnostic_msgs/msg/DiagnosticArray": {
        "header": HEADER,
        "status": [
            {"level": 0, "name": "primary", "message": "OK", "hardware_id": "tier0",
             "values": [{"key": "clients", "value": "3"}]},
            {"level": 2, "name": "secondary", "message": "DOWN", "hardware_id": "",
             "values": []},
        ],
    },
    "geometry_msgs/msg/Twist": {
        "linear": {"x": 0.5, "y": 0.0, "z": 0.0},
        "angular": {"x": 0.0, "y": 0.0, "z": -0.25},
    },
}


def _through_cdr(typestore, type_name, data):
    msg = from_rosbridge(typestore, type_name, data)
    raw = typestore.serialize_cdr(msg, type_name, little_endian=True)
    return to_rosbridge(typestore.deserialize_cdr(raw, type_name))


@pytest.mark.parametrize("type_name", sorted(MESSAGES))
def test_round_trip_through_cdr(typestore, type_name):
    """When a rosbridge dict goes to CDR and back, the same dict comes out."""
    data = _copy(MESSAGES[type_name])
    out = _through_cdr(typestore, type_name, data)
    assert _approx(out) == _approx(data)


def _copy(value):
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _approx(value):
    """float32 fields lose precision; compare floats to 6 significant digits."""
    if isinstance(value, dict):
        return {k: _approx(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_approx(v) for v in value]
    if isinstance(value, float):
        return float(f"{value:.6g}")
    return value


def test_missing_fields_take_defaults(typestore):
    """When fields are missing, they take zero values and fixed arrays are filled."""
    out = to_rosbridge(from_rosbridge(typestore, "nav_msgs/msg/Odometry", {}))
    assert out["header"] == {"stamp": {"sec": 0, "nanosec": 0}, "frame_id": ""}
    assert out["pose"]["covariance"] == [0.0] * 36
    assert out["child_frame_id"] == ""
    assert to_rosbridge(from_rosbridge(typestore, "sensor_msgs/msg/CompressedImage", {}))[
        "data"
    ] == ""


def test_uint8_array_is_base64_and_accepts_int_lists(typestore):
    """When uint8[] data comes as a list of ints, it goes out as base64 text."""
    msg = from_rosbridge(typestore, "sensor_msgs/msg/CompressedImage", {"data": [0, 1, 255]})
    assert to_rosbridge(msg)["data"] == base64.b64encode(b"\x00\x01\xff").decode()


def test_nan_and_inf_become_none(typestore):
    """When a float is NaN or infinite, rosbridge form carries None; None reads back as NaN."""
    msg = from_rosbridge(typestore, "sensor_msgs/msg/NavSatFix", {
        "latitude": None, "altitude": math.inf,
        "position_covariance": [math.nan] + [0.0] * 8,
    })
    assert math.isnan(msg.latitude)
    out = _through_cdr(typestore, "sensor_msgs/msg/NavSatFix", to_rosbridge(msg))
    assert out["latitude"] is None
    assert out["altitude"] is None
    assert out["position_covariance"][:2] == [None, 0.0]


def test_constants_and_type_tags_are_not_fields(typestore):
    """When a type has constants, they do not appear in the rosbridge dict."""
    out = to_rosbridge(from_rosbridge(typestore, "sensor_msgs/msg/BatteryState", {}))
    assert "POWER_SUPPLY_STATUS_FULL" not in out
    assert "__msgtype__" not in out
    assert to_rosbridge(from_rosbridge(typestore, "std_msgs/msg/Empty", {})) == {}


def test_keyword_field_names_keep_their_ros_name(typestore):
    """When a field is named like a Python keyword, rosbridge form uses the ROS name."""
    typestore = get_typestore(Stores.ROS2_HUMBLE)
    typestore.register(get_types_from_msg("int32 from\nstring[] names", "test_msgs/msg/Kw"))
    msg = from_rosbridge(typestore, "test_msgs/msg/Kw", {"from": 3, "names": ["a"]})
    assert to_rosbridge(msg) == {"from": 3, "names": ["a"]}


@pytest.mark.parametrize(
    ("type_name", "data", "message"),
    [
        ("geometry_msgs/msg/Twist", {"linear": {"x": "fast"}},
         "field 'linear.x' of geometry_msgs/msg/Twist expects a number, got 'fast'"),
        ("geometry_msgs/msg/Twist", {"linear": {"x": True}},
         "field 'linear.x' of geometry_msgs/msg/Twist expects a number, got True"),
        ("geometry_msgs/msg/Twist", {"linear": {"w": 1.0}},
         "field 'linear.w' of geometry_msgs/msg/Twist is unknown; "
         "geometry_msgs/msg/Vector3 has x, y, z"),
        ("geometry_msgs/msg/Twist", {"speed": 1.0},
         "field 'speed' of geometry_msgs/msg/Twist is unknown"),
        ("geometry_msgs/msg/Twist", {"linear": [1, 2, 3]},
         "field 'linear' of geometry_msgs/msg/Twist expects an object"),
        ("std_msgs/msg/Bool", {"data": 1},
         "field 'data' of std_msgs/msg/Bool expects a boolean, got 1"),
        ("std_msgs/msg/String", {"data": 5},
         "field 'data' of std_msgs/msg/String expects a string, got 5"),
        ("sensor_msgs/msg/NavSatFix", {"status": {"status": 1.5}},
         "field 'status.status' of sensor_msgs/msg/NavSatFix expects an integer in [-128, 127]"),
        ("sensor_msgs/msg/NavSatFix", {"position_covariance_type": 256},
         "field 'position_covariance_type' of sensor_msgs/msg/NavSatFix expects an integer"),
        ("sensor_msgs/msg/NavSatFix", {"position_covariance": [0.0]},
         "field 'position_covariance' of sensor_msgs/msg/NavSatFix expects exactly 9 elements"),
        ("sensor_msgs/msg/CompressedImage", {"data": "not base64!"},
         "field 'data' of sensor_msgs/msg/CompressedImage expects base64 text"),
        ("diagnostic_msgs/msg/DiagnosticArray", {"status": [{"values": [{"key": 1}]}]},
         "field 'status[0].values[0].key' of diagnostic_msgs/msg/DiagnosticArray "
         "expects a string, got 1"),
        ("sensor_msgs/msg/BatteryState", {"cell_voltage": [4.0, "x"]},
         "field 'cell_voltage[1]' of sensor_msgs/msg/BatteryState expects a number"),
        ("std_msgs/msg/Bool", [True],
         "a message of std_msgs/msg/Bool expects an object"),
    ],
)
def test_wrong_values_name_the_field(typestore, type_name, data, message):
    """When a value does not fit its field, GraphError names the field path and type."""
    with pytest.raises(GraphError) as excinfo:
        from_rosbridge(typestore, type_name, data)
    assert str(excinfo.value).startswith(message)


def test_unknown_type_says_how_to_fix(typestore):
    """When the type is not in the store, the error names it and mentions msgdef."""
    with pytest.raises(GraphError, match=r"unknown message type 'rover_msgs/msg/Wheel'.*msgdef"):
        from_rosbridge(typestore, "rover_msgs/msg/Wheel", {})


def test_ints_are_accepted_for_floats(typestore):
    """When a float field gets an int, it is converted, not rejected."""
    msg = from_rosbridge(typestore, "geometry_msgs/msg/Twist", {"linear": {"x": 2}})
    assert msg.linear.x == 2.0 and isinstance(msg.linear.x, float)
