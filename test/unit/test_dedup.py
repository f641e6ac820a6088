"""The client-side delivery filter: at most once, in order, holes reported."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from websocket_redundancy.core.dedup import HOLE, DeliveryFilter, Discontinuity


def offers(f, topic, keys):
    return [f.offer(topic, e, s) for e, s in keys]


def test_first_sample_is_delivered_without_gap():
    """When a topic's first sample arrives, whatever its seq, it is delivered silently."""
    f = DeliveryFilter()
    assert f.offer('/odom', 'e', 500) == (True, None)
    assert f.position('/odom') == ('e', 500)


def test_consecutive_then_duplicates_dropped():
    """When a sample repeats or is older, it is dropped; in-order ones pass."""
    f = DeliveryFilter()
    assert offers(f, '/a', [('e', 1), ('e', 2), ('e', 2), ('e', 1), ('e', 3)]) == [
        (True, None), (True, None), (False, None), (False, None), (True, None)]


def test_seq_jump_is_delivered_and_reported_as_hole():
    """When seq jumps, the sample is delivered and the hole named."""
    f = DeliveryFilter()
    f.offer('/a', 'e', 1)
    assert f.offer('/a', 'e', 5) == (True, Discontinuity('/a', HOLE, ('e', 1), ('e', 5)))
    assert f.offer('/a', 'e', 3) == (False, None)


def test_second_publisher_interleaves_and_both_streams_are_delivered_once():
    """When a second publisher's samples (its own epoch) interleave with the first's, both
    streams are delivered, each without repeats, and a new stream is not a gap."""
    f = DeliveryFilter()
    arrivals = [('a', 7), ('b', 1), ('a', 8), ('b', 1), ('a', 8), ('b', 2), ('a', 9),
                ('a', 7), ('b', 2), ('b', 3)]
    assert offers(f, '/t', arrivals) == [
        (True, None), (True, None), (True, None), (False, None), (False, None),
        (True, None), (True, None), (False, None), (False, None), (True, None)]
    assert f.position('/t') == ('b', 3)
    assert f.positions('/t') == {'a': 9, 'b': 3}


def test_emergency_stop_from_rover_still_delivered_after_a_judge_published():
    """When a judge's console publishes /emergency_stop once, the rover's own e-stop
    samples keep being delivered (the safety bug of treating a new epoch as a restart)."""
    f = DeliveryFilter()
    rover = [f.offer('/emergency_stop', 'rover', seq)[0] for seq in (1, 2, 3)]
    judge = f.offer('/emergency_stop', 'judge', 1)
    after = [f.offer('/emergency_stop', 'rover', seq) for seq in (4, 5)]
    assert rover == [True, True, True]
    assert judge == (True, None)
    assert after == [(True, None), (True, None)]
    assert f.positions('/emergency_stop') == {'rover': 5, 'judge': 1}


def test_hole_is_reported_within_its_own_stream():
    """When one stream skips seqs while another is in between, the hole names the
    stream's own last sample."""
    f = DeliveryFilter()
    offers(f, '/t', [('a', 1), ('b', 1)])
    assert f.offer('/t', 'a', 4) == (True, Discontinuity('/t', HOLE, ('a', 1), ('a', 4)))


def test_restarted_source_is_a_new_stream_and_old_samples_still_dedup():
    """When the source restarts (new epoch), its first sample is delivered silently and a
    lagging tier's old-epoch samples are still dropped if already delivered."""
    f = DeliveryFilter()
    f.offer('/a', 'old', 7)
    assert f.offer('/a', 'new', 1) == (True, None)
    assert f.offer('/a', 'old', 7) == (False, None)
    assert f.offer('/a', 'new', 2) == (True, None)


def test_streams_are_bounded_least_recently_used_first():
    """When more epochs than the bound have been seen, the least recently delivered
    stream is forgotten (and would count as new if it returned)."""
    f = DeliveryFilter(max_epochs=2)
    offers(f, '/t', [('a', 1), ('b', 1), ('a', 2), ('c', 1)])
    assert f.positions('/t') == {'a': 2, 'c': 1}
    assert f.offer('/t', 'b', 1) == (True, None)
    with pytest.raises(ValueError, match='max_epochs'):
        DeliveryFilter(max_epochs=0)


def test_excuse_is_per_stream():
    """When the tier excuses a jump of one stream, deliveries of another stream do not
    end the excuse."""
    f = DeliveryFilter()
    offers(f, '/t', [('a', 1), ('b', 1)])
    f.excuse('/t', ('a', 10))
    assert f.offer('/t', 'b', 2) == (True, None)
    assert f.offer('/t', 'a', 10) == (True, None)
    assert f.offer('/t', 'a', 12)[1] == Discontinuity('/t', HOLE, ('a', 10), ('a', 12))


def test_topics_are_independent():
    """When two topics interleave, each keeps its own position."""
    f = DeliveryFilter()
    f.offer('/a', 'e', 1)
    assert f.offer('/b', 'e', 1) == (True, None)
    assert f.offer('/a', 'e', 2) == (True, None)
    assert (f.position('/a'), f.position('/b')) == (('e', 2), ('e', 1))


def test_excused_jump_is_silent_once():
    """When the tier reported the gap already, the jump it explains is not reported again."""
    f = DeliveryFilter()
    f.offer('/a', 'e', 41)
    f.excuse('/a', ('e', 60))
    assert f.offer('/a', 'e', 60) == (True, None)
    assert f.offer('/a', 'e', 62) == (True, Discontinuity('/a', HOLE, ('e', 60), ('e', 62)))


def test_excuse_does_not_cover_a_bigger_jump():
    """When the jump goes beyond what the tier said is available, it is still reported."""
    f = DeliveryFilter()
    f.offer('/a', 'e', 41)
    f.excuse('/a', ('e', 60))
    assert f.offer('/a', 'e', 70)[1] == Discontinuity('/a', HOLE, ('e', 41), ('e', 70))


def test_excuse_without_available_covers_next_discontinuity():
    """When the tier had nothing to replay, the next discontinuity is not reported twice."""
    f = DeliveryFilter()
    f.offer('/a', 'e', 3)
    f.excuse('/a', None)
    assert f.offer('/a', 'e', 9) == (True, None)


def test_excuse_ends_with_next_delivery():
    """When a sample is delivered in order after an excuse, a later jump is reported."""
    f = DeliveryFilter()
    f.offer('/a', 'e', 1)
    f.excuse('/a', None)
    f.offer('/a', 'e', 2)
    assert f.offer('/a', 'e', 9)[1] is not None


def test_forget_restarts_topic():
    """When a topic is forgotten, its next sample is treated as the first."""
    f = DeliveryFilter()
    f.offer('/a', 'e', 9)
    f.forget('/a')
    assert (f.position('/a'), f.positions('/a')) == (None, {})
    assert f.offer('/a', 'e', 3) == (True, None)


@given(st.lists(st.integers(min_value=1, max_value=40), max_size=120))
def test_any_arrival_order_delivers_strictly_increasing(seqs):
    """When samples arrive in any order with repeats, the delivered seqs strictly increase
    and every reported hole matches a jump in what was delivered."""
    f = DeliveryFilter()
    delivered, holes = [], []
    for seq in seqs:
        ok, gap = f.offer('/t', 'e', seq)
        if ok:
            delivered.append(seq)
        if gap:
            holes.append((gap.last[1], gap.next[1]))
    assert delivered == sorted(set(delivered))
    assert holes == [(a, b) for a, b in zip(delivered, delivered[1:], strict=False) if b != a + 1]
