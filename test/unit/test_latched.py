"""core.latched: which topics latch at a tier and the samples a new subscriber gets
first (the tier-level behaviour is in test_tier_publishers.py)."""
from websocket_redundancy.core.latched import LatchedTopics


def test_a_topic_keeps_the_last_sample_of_each_publisher_oldest_publisher_first():
    latched = LatchedTopics(keep=2)
    assert latched.note('/mission', True)
    assert not latched.note('/mission', True)  # already latched: nothing to seed
    for epoch, item in (('rover', 'r1'), ('judge', 'j1'), ('rover', 'r2')):
        latched.record('/mission', epoch, item)
    assert latched.latest('/mission') == ['j1', 'r2']
    latched.record('/mission', 'console', 'c1')  # a third publisher: the oldest goes
    assert latched.latest('/mission') == ['r2', 'c1']


def test_a_publisher_that_does_not_latch_ends_it_and_forgets_the_samples():
    latched = LatchedTopics()
    latched.note('/mission', True)
    latched.record('/mission', 'rover', 'r1')
    assert '/mission' in latched
    assert not latched.note('/mission', False)
    assert '/mission' not in latched
    assert latched.latest('/mission') == []


def test_seeding_takes_the_newest_publishers_and_only_for_a_latched_topic():
    latched = LatchedTopics(keep=2)
    latched.seed('/odom', {'rover': 'o1'})
    assert latched.latest('/odom') == []
    latched.note('/mission', True)
    latched.seed('/mission', {'a': 'a9', 'b': 'b9', 'c': 'c9'})
    assert latched.latest('/mission') == ['b9', 'c9']
    latched.clear()
    assert '/mission' not in latched and latched.latest('/mission') == []
