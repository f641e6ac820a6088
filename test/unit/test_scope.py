"""Glob scopes: ``*`` within a segment, ``**`` across segments, exact otherwise."""
import pytest

from websocket_redundancy.core.scope import Scope, is_ros_name, pattern_problem


@pytest.mark.parametrize('pattern, name, allowed', [
    ('**', '/odom', True),
    ('**', '/a/b/c', True),
    ('/odom', '/odom', True),
    ('/odom', '/odom2', False),
    ('/odom', '/odom/x', False),
    ('/mission/**', '/mission/state', True),
    ('/mission/**', '/mission/a/b', True),
    ('/mission/**', '/mission', False),
    ('/mission/**', '/missions/state', False),
    ('/camera/*/image', '/camera/front/image', True),
    ('/camera/*/image', '/camera/front/left/image', False),
    ('/gps/*', '/gps/fix', True),
    ('/gps/f*', '/gps/fix', True),
    ('/gps/f*', '/gps/vel', False),
])
def test_scope_matching(pattern, name, allowed):
    assert Scope((pattern,)).allows(name) is allowed


@pytest.mark.parametrize('pattern, ok', [
    ('**', True), ('/a/**', True), ('/a/*', True), ('a', False), ('/a/b**', False),
    ('', False), ('/a b', False),
])
def test_pattern_validation(pattern, ok):
    assert (pattern_problem(pattern) == '') is ok


@pytest.mark.parametrize('name, ok', [
    ('/odom', True), ('/a/b_c/D9', True), ('odom', False), ('/a b', False), (5, False),
    ('/' + 'x' * 300, False),
])
def test_ros_names(name, ok):
    assert is_ros_name(name) is ok
