"""The coordinator's model routes each input to the health, recovery and endpoint models
and answers what the shell does, in order; time is an argument."""
from websocket_redundancy.core import endpoints as e
from websocket_redundancy.core import health as h
from websocket_redundancy.core import recovery as r
from websocket_redundancy.core.coordination import CoordinatorModel, Forget, Report, TimerFired

NAMES = ('primary', 'secondary')


def model(now=0.0):
    health = h.HealthModel(h.HealthSettings(), NAMES, now)
    recovery = r.RecoveryModel(r.RecoverySettings(), supervised=NAMES)
    return CoordinatorModel(health, recovery, e.Registry(NAMES, forget_after=10.0))


def kinds(outputs):
    return [type(o).__name__ for o in outputs]


def test_when_a_tier_process_exits_it_is_reported_down_with_recovery_in_the_same_report():
    m = model()
    out = m.handle(h.ProcessExited('primary', -9), 1.0, NAMES)
    report = next(o for o in out if isinstance(o, Report))
    assert isinstance(report.item, h.HealthChanged) and report.item.new == 'DOWN'
    assert any(isinstance(f, r.RecoveryStarted) for f in report.follow)
    assert out.index(report) < min(i for i, o in enumerate(out) if not isinstance(o, Report))


def test_an_event_about_an_endpoint_that_has_left_is_ignored():
    m = model()
    assert m.handle(h.ProcessExited('relay', -9), 1.0, NAMES) == []
    assert m.handle(r.GetStateResult('relay', 'active'), 1.0, NAMES) == []


def test_the_timer_runs_health_checks_and_a_silent_tier_goes_suspect_then_down():
    m = model()
    for t in NAMES:
        m.handle(h.Heartbeat(t, 's', 1, 1), 0.1, NAMES)
    deadline = m.next_deadline()
    assert deadline is not None and deadline > 0.1
    out = m.handle(TimerFired(), deadline + 0.01, NAMES)
    assert {o.item.tier for o in out if isinstance(o, Report)} == set(NAMES)
    assert all(o.item.new in ('SUSPECT', 'DOWN') for o in out if isinstance(o, Report))


def test_next_deadline_is_the_earliest_of_the_three_models():
    m = model()
    expected = [d for d in (m.health.next_deadline(), m.recovery.next_deadline(),
                            m.registry.next_deadline()) if d is not None]
    assert m.next_deadline() == (min(expected) if expected else None)


def test_an_endpoint_down_and_gone_for_forget_after_is_forgotten_on_the_timer():
    m, known = model(), (*NAMES, 'relay')
    m.registry.beat('relay', 'primary', 's1', 0.0, False)
    m.handle(h.ProcessExited('relay', -9), 0.5, known)  # an exit is DOWN at once
    m.registry.presence('relay', False, 1.0)  # and its heartbeat publisher is gone
    assert m.next_deadline() <= 11.0
    assert [o for o in m.handle(TimerFired(), 10.9, known) if isinstance(o, Forget)] == []
    out = m.handle(TimerFired(), 11.0, known)
    assert [o.left.endpoint for o in out if isinstance(o, Forget)] == ['relay']
    assert kinds(out).count('Forget') == 1
