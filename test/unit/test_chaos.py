"""The chaos demo's pure parts: intervals, the seeded plan, and measuring a fault from
the coordinator's events."""
import pytest

from websocket_redundancy.core.chaos import (
    Fault,
    FaultPlan,
    Record,
    event_line,
    measure,
    parse_faults,
    parse_interval,
    summary_table,
)


@pytest.mark.parametrize('text,expected', [('3', (3.0, 3.0)), ('20-40', (20.0, 40.0)),
                                           ('0.5-1', (0.5, 1.0))])
def test_interval_table(text, expected):
    """When an interval is one number or a range, it is read as (low, high)."""
    assert parse_interval(text) == expected


@pytest.mark.parametrize('text', ['', 'x', '0', '40-20', '-3'])
def test_bad_interval_is_one_sentence(text):
    """When an interval makes no sense, the error names --interval."""
    with pytest.raises(ValueError, match='--interval'):
        parse_interval(text)


def test_faults_are_checked():
    """When --faults names an unknown kind, the error lists the known ones."""
    assert parse_faults('kill, hang') == ('kill', 'hang')
    with pytest.raises(ValueError, match='kill, hang, deactivate'):
        parse_faults('kill,explode')


def test_the_plan_is_repeatable_with_a_seed_and_within_the_interval():
    """When two plans share a seed, they break the same tiers in the same way."""
    def run(seed):
        plan = FaultPlan(['primary', 'secondary'], (2.0, 4.0), seed=seed)
        return [(plan.delay(), plan.next()) for _ in range(20)]
    first = run(7)
    assert first == run(7) and first != run(8)
    assert all(2.0 <= delay <= 4.0 for delay, _ in first)
    assert {f.kind for _, f in first} == {'kill', 'hang', 'deactivate'}
    assert [f.number for _, f in first] == list(range(1, 21))


def events(*rows):
    return [{'at': at, 'tier': tier, 'kind': kind, 'detail': detail, 'duration_s': None}
            for at, tier, kind, detail in rows]


def test_detection_and_recovery_come_from_the_faulted_tiers_events_after_injection():
    """When the coordinator reports the tier DOWN and then recovered, those times (after
    the injection) are the detection and recovery; older events and other tiers are
    ignored."""
    r = Record(Fault(1, 'kill', 'primary'), wall=100.0)
    measure(r, events((99.0, 'primary', 'health', 'UP -> DOWN: old'),
                      (100.2, 'secondary', 'health', 'UP -> DOWN: other'),
                      (100.05, 'primary', 'health', 'UP -> DOWN: process exited')))
    assert (r.detected_s, r.recovered_s, r.done) == (0.05, None, False)
    measure(r, events((100.05, 'primary', 'health', 'UP -> DOWN: process exited'),
                      (100.9, 'primary', 'recovered', 'active')))
    assert (r.detected_s, r.recovered_s, r.done) == (0.05, 0.9, True)


def test_a_deactivation_is_detected_by_the_recovery_it_starts():
    """When a tier is deactivated, the recovery start is its detection."""
    r = Record(Fault(2, 'deactivate', 'primary'), wall=10.0)
    measure(r, events((10.01, 'primary', 'recovery_started', 'lifecycle state is inactive'),
                      (10.12, 'primary', 'recovered', 'active')))
    assert (r.detected_s, r.recovered_s) == (0.01, 0.12)


def test_lines_and_table_say_what_was_measured():
    """When faults were measured, the event line and the summary show them."""
    a = Record(Fault(1, 'kill', 'primary'), 0.0, 0.04, 0.01, 0.9, 'primary', 'secondary')
    b = Record(Fault(2, 'hang', 'tertiary'), 0.0, 0.96, None, None, 'primary')
    assert event_line(a) == ('demo: #1 kill primary: detected in 0.04 s, client primary -> '
                             'secondary in 0.01 s, recovered in 0.90 s')
    assert 'NOT recovered' in event_line(b) and 'not affected' in event_line(b)
    table = summary_table([a, b], delivered=120, gaps=0)
    assert '2 faults injected, 1 recovered; client delivered 120 messages' in table
    assert 'failover: median 0.01 s' in table and table.splitlines()[0].startswith('#  FAULT')
    c = Record(Fault(3, 'kill', 'primary'), 0.0, notes=['interrupted'])
    assert 'interrupted' in summary_table([c]).splitlines()[1]
