"""The tier-side replay buffer: what a resuming client gets, and which gap it is told."""
import pytest

from websocket_redundancy.core.ringbuffer import (
    BUFFER_TOO_SHORT,
    EPOCH_CHANGED,
    Gap,
    ReplayBuffer,
)


def frame(epoch, seq):
    return f'{epoch}:{seq}'.encode()


def filled(epoch='e', first=1, last=10, max_items=100, max_age_s=60.0, t0=0.0, dt=0.1):
    buf = ReplayBuffer(max_items, max_age_s)
    for i, seq in enumerate(range(first, last + 1)):
        buf.append(epoch, seq, t0 + i * dt, frame(epoch, seq))
    return buf


def test_same_epoch_held_gives_frames_after_and_no_gap():
    """When seq+1 is still held, the frames after seq come back with no gap."""
    buf = filled()
    assert buf.since('e', 4, now=1.0) == ([frame('e', s) for s in range(5, 11)], None)


def test_same_epoch_oldest_is_next_gives_everything_and_no_gap():
    """When the oldest held frame is exactly seq+1, nothing is missing."""
    buf = filled(first=5, last=7)
    assert buf.since('e', 4, now=1.0) == ([frame('e', s) for s in (5, 6, 7)], None)


def test_client_up_to_date_or_ahead_gets_nothing():
    """When the client already has the newest sample (or more), nothing and no gap."""
    buf = filled()
    assert buf.since('e', 10, now=1.0) == ([], None)
    assert buf.since('e', 12, now=1.0) == ([], None)


def test_older_than_buffer_gives_what_is_held_and_a_gap():
    """When seq+1 was evicted by count, every held frame comes back with a gap."""
    buf = filled(max_items=3)
    frames, gap = buf.since('e', 2, now=1.0)
    assert frames == [frame('e', s) for s in (8, 9, 10)]
    assert gap == Gap(('e', 2), ('e', 8), BUFFER_TOO_SHORT)


def test_a_client_whose_epoch_is_unknown_gets_everything_and_an_epoch_gap():
    """When the client's most recent epoch was never seen here, the gap says so."""
    buf = filled(epoch='new', last=3)
    frames, gap = buf.since('old', 5, now=1.0)
    assert frames == [frame('new', s) for s in (1, 2, 3)]
    assert gap == Gap(('old', 5), ('new', 1), EPOCH_CHANGED)


def test_two_publishers_on_one_topic_are_two_streams():
    """When the rover and a judge both publish a topic, each stream resumes on its own."""
    buf = ReplayBuffer(100, 60.0)
    for seq in range(1, 6):
        buf.append('rover', seq, 0.1 * seq, frame('rover', seq))
        if seq in (2, 4):
            buf.append('judge', seq // 2, 0.1 * seq, frame('judge', seq // 2))
    assert len(buf) == 7 and buf.latest == ('rover', 5)
    frames, gap = buf.since('rover', 3, now=1.0, streams={'judge': 1})
    assert frames == [frame('rover', 4), frame('judge', 2), frame('rover', 5)]
    assert gap is None


def test_a_stream_evicted_past_the_clients_position_is_a_gap():
    """When one stream's next sample is gone, that stream's gap is reported."""
    buf = ReplayBuffer(3, 60.0)
    buf.append('judge', 1, 0.0, frame('judge', 1))
    for seq in range(1, 4):
        buf.append('rover', seq, 0.1 * seq, frame('rover', seq))
    frames, gap = buf.since('rover', 1, now=1.0, streams={'judge': 0})
    assert frames == [frame('rover', 2), frame('rover', 3)]
    assert gap == Gap(('judge', 0), None, BUFFER_TOO_SHORT)


def test_age_eviction():
    """When frames are older than max_age_s at the time of the request, they are gone."""
    buf = filled(max_age_s=0.35, dt=0.1)  # seq k appended at (k-1)*0.1
    frames, gap = buf.since('e', 3, now=1.0)  # horizon 0.65: seqs 8..10 remain
    assert frames == [frame('e', s) for s in (8, 9, 10)]
    assert gap == Gap(('e', 3), ('e', 8), BUFFER_TOO_SHORT)


def test_everything_aged_out_reports_gap_with_nothing_available():
    """When every frame aged out but the client is behind, the gap has no 'available'."""
    buf = filled(max_age_s=1.0)
    assert buf.since('e', 3, now=100.0) == ([], Gap(('e', 3), None, BUFFER_TOO_SHORT))
    assert buf.since('e', 10, now=100.0) == ([], None)


def test_empty_buffer_cannot_judge():
    """When nothing was ever appended, nothing is replayed and no gap is claimed."""
    assert ReplayBuffer(10, 1.0).since('e', 3, now=0.0) == ([], None)
    assert ReplayBuffer(10, 1.0).latest is None


def test_duplicate_or_old_append_is_ignored():
    """When a sample is not newer than the newest of its epoch, it is not held."""
    buf = filled(last=3)
    assert buf.append('e', 3, 1.0, b'dup') is False
    assert buf.append('e', 2, 1.0, b'old') is False
    assert buf.since('e', 0, now=1.0) == ([frame('e', s) for s in (1, 2, 3)], None)


def test_holes_in_held_frames_are_bisected_correctly():
    """When the tier itself missed samples, the replay starts after the requested seq."""
    buf = ReplayBuffer(10, 60.0)
    for seq in (1, 2, 5, 6, 9):
        buf.append('e', seq, 0.0, frame('e', seq))
    assert buf.since('e', 2, 0.0) == ([frame('e', s) for s in (5, 6, 9)], None)
    assert buf.since('e', 5, 0.0) == ([frame('e', s) for s in (6, 9)], None)
    assert buf.since('e', 7, 0.0) == ([frame('e', 9)], None)


def test_gap_wire_frame():
    """When a gap is sent, it is the resume_gap frame of the protocol."""
    assert Gap(('a', 41), ('b', 1), EPOCH_CHANGED).to_wire('/odom', 'sub1') == {
        'op': 'resume_gap', 'topic': '/odom', 'id': 'sub1',
        'requested': {'epoch': 'a', 'seq': 41}, 'available': {'epoch': 'b', 'seq': 1},
        'reason': 'epoch changed',
    }
    assert Gap(('a', 41), None, BUFFER_TOO_SHORT).to_wire('/odom', None)['available'] is None


@pytest.mark.parametrize('max_items,max_age_s', [(0, 1.0), (-1, 1.0), (1.5, 1.0), (1, 0.0)])
def test_bad_limits_are_refused_with_a_sentence(max_items, max_age_s):
    """When a limit is not positive, construction fails naming the limit."""
    with pytest.raises(ValueError, match='max_'):
        ReplayBuffer(max_items, max_age_s)
