"""Replicas: new clients spread over a tier's replicas by load and probe latency with a
per-client tie-breaker; a full replica is skipped; a client stays on its replica (no
migration to a less loaded sibling) and fails over to the sibling before a lower tier."""
import pytest

from websocket_redundancy.core.failover import FailoverMachine
from websocket_redundancy.core.failover_types import (
    CloseConn,
    Closed,
    Directory,
    FailoverSettings,
    Frame,
    Open,
    Opened,
    Start,
    Subscribe,
    Tick,
)
from websocket_redundancy.core.ranking import TierInfo, rank, tiebreaker, tiers_from_status
from websocket_redundancy.core.settings import HEARTBEAT_TOPIC

A, B, SEC = 'ws://a:8080', 'ws://b:9090', 'ws://s:8081'


def replica(url, endpoint, clients=0, capacity=200, latency=1.0, priority=0, name='primary'):
    return TierInfo(url=url, name=name, endpoint=endpoint, priority=priority, health='UP',
                    clients=clients, capacity=capacity, latency_ms=latency)


def first(tiers, seed):
    return rank(tiers, ['/odom'], tiebreaker(seed))[0].endpoint


def test_equal_replicas_are_shared_out_by_each_clients_draw():
    """When two replicas are equally loaded, 200 clients (seeds) pick each about half the
    time, and one client always picks the same one."""
    tiers = [replica(A, 'a'), replica(B, 'b')]
    picks = [first(tiers, seed / 200) for seed in range(200)]
    assert 70 <= picks.count('a') <= 130
    assert all(first(tiers, 0.25) == first(tiers, 0.25) for _ in range(5))


@pytest.mark.parametrize('a,b,expected', [
    (replica(A, 'a', clients=40), replica(B, 'b', clients=10), 'b'),   # 15 % less load
    (replica(A, 'a', latency=80.0), replica(B, 'b', latency=1.0), 'b'),  # 80 ms slower
    (replica(A, 'a', clients=20, capacity=20), replica(B, 'b', clients=150), 'b'),  # full
])
def test_a_clearly_better_replica_wins_for_every_client(a, b, expected):
    """When a replica is clearly less loaded or faster, or its sibling is full, every
    client prefers it."""
    assert {first([a, b], seed / 50) for seed in range(50)} == {expected}


def test_latency_within_the_lan_noise_floor_is_a_tie():
    """When two replicas differ by a few milliseconds of probe latency only, clients
    still spread over both."""
    tiers = [replica(A, 'a', latency=9.0), replica(B, 'b', latency=0.5)]
    picks = [first(tiers, seed / 100) for seed in range(100)]
    assert 30 <= picks.count('a') <= 70


def test_a_full_replica_goes_after_a_lower_tier_with_room():
    """When every primary replica is full, the secondary comes first."""
    tiers = [replica(A, 'a', clients=200), replica(SEC, 'secondary', priority=1,
                                                   name='secondary')]
    assert first(tiers, 0.3) == 'secondary'


def test_the_directory_rows_carry_endpoint_and_latency():
    """When a v2 status document is read, each row's endpoint id and probe latency come
    along, and the label is the endpoint id."""
    doc = {'tiers': [{'url': B, 'name': 'primary', 'endpoint': 'primary@b:9090',
                      'probe_latency_ms': 2.5, 'health': 'UP'},
                     {'url': A, 'name': 'primary', 'probe_latency_ms': None}]}
    b, a = tiers_from_status(doc)
    assert (b.endpoint, b.latency_ms, b.label) == ('primary@b:9090', 2.5, 'primary@b:9090')
    assert (a.endpoint, a.latency_ms, a.label) == ('', None, 'primary')


def directory(a_clients=0, b_clients=0):
    return Directory((replica(A, 'a', a_clients), replica(B, 'b', b_clients),
                      replica(SEC, 'secondary', priority=1, name='secondary')))


def on_replica_a():
    """A machine that picked replica A from the directory, with its warm standby open."""
    m = FailoverMachine(FailoverSettings(), jitter=lambda: 1.0, seed=0.0)
    m.handle(Subscribe('/odom', 'nav_msgs/msg/Odometry'), 0.0)
    assert m.handle(Start((A, SEC), directory_wait_s=1.0), 0.0) == []  # waits for a directory
    out = m.handle(directory(a_clients=0, b_clients=30), 0.05)
    assert out == [Open(A)]
    m.handle(Opened(A), 0.1)
    return m


def test_the_warm_standby_is_the_sibling_replica_and_it_takes_over_first():
    """When active on replica A, the warm standby is replica B (same tier), not the
    secondary; when A closes, B carries the topics with no scope degradation."""
    m = on_replica_a()
    assert m.roles() == {A: 'active', B: 'standby'}
    m.handle(Opened(B), 0.2)
    out = m.handle(Closed(A, 1006), 0.3)
    assert m.active == B
    assert not any(getattr(c, 'kind', '') == 'scope_degraded' for c in out)


def test_a_client_does_not_migrate_to_a_sibling_that_became_less_loaded():
    """When the sibling replica is now much less loaded, the client stays where it is
    (no failback candidate): load only spreads new connections."""
    m = on_replica_a()
    m.handle(Opened(B), 0.2)
    for step in range(3, 50):
        now = step / 10
        for url in (A, B):
            m.handle(Frame(url, {'op': 'publish', 'topic': HEARTBEAT_TOPIC, 'msg': {}}), now)
        m.handle(directory(a_clients=150, b_clients=0), now)
        m.handle(Tick(), now)
    assert m.roles() == {A: 'active', B: 'standby'}


def test_a_sibling_back_from_a_failure_becomes_the_standby_again():
    """When the sibling replica fails, the standby falls back to the secondary; when the
    sibling is eligible again, it replaces the secondary as the warm standby, so the
    next failure keeps the full scope."""
    m = on_replica_a()
    m.handle(Opened(B), 0.2)
    m.handle(Closed(B, 1006), 0.3)
    assert m.roles() == {A: 'active', SEC: 'standby'}
    m.handle(Opened(SEC), 0.3)
    out = []
    for step in range(3, 20):
        now = step / 10
        for url in (A, SEC):
            out += m.handle(Frame(url, {'op': 'publish', 'topic': HEARTBEAT_TOPIC,
                                        'msg': {}}), now)
        out += m.handle(Tick(), now)
    assert CloseConn(SEC, 1000, 'a better standby is back') in out and Open(B) in out
    assert m.roles() == {A: 'active', B: 'standby'}
