"""Ranking of tiers and the retry backoff: pure functions, tested as tables."""
import pytest

from websocket_redundancy.core.ranking import (
    TierInfo,
    backoff_delay,
    bootstrap_tiers,
    coverage,
    is_full,
    load,
    rank,
    tiers_from_status,
)
from websocket_redundancy.core.scope import Scope

EVERYTHING = Scope(('/**',))
STATE = Scope(('/odom', '/gps/fix', '/battery_state', '/mission/**'))
CRITICAL = Scope(('/emergency_stop', '/gps/fix', '/battery_state'))


def tier(name, priority, health='UP', clients=0, capacity=200, scope=EVERYTHING):
    return TierInfo(url=f'ws://{name}', name=name, priority=priority, health=health,
                    clients=clients, capacity=capacity, subscribe=scope)


TABLE = [
    # (case, tiers, app topics, expected order)
    ('priority decides among equals',
     [tier('b', 1), tier('a', 0), tier('c', 2)], ['/odom'], ['a', 'b', 'c']),
    ('health beats priority; SUSPECT ranks with UP (a doubt is not a failure)',
     [tier('a', 0, 'DOWN'), tier('b', 1, 'SUSPECT'), tier('c', 2, 'UNKNOWN'), tier('d', 3)],
     ['/odom'], ['b', 'd', 'c', 'a']),
    ('a full tier goes after one with room',
     [tier('a', 0, clients=200), tier('b', 1, clients=10)], ['/odom'], ['b', 'a']),
    ('coverage of the app topics beats priority',
     [tier('a', 0, scope=CRITICAL), tier('b', 1, scope=STATE)],
     ['/odom', '/mission/state'], ['b', 'a']),
    ('equal coverage falls back to priority',
     [tier('a', 1, scope=CRITICAL), tier('b', 0, scope=STATE)], ['/gps/fix'], ['b', 'a']),
    ('load breaks a priority tie',
     [tier('a', 0, clients=150), tier('b', 0, clients=20)], ['/odom'], ['b', 'a']),
    ('name breaks a full tie',
     [tier('b', 0), tier('a', 0)], [], ['a', 'b']),
    ('unknown scope counts as covering everything',
     [TierInfo(url='ws://x', name='x', priority=5, health='UP'), tier('a', 0, scope=CRITICAL)],
     ['/odom'], ['x', 'a']),
]


@pytest.mark.parametrize('case,tiers,topics,expected', TABLE, ids=[row[0] for row in TABLE])
def test_rank_table(case, tiers, topics, expected):
    """When tiers differ in one attribute, the order follows the documented precedence."""
    assert [t.name for t in rank(tiers, topics)] == expected


@pytest.mark.parametrize('clients,capacity,expected_load,full', [
    (0, 200, 0.0, False), (100, 200, 0.5, False), (200, 200, 1.0, True),
    (250, 200, 1.25, True), (5, 0, 0.0, False),
])
def test_load_and_full(clients, capacity, expected_load, full):
    """When capacity is unknown (0), the tier counts as empty."""
    t = tier('a', 0, clients=clients, capacity=capacity)
    assert (load(t), is_full(t)) == (expected_load, full)


def test_coverage_counts_globs():
    """When scopes use ** globs, coverage counts every topic under them."""
    assert coverage(tier('a', 0, scope=STATE), ['/mission/a/b', '/odom', '/imu/data']) == 2


def test_bootstrap_order_is_priority():
    """When only URLs are known, the list order is the ranking."""
    tiers = bootstrap_tiers(['ws://p', 'ws://s'])
    assert [t.url for t in rank(tiers, ['/odom'])] == ['ws://p', 'ws://s']
    assert tiers[0].label == 'ws://p'


@pytest.mark.parametrize('attempt,jitter,expected', [
    (0, 0.0, 0.05), (0, 1.0, 0.1), (1, 1.0, 0.2), (3, 0.5, 0.6),
    (6, 1.0, 5.0), (100, 0.0, 2.5),
])
def test_backoff_table(attempt, jitter, expected):
    """When attempts grow, the delay doubles up to the cap, jitter spans half to all."""
    assert backoff_delay(attempt, jitter, base_s=0.1, cap_s=5.0) == pytest.approx(expected)


def test_backoff_rejects_jitter_out_of_range():
    """When jitter is not in [0, 1], the call fails naming it."""
    with pytest.raises(ValueError, match='jitter'):
        backoff_delay(0, 1.5)


def test_tiers_from_status():
    """When a status document is parsed, every field of a tier entry is kept."""
    doc = {'tiers': [{
        'name': 'secondary', 'priority': 1, 'url': 'ws://h:8081', 'health': 'UP',
        'lifecycle': 'active', 'clients': 3, 'capacity': 200,
        'scope': {'subscribe': ['/odom', '/mission/**'], 'publish': ['/mission/command']},
    }]}
    (t,) = tiers_from_status(doc)
    assert t == TierInfo(url='ws://h:8081', name='secondary', priority=1, health='UP',
                         clients=3, capacity=200, subscribe=Scope(('/odom', '/mission/**')),
                         publish=Scope(('/mission/command',)), lifecycle='active')
    assert t.allows_subscribe('/mission/state') and not t.allows_subscribe('/imu/data')
    assert t.allows_publish('/mission/command') and not t.allows_publish('/cmd_vel')


@pytest.mark.parametrize('doc,match', [
    ({}, "no 'tiers'"),
    ({'tiers': [{'name': 'x'}]}, r"tiers\[0\] needs a 'url'"),
    ({'tiers': [{'url': 'ws://a', 'scope': {'subscribe': '/odom'}}]}, 'scope.subscribe'),
    ({'tiers': [{'url': 'ws://a', 'priority': 'high'}]}, 'non-numeric'),
])
def test_tiers_from_status_errors_name_the_field(doc, match):
    """When an entry is malformed, the error names the entry and field."""
    with pytest.raises(ValueError, match=match):
        tiers_from_status(doc)
