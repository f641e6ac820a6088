"""The client-side delivery filter: at most once, in order, holes reported."""
from hypothesis import given
from hypothesis import strategies as st

from websocket_redundancy.core.dedup import (
    EPOCH_CHANGED,
    HOLE,
    DeliveryFilter,
    Discontinuity,
)


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


def test_new_epoch_is_reported_and_old_epoch_never_returns():
    """When the source restarts, the new epoch wins and the old one is refused after."""
    f = DeliveryFilter()
    f.offer('/a', 'old', 7)
    assert f.offer('/a', 'new', 1) == (
        True, Discontinuity('/a', EPOCH_CHANGED, ('old', 7), ('new', 1)))
    assert f.offer('/a', 'old', 8) == (False, None)
    assert f.offer('/a', 'new', 2) == (True, None)


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


def test_excuse_without_available_covers_next_epoch_change():
    """When the tier had nothing to replay, the next discontinuity is not reported twice."""
    f = DeliveryFilter()
    f.offer('/a', 'old', 3)
    f.excuse('/a', None)
    assert f.offer('/a', 'new', 4) == (True, None)


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
    assert f.position('/a') is None
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
