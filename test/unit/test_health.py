"""Health model driven by an injected clock: crash, hang, busy, flapping, respawn."""

import pytest

from websocket_redundancy.core.health import (
    DOWN,
    SUSPECT,
    UNKNOWN,
    UP,
    HealthChanged,
    HealthModel,
    HealthSettings,
    Heartbeat,
    ProbeResult,
    ProcessExited,
    ProcessStarted,
    SessionChanged,
    TransitionEvent,
)
from websocket_redundancy.core.settings import SettingsError

P = 'primary'


class Beats:
    """A 20 Hz heartbeat source whose loop tick advances unless told otherwise."""

    def __init__(self, session='s1'):
        self.session, self.tick, self.seq = session, 0, 0

    def __call__(self, advance=True):
        self.seq += 1
        self.tick += 1 if advance else 0
        return Heartbeat(P, self.session, self.tick, self.seq)


def up_model(settings=None):
    """A model whose primary tier is UP at t=0.15 after three advancing heartbeats."""
    model = HealthModel(settings or HealthSettings(), tiers=(P,), now=0.0)
    beats = Beats()
    assert model.handle(TransitionEvent(P, 'active'), now=0.0) == []
    assert model.handle(beats(), now=0.05) == []
    assert model.handle(beats(), now=0.10) == [
        HealthChanged(P, UNKNOWN, UP, '3 good observations in a row', 0.10)]
    return model, beats


def run_clock(model, events, until):
    """Feed (time, event) pairs and call check() at every deadline up to ``until``."""
    out = []
    pending = sorted(events, key=lambda pair: pair[0])
    now = 0.0
    while now < until:
        deadline = model.next_deadline()
        next_event = pending[0][0] if pending else until
        if deadline is not None and deadline <= next_event:
            now = deadline
            out += model.check(now)
        elif pending:
            now, event = pending.pop(0)
            out += model.handle(event, now)
        else:
            now = until
    return out


def test_rise_needs_consecutive_good_observations():
    """When a tier starts, it is UP only after ``rise`` good observations in a row."""
    up_model()


def test_crash_is_down_at_once():
    """When the process exits, the tier is DOWN immediately and no deadline is armed."""
    model, _ = up_model()
    assert model.handle(ProcessExited(P, -9), now=1.0) == [
        HealthChanged(P, UP, DOWN, 'process exited with code -9', 1.0)]
    assert model.next_deadline() is None
    assert model.check(100.0) == []


def test_hang_is_suspect_then_down_with_probe():
    """When heartbeats stop and probes fail (SIGSTOP), SUSPECT then DOWN on the 2nd probe."""
    model, beats = up_model()
    assert model.handle(beats(), now=1.0) == []
    assert model.next_deadline() == 2.0
    assert model.check(1.999) == []
    assert model.check(2.0) == [HealthChanged(P, UP, SUSPECT, 'no heartbeat tick for 1 s', 2.0)]
    assert model.next_deadline() is None
    assert model.handle(ProbeResult(P, False), now=2.1) == []
    assert model.handle(ProbeResult(P, False), now=2.6) == [HealthChanged(
        P, SUSPECT, DOWN, 'no heartbeat tick for 1 s; 2 probes failed in a row', 2.6)]


def test_heartbeats_without_tick_advance_count_as_hung():
    """When heartbeats keep coming but the loop tick is frozen, the witness still fails."""
    model, beats = up_model()
    for i in range(1, 20):
        assert model.handle(beats(advance=False), now=0.1 + 0.05 * i) == []
    assert model.check(1.1) == [HealthChanged(P, UP, SUSPECT, 'no heartbeat tick for 1 s', 1.1)]


def test_resumed_hang_comes_back_up_after_rise():
    """When a hung tier resumes (SIGCONT), it is UP again after rise good observations."""
    model, beats = up_model()
    model.check(1.1)
    model.handle(ProbeResult(P, False), now=1.2)
    model.handle(ProbeResult(P, False), now=1.3)
    assert model.health(P) == DOWN
    assert model.handle(beats(), now=5.0) == []  # heartbeat back, probes still failing
    assert model.handle(ProbeResult(P, True, 0.004), now=5.01) == []
    assert model.handle(beats(), now=5.05) == []
    assert model.handle(beats(), now=5.10) == [
        HealthChanged(P, DOWN, UP, '3 good observations in a row', 5.10)]


def test_slow_but_alive_tier_is_never_down():
    """When a busy tier's heartbeats come late (0.9 s gaps) and probes are slow, no change."""
    model, beats = up_model()
    events = []
    for i in range(60):
        events.append((0.2 + 0.9 * i, beats()))
        events.append((0.5 + 0.9 * i, ProbeResult(P, True, 0.8)))
    assert run_clock(model, events, until=53.5) == []
    assert model.health(P) == UP


def test_burst_of_late_heartbeats_is_suspect_never_down():
    """When heartbeats stall 1.5 s (GC pause) and arrive in a burst, SUSPECT then UP only."""
    model, beats = up_model()
    events = [(1.65 + 0.001 * i, beats()) for i in range(3)]
    events += [(0.5, ProbeResult(P, True, 0.9)), (1.7, ProbeResult(P, True, 1.2))]
    assert run_clock(model, events, until=2.5) == [
        HealthChanged(P, UP, SUSPECT, 'no heartbeat tick for 1 s', 1.10),
        HealthChanged(P, SUSPECT, UP, '3 good observations in a row', 1.652),
    ]


def test_flapping_probe_never_changes_health():
    """When single probes fail between good ones, the tier stays UP."""
    model, beats = up_model()
    out = []
    for i in range(40):
        out += model.handle(ProbeResult(P, i % 2 == 0, 0.01), now=0.2 + 0.1 * i)
        out += model.handle(beats(), now=0.25 + 0.1 * i)
    assert out == []


def test_flapping_tier_needs_rise_each_time():
    """When a tier goes down and up repeatedly, every change is reported once, with rise."""
    model, beats = up_model()
    out = []
    for cycle in range(3):
        t0 = 1.0 + cycle
        out += model.handle(TransitionEvent(P, 'errorprocessing'), now=t0)
        out += model.handle(TransitionEvent(P, 'active'), now=t0 + 0.1)
        out += model.handle(beats(), now=t0 + 0.2)
        assert model.health(P) == DOWN
        out += model.handle(beats(), now=t0 + 0.3)
    assert [(c.old, c.new) for c in out] == [(UP, DOWN), (DOWN, UP)] * 3


def test_respawn_comes_back_unconfigured_then_up():
    """When a crashed tier is respawned, it stays DOWN until active and rise is met."""
    model, _ = up_model()
    model.handle(ProcessExited(P, 1), now=1.0)
    assert model.handle(ProcessStarted(P, 4242, 's2'), now=1.2) == []
    assert model.snapshot(P)['lifecycle'] == 'unconfigured'
    assert model.next_deadline() == 2.2
    beats = Beats('s2')
    out = [model.handle(beats(), now=1.5)]
    for i, label in enumerate(['configuring', 'inactive', 'activating', 'active']):
        out.append(model.handle(TransitionEvent(P, label), now=1.6 + 0.01 * i))
    out.append(model.handle(beats(), now=1.7))
    out.append(model.handle(beats(), now=1.75))
    assert out == [[]] * 6 + [[HealthChanged(P, DOWN, UP, '3 good observations in a row', 1.75)]]


def test_manual_deactivate_is_suspect_then_down_when_probes_fail():
    """When an operator deactivates a tier, it is SUSPECT; failing probes make it DOWN."""
    model, beats = up_model()
    assert model.handle(TransitionEvent(P, 'deactivating'), now=1.0) == [
        HealthChanged(P, UP, SUSPECT, 'lifecycle state is deactivating', 1.0)]
    assert model.handle(TransitionEvent(P, 'inactive'), now=1.01) == []
    assert model.handle(beats(), now=1.05) == []
    assert model.handle(ProbeResult(P, False), now=1.2) == []
    assert model.handle(ProbeResult(P, False), now=1.7) == [HealthChanged(
        P, SUSPECT, DOWN, 'lifecycle state is inactive; 2 probes failed in a row', 1.7)]


@pytest.mark.parametrize('label', ['errorprocessing', 'finalized'])
def test_error_and_finalized_are_down_at_once(label):
    """When a tier reports errorprocessing or finalized, it is DOWN at once."""
    model, _ = up_model()
    assert model.handle(TransitionEvent(P, label), now=1.0) == [
        HealthChanged(P, UP, DOWN, f'lifecycle state is {label}', 1.0)]


def test_new_heartbeat_session_reports_restart():
    """When the heartbeat session changes (remote respawn), SessionChanged is reported."""
    model, _ = up_model()
    assert model.handle(Heartbeat(P, 's9', 1, 1), now=1.0) == [
        SessionChanged(P, 's1', 's9', 1.0),
        HealthChanged(P, UP, SUSPECT, 'lifecycle state is unconfigured', 1.0)]


def test_never_heard_tier_goes_suspect_from_start():
    """When a tier never sends a heartbeat, its witness fails heartbeat_timeout after start."""
    model = HealthModel(HealthSettings(heartbeat_timeout=0.5), tiers=('a', 'b'), now=10.0)
    assert model.next_deadline() == 10.5
    assert model.check(10.5) == [
        HealthChanged('a', UNKNOWN, SUSPECT, 'no heartbeat tick for 0.5 s', 10.5),
        HealthChanged('b', UNKNOWN, SUSPECT, 'no heartbeat tick for 0.5 s', 10.5)]


def test_unknown_event_raises():
    """When something that is not a health event is handled, TypeError names it."""
    with pytest.raises(TypeError, match='cannot handle int'):
        HealthModel().handle(3, now=0.0)


@pytest.mark.parametrize(('kwargs', 'problem'), [
    ({}, None),
    ({'heartbeat_timeout': 0}, 'health.heartbeat_timeout must be a positive number, got 0.'),
    ({'heartbeat_timeout': 'x'}, "health.heartbeat_timeout must be a positive number, got 'x'."),
    ({'probe_failures': 0}, 'health.probe_failures must be a whole number of at least 1, got 0.'),
    ({'rise': 1.5}, 'health.rise must be a whole number of at least 1, got 1.5.'),
    ({'rise': True}, 'health.rise must be a whole number of at least 1, got True.'),
])
def test_settings_validators(kwargs, problem):
    """When a threshold is out of range, construction fails with one sentence naming it."""
    if problem is None:
        assert HealthSettings(**kwargs).problems() == []
        return
    with pytest.raises(SettingsError) as info:
        HealthSettings(**kwargs)
    assert info.value.problems == [problem]


def test_exit_without_a_code_says_so_plainly():
    """When the exit is seen on the graph (no exit code is known), the reason says
    'process exited' without a code."""
    model, _ = up_model()
    assert model.handle(ProcessExited(P, None), now=1.0) == [
        HealthChanged(P, UP, DOWN, 'process exited', 1.0)]
