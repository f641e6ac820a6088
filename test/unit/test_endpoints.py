"""Endpoint ids, their ROS node names, and when the directory adds or drops one."""
import pytest

from websocket_redundancy.core.endpoints import (
    Joined,
    Left,
    Registry,
    default_endpoint,
    node_name,
)


@pytest.mark.parametrize('endpoint,node', [
    ('primary', 'primary'),
    ('primary@relay:9090', 'primary_relay_9090'),
    ('primary-b', 'primary_b'),
    ('primary@10.213.0.2:9090', 'primary_10_213_0_2_9090'),
    ('9lives', '_9lives'),
])
def test_node_name_table(endpoint, node):
    """When an endpoint id has characters a ROS name cannot hold, they become '_'."""
    assert node_name(endpoint) == node


@pytest.mark.parametrize('port,host,expected', [
    (None, '127.0.0.1', 'primary'),       # the configured port
    (8080, '127.0.0.1', 'primary'),
    (0, '127.0.0.1', 'primary'),          # any free port: the tier's own endpoint
    (9090, '127.0.0.1', 'primary@rover:9090'),  # loopback: the machine's name
    (9090, '0.0.0.0', 'primary@rover:9090'),
    (9090, '10.213.0.2', 'primary@10.213.0.2:9090'),
])
def test_default_endpoint_table(port, host, expected):
    """When no --endpoint is given, a tier off its configured port is TIER@HOST:PORT."""
    assert default_endpoint('primary', 8080, port, host, 'rover') == expected


def test_a_new_endpoint_joins_on_its_first_heartbeat_once():
    """When a replica's first heartbeat arrives it joins; later ones say nothing."""
    reg = Registry(['primary'])
    assert reg.beat('primary-b', 'primary', 's1', 1.0) == [Joined('primary-b', 'primary', 1.0)]
    assert reg.beat('primary-b', 'primary', 's1', 1.1) == []
    assert reg.beat('primary', 'primary', 's0', 1.1) == []  # configured: no news
    assert reg.known('primary-b') and reg.known('primary')


def test_a_leaving_endpoint_is_removed_at_once_and_its_late_beats_ignored():
    """When the last heartbeat says leaving, it is removed; in-flight beats of the same
    session do not bring it back, a new session does."""
    reg = Registry(['primary'])
    reg.beat('primary-b', 'primary', 's1', 1.0)
    assert reg.beat('primary-b', 'primary', 's1', 2.0, leaving=True) == [
        Left('primary-b', 'left', 2.0)]
    assert reg.beat('primary-b', 'primary', 's1', 2.1) == []
    assert not reg.known('primary-b')
    assert reg.beat('primary-b', 'primary', 's2', 3.0) == [Joined('primary-b', 'primary', 3.0)]


def test_a_configured_endpoint_is_never_removed():
    """When a configured tier leaves or is gone, it stays in the directory."""
    reg = Registry(['primary'], forget_after=1.0)
    reg.beat('primary', 'primary', 's1', 0.0)
    assert reg.beat('primary', 'primary', 's1', 1.0, leaving=True) == []
    reg.presence('primary', False, 1.0)
    assert reg.expire(10.0, lambda _: 'DOWN') == [] and reg.next_deadline() is None


def test_an_endpoint_down_and_gone_is_forgotten_after_forget_after():
    """When a replica's publisher is gone and it is DOWN for forget_after, it is removed;
    not before, not while it is still present, not while it is not DOWN."""
    reg = Registry([], forget_after=5.0)
    reg.beat('b', 'primary', 's1', 0.0)
    reg.presence('b', False, 1.0)
    assert reg.next_deadline() == 6.0
    assert reg.expire(5.9, lambda _: 'DOWN') == []
    assert reg.expire(6.0, lambda _: 'SUSPECT') == []
    assert reg.expire(6.0, lambda _: 'DOWN') == [Left('b', 'gone', 6.0)]
    reg.beat('c', 'primary', 's1', 0.0)
    reg.presence('c', False, 1.0)
    reg.presence('c', True, 2.0)  # back before the deadline
    assert reg.expire(100.0, lambda _: 'DOWN') == [] and reg.next_deadline() is None


def test_forget_after_must_be_positive():
    """When forget_after is not positive, construction fails naming it."""
    with pytest.raises(ValueError, match='forget_after'):
        Registry([], forget_after=0)
