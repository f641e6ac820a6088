"""Key expressions and attachments of the embedded graph parse back to what was put in."""
from __future__ import annotations

import pytest

from websocket_redundancy.graph.embedded import keys
from websocket_redundancy.graph.port import GraphError


def test_attachment_round_trip():
    """When an attachment is encoded, decoding gives seq, time, epoch and type back."""
    data = keys.encode_attachment(42, 1700000000.25, "ab12-18c", "nav_msgs/msg/Odometry")
    assert keys.decode_attachment(data) == (42, 1700000000.25, "ab12-18c", "nav_msgs/msg/Odometry")


@pytest.mark.parametrize("data", [b"", b"\x02" + bytes(20), bytes([1]) + bytes(16) + b"no-nul"])
def test_foreign_attachments_are_rejected(data):
    """When bytes are not one of our attachments, decoding says None."""
    assert keys.decode_attachment(data) is None


def test_token_key_round_trip():
    """When a token key is built for a nested topic, it parses back exactly."""
    pfx = keys.prefix(3)
    key = keys.token_key(pfx, "pub", "e1", "std_msgs/msg/String", "/mission/state")
    assert key == "wr/3/pub/e1/std_msgs/msg/String/mission/state"
    assert keys.parse_token_key(pfx, key) == ("pub", "e1", "std_msgs/msg/String", "/mission/state")
    assert keys.parse_token_key(pfx, "wr/4/pub/e1/a/msg/B/c") is None
    assert keys.topic_key(pfx, "/mission/state") == "wr/3/t/mission/state"


@pytest.mark.parametrize("name", ["", "/", "a b", "/odom/", "foo//bar", "*", "a/**", 5])
def test_bad_names_are_refused(name):
    """When a topic name is not a ROS name, GraphError names it."""
    with pytest.raises(GraphError, match="not a valid ROS name"):
        keys.ros_name(name)


def test_names_get_one_leading_slash():
    assert keys.ros_name("odom") == keys.ros_name("/odom") == "/odom"
    assert keys.ros_name("/camera/front/image/compressed") == "/camera/front/image/compressed"


def test_epochs_are_unique():
    assert len({keys.new_epoch() for _ in range(100)}) == 100
