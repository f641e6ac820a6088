"""Recovery decisions driven by an injected clock, compared as command lists."""

import pytest

from websocket_redundancy.core.health import (
    DOWN,
    SUSPECT,
    UP,
    HealthChanged,
    ProcessExited,
    ProcessStarted,
    SessionChanged,
    TransitionEvent,
)
from websocket_redundancy.core.recovery import (
    ChangeState,
    ChangeStateResult,
    GetState,
    GetStateResult,
    MarkFailed,
    RecoveryFinished,
    RecoveryModel,
    RecoverySettings,
    RecoveryStarted,
    Respawn,
    backoff,
)
from websocket_redundancy.core.settings import SettingsError

P = 'primary'


def down(at, reason='process exited with code -9'):
    return HealthChanged(P, UP, DOWN, reason, at)


def model(supervised=(P,), **settings):
    return RecoveryModel(RecoverySettings(**settings), supervised=supervised, rand=lambda: 0.0)


@pytest.mark.parametrize(('attempt', 'base', 'cap', 'jitter', 'rand', 'seconds'), [
    (0, 0.1, 5.0, 0.0, 0.0, 0.1),
    (1, 0.1, 5.0, 0.0, 0.0, 0.2),
    (3, 0.1, 5.0, 0.0, 0.0, 0.8),
    (6, 0.1, 5.0, 0.0, 0.0, 5.0),
    (10_000, 0.1, 5.0, 0.0, 0.0, 5.0),
    (3, 0.1, 5.0, 0.5, 1.0, 0.4),
    (3, 0.1, 5.0, 0.5, 0.5, 0.6),
    (3, 0.1, 5.0, 1.0, 1.0, 0.0),
    (6, 0.1, 5.0, 0.2, 1.0, 4.0),
])
def test_backoff(attempt, base, cap, jitter, rand, seconds):
    """When retries fail, the wait doubles up to the cap, less the jitter picked by rand."""
    assert backoff(attempt, base, cap, jitter, rand) == pytest.approx(seconds)


@pytest.mark.parametrize(('args', 'message'), [
    ((-1, 0.1, 5.0, 0.1, 0.5), 'attempt must be a whole number'),
    ((1.5, 0.1, 5.0, 0.1, 0.5), 'attempt must be a whole number'),
    ((1, 0.1, 5.0, 1.5, 0.5), 'within \\[0, 1\\]'),
    ((1, 0.1, 5.0, 0.1, -0.1), 'within \\[0, 1\\]'),
])
def test_backoff_rejects_bad_arguments(args, message):
    """When backoff is called with nonsense, ValueError says which argument."""
    with pytest.raises(ValueError, match=message):
        backoff(*args)


def test_crash_of_supervised_tier_respawns_configures_activates():
    """When a supervised tier crashes, it is respawned, then configured and activated."""
    m = model()
    assert m.handle(ProcessExited(P, -9), now=1.0) == [
        RecoveryStarted(P, 'process exited with code -9', 1.0), Respawn(P)]
    assert m.handle(down(1.0), now=1.0) == []
    assert m.next_deadline() == 6.0
    assert m.handle(ProcessStarted(P, 4242, 's2'), now=1.2) == [GetState(P)]
    assert m.handle(GetStateResult(P, 'unconfigured'), now=1.3) == [ChangeState(P, 'configure')]
    assert m.handle(TransitionEvent(P, 'inactive'), now=1.35) == []  # our own step
    assert m.handle(ChangeStateResult(P, 'configure', True), now=1.4) == [
        ChangeState(P, 'activate')]
    assert m.handle(ChangeStateResult(P, 'activate', True), now=1.5) == [
        RecoveryFinished(P, True, 0.5, 'active', 1.5)]
    assert m.next_deadline() is None
    assert m.snapshot(P) == {'phase': 'idle', 'circuit': 'closed', 'restarts': 1,
                             'strikes': 1, 'last_failure': '', 'held': False}


def test_down_reported_before_exit_drops_the_call_and_respawns():
    """When DOWN arrives before the exit notice, the GetState is dropped for a Respawn."""
    m = model()
    assert m.handle(down(1.0), now=1.0) == [
        RecoveryStarted(P, 'health DOWN: process exited with code -9', 1.0), GetState(P)]
    assert m.handle(ProcessExited(P, -9), now=1.01) == [Respawn(P)]
    assert m.handle(GetStateResult(P, None), now=1.02) == []  # the stale answer


def test_remote_crash_waits_for_restart_without_respawning():
    """When an unsupervised tier dies, GetState backs off until its session changes."""
    m = model(supervised=())
    assert m.handle(down(1.0, 'no heartbeat tick for 1 s; 2 probes failed in a row'),
                    now=1.0)[1:] == [GetState(P)]
    assert m.tick(2.0) == []  # no answer: strike, wait backoff(0) = 0.1 s
    assert m.next_deadline() == pytest.approx(2.1)
    assert m.tick(2.1) == [GetState(P)]
    assert m.handle(SessionChanged(P, 's1', 's2', 2.5), now=2.5) == [GetState(P)]
    assert m.handle(GetStateResult(P, 'unconfigured'), now=2.6) == [ChangeState(P, 'configure')]


def hang(m, start, resume_at, until):
    """Drive ``m`` through a hang of the primary from ``start``: GetState is unanswered
    before ``resume_at`` and answered 'active' 10 ms later after it; the health model
    says UP 1.5 s after the resume. The commands and results by time."""
    log, healed = [], []

    def record(now, commands):
        for c in commands:
            log.append((round(now, 3), c))
            if isinstance(c, GetState) and now >= resume_at:
                record(now + 0.01, m.handle(GetStateResult(P, 'active'), now=now + 0.01))
    record(start, m.handle(down(start, 'no heartbeat tick for 1 s; 2 probes failed in a row'),
                           now=start))
    while (deadline := m.next_deadline()) is not None and deadline < until:
        if not healed and deadline >= resume_at + 1.5:
            healed.append(resume_at + 1.5)
            record(resume_at + 1.5, m.handle(
                HealthChanged(P, DOWN, UP, '3 good observations in a row', resume_at + 1.5),
                now=resume_at + 1.5))
            continue
        record(deadline, m.tick(deadline))
    return log


def alive_model():
    m = model()
    m.handle(ProcessStarted(P, 7, 's1'), now=-10.0)  # known alive, long ago
    m.handle(GetStateResult(P, 'active'), now=-9.9)
    return m


def test_hung_tier_gets_ever_rarer_queries_and_the_circuit_stays_closed():
    """When a tier is hung (alive, silent), only GetState is retried, less and less often;
    a hang is not a crash loop, so the tier is never marked FAILED for it."""
    m = alive_model()
    log = hang(m, 0.0, resume_at=40.0, until=30.0)
    assert [c for _, c in log if isinstance(c, (Respawn, MarkFailed))] == []
    queries = [at for at, c in log if isinstance(c, GetState)]
    assert queries[:5] == [0.0, 1.1, 2.3, 3.7, 5.5]
    gaps = [b - a for a, b in zip(queries, queries[1:], strict=False)]
    assert gaps == sorted(gaps) and max(gaps) <= 1.0 + 5.0 + 1e-9  # call timeout + cap
    assert m.snapshot(P)['circuit'] == 'closed' and m.snapshot(P)['strikes'] == 1  # the incident


def test_after_sigcont_the_next_query_ends_the_recovery():
    """When the hung tier resumes, the next GetState is answered and recovery ends."""
    m = alive_model()
    log = hang(m, 0.0, resume_at=6.0, until=20.0)
    finished = [c for _, c in log if isinstance(c, RecoveryFinished)]
    assert len(finished) == 1 and finished[0].ok and finished[0].detail == 'already active'


def test_two_hangs_in_a_minute_leave_the_circuit_closed():
    """When the same tier hangs twice within the failure window, it is recovered
    normally both times: silence strikes once per incident."""
    m = alive_model()
    for start in (0.0, 20.0):
        log = hang(m, start, resume_at=start + 6.0, until=start + 19.0)
        assert [c for _, c in log if isinstance(c, MarkFailed)] == []
        assert any(isinstance(c, RecoveryFinished) and c.ok for _, c in log)
    assert m.snapshot(P)['circuit'] == 'closed'


def test_manual_deactivate_is_reactivated():
    """When an operator deactivates a tier, the coordinator activates it again."""
    m = model()
    assert m.handle(TransitionEvent(P, 'deactivating'), now=1.0) == []
    assert m.handle(TransitionEvent(P, 'inactive'), now=1.1) == [
        RecoveryStarted(P, 'lifecycle state is inactive', 1.1), GetState(P)]
    assert m.handle(HealthChanged(P, UP, SUSPECT, 'lifecycle state is inactive', 1.1),
                    now=1.1) == []
    assert m.handle(GetStateResult(P, 'inactive'), now=1.2) == [ChangeState(P, 'activate')]
    assert m.handle(ChangeStateResult(P, 'activate', True), now=1.3) == [
        RecoveryFinished(P, True, 0.2, 'active', 1.3)]


def test_held_tier_is_left_alone():
    """When an operator holds a tier for maintenance, its incidents are not acted on."""
    m = model()
    m.hold(P)
    assert m.handle(TransitionEvent(P, 'inactive'), now=1.0) == []
    assert m.handle(down(1.0), now=1.0) == []
    m.hold(P, False)
    assert m.handle(TransitionEvent(P, 'unconfigured'), now=2.0)[1:] == [GetState(P)]


def test_restart_in_startup_grace_waits_for_services():
    """When a process just started, an unanswered GetState is retried without a strike."""
    m = model()
    assert m.handle(ProcessStarted(P, 9, 's1'), now=0.0) == [
        RecoveryStarted(P, 'process restarted', 0.0), GetState(P)]
    assert m.handle(GetStateResult(P, None), now=0.5) == []
    assert m.next_deadline() == pytest.approx(0.7)
    assert m.tick(0.7) == [GetState(P)]
    assert m.tick(1.7) == []  # timed out, still in grace: settle again
    assert m.tick(1.9) == [GetState(P)]
    assert m.handle(GetStateResult(P, 'configuring'), now=2.0) == []  # mid-transition
    assert m.tick(2.2) == [GetState(P)]
    assert m.handle(GetStateResult(P, 'inactive'), now=2.3) == [ChangeState(P, 'activate')]
    assert m.snapshot(P)['strikes'] == 0


def test_failed_transition_backs_off_and_asks_again():
    """When ChangeState fails, the model waits, then starts over from GetState."""
    m = model()
    m.handle(TransitionEvent(P, 'unconfigured'), now=1.0)
    m.handle(GetStateResult(P, 'unconfigured'), now=1.1)
    assert m.handle(ChangeStateResult(P, 'activate', True), now=1.15) == []  # foreign
    assert m.handle(ChangeStateResult(P, 'configure', False), now=1.2) == []
    assert m.snapshot(P)['last_failure'] == 'ChangeState configure failed'
    assert m.tick(1.3) == [GetState(P)]


def test_transition_timeout_is_a_failure():
    """When ChangeState is not answered in call_timeout, it counts as a failure."""
    m = model()
    m.handle(TransitionEvent(P, 'inactive'), now=1.0)
    m.handle(GetStateResult(P, 'inactive'), now=1.1)
    assert m.tick(2.1) == []
    assert m.snapshot(P)['last_failure'] == 'ChangeState activate got no answer within 1 s'
    assert m.handle(ChangeStateResult(P, 'activate', True), now=2.15) == []  # too late


def test_error_processing_is_waited_out():
    """When the tier is in errorprocessing, the model waits and asks again."""
    m = model()
    m.handle(down(1.0, 'lifecycle state is errorprocessing'), now=1.0)
    assert m.handle(GetStateResult(P, 'errorprocessing'), now=1.1) == []
    assert m.tick(1.25) == [GetState(P)]
    assert m.handle(GetStateResult(P, 'unconfigured'), now=1.3) == [ChangeState(P, 'configure')]


@pytest.mark.parametrize(('supervised', 'expected'), [
    ((P,), [Respawn(P)]),
    ((), []),
])
def test_finalized_needs_a_respawn(supervised, expected):
    """When a tier is finalized, a supervised one is respawned; others wait with backoff."""
    m = model(supervised=supervised)
    m.handle(TransitionEvent(P, 'finalized'), now=1.0)
    assert m.handle(GetStateResult(P, 'finalized'), now=1.1) == expected


def test_respawn_that_never_starts_is_retried():
    """When a respawned process does not start in respawn_timeout, Respawn is retried."""
    m = model()
    m.handle(ProcessExited(P, 1), now=0.0)
    assert m.tick(5.0) == []
    assert m.tick(5.1) == [Respawn(P)]
    assert m.snapshot(P)['restarts'] == 2


def test_unparseable_state_is_a_failure():
    """When GetState answers a label that is not a state, it is a failure with a reason."""
    m = model()
    m.handle(TransitionEvent(P, 'inactive'), now=1.0)
    assert m.handle(GetStateResult(P, 'sleepy'), now=1.1) == []
    assert 'not a lifecycle state label' in m.snapshot(P)['last_failure']


@pytest.mark.parametrize(('spacing', 'threshold', 'window', 'opens_at'), [
    (1.0, 5, 60.0, 5),      # crash every second: FAILED on the 5th incident
    (1.0, 3, 60.0, 3),
    (20.0, 5, 60.0, None),  # every 20 s: only 3 in a minute, never FAILED
    (10.0, 5, 30.0, None),
    (10.0, 5, 60.0, 5),
])
def test_crash_loop_circuit_breaker(spacing, threshold, window, opens_at):
    """When a tier crashes and recovers repeatedly, the circuit opens per threshold."""
    m = model(failure_threshold=threshold, failure_window=window)
    opened = None
    for n in range(1, 9):
        t0 = n * spacing
        out = m.handle(ProcessExited(P, 1), now=t0)
        if any(isinstance(c, MarkFailed) for c in out):
            opened = n
            break
        if Respawn(P) not in out:  # a repeat incident waits backoff first
            assert m.tick(m.next_deadline()) == [Respawn(P)]
        m.handle(ProcessStarted(P, n, f's{n}'), now=t0 + 0.3)
        m.handle(GetStateResult(P, 'active'), now=t0 + 0.4)
    assert opened == opens_at


def test_unknown_event_raises():
    """When something that is not a recovery input is handled, TypeError names it."""
    with pytest.raises(TypeError, match='cannot handle str'):
        model().handle('boom', now=0.0)


@pytest.mark.parametrize(('kwargs', 'problem'), [
    ({'call_timeout': 0}, 'recovery.call_timeout must be a positive number, got 0.'),
    ({'jitter_fraction': 2}, 'recovery.jitter_fraction must be a number within [0, 1], got 2.'),
    ({'failure_threshold': 0},
     'recovery.failure_threshold must be a whole number of at least 1, got 0.'),
    ({'cool_off': -1}, 'recovery.cool_off must be a positive number, got -1.'),
])
def test_settings_validators(kwargs, problem):
    """When a recovery setting is out of range, construction names it in one sentence."""
    with pytest.raises(SettingsError) as info:
        RecoverySettings(**kwargs)
    assert info.value.problems == [problem]
    assert RecoverySettings().problems() == []


def test_restarted_active_tier_still_down_is_asked_again_without_a_strike():
    """When a restarted tier answers active while its health is still DOWN (the witnesses
    have not caught up yet), recovery settles and asks again instead of striking."""
    m = model()
    assert m.handle(ProcessExited(P, None), now=1.0)[1:] == [Respawn(P)]
    m.handle(down(1.0), now=1.0)
    assert m.handle(ProcessStarted(P, 77, 's2'), now=2.0) == [GetState(P)]
    assert m.handle(GetStateResult(P, 'active'), now=2.01) == []
    assert m.snapshot(P)['strikes'] == 1  # only the crash itself
    assert m.handle(HealthChanged(P, DOWN, UP, '3 good observations in a row', 2.1),
                    now=2.1) == [GetState(P)]
    assert m.handle(GetStateResult(P, 'active'), now=2.11) == [
        RecoveryFinished(P, True, 1.11, 'already active', 2.11)]


def test_exit_seen_on_the_graph_has_no_code():
    """When the exit has no code (seen as a vanished heartbeat), the reason omits it."""
    assert model().handle(ProcessExited(P, None), now=1.0) == [
        RecoveryStarted(P, 'process exited', 1.0), Respawn(P)]


def test_active_but_down_beyond_the_catch_up_window_is_a_failure():
    """When a tier answers 'active' but its witnesses never say UP, that is still a
    failure once the catch-up window is over (reported and struck, not waited on)."""
    m = alive_model()
    queries = []
    commands = m.handle(down(0.0, 'probe failed; heartbeat stale'), now=0.0)
    now = 0.0
    while now < 12.0:
        for c in commands:
            if isinstance(c, GetState):
                queries.append(now)
                commands = m.handle(GetStateResult(P, 'active'), now=now + 0.01)
                break
        else:
            now = m.next_deadline()
            commands = m.tick(now)
    assert len([at for at in queries if at < 5.0]) >= 5  # the window: asked, no strike
    snapshot = m.snapshot(P)
    assert snapshot['last_failure'] == 'lifecycle is active but the tier is DOWN'
    assert snapshot['strikes'] >= 2


def test_bringing_a_new_tier_up_is_no_strike_but_losing_an_active_one_is():
    """When a tier is first seen unconfigured (it just started), configuring and
    activating it is normal start-up, not a failure; once it was active, falling back
    to unconfigured or inactive is an incident that counts toward the breaker."""
    m = model()
    assert m.handle(TransitionEvent(P, 'unconfigured'), now=0.0)[-1] == GetState(P)
    assert m.handle(GetStateResult(P, 'unconfigured'), now=0.01) == [ChangeState(P, 'configure')]
    assert m.handle(ChangeStateResult(P, 'configure', True), now=0.02) == [
        ChangeState(P, 'activate')]
    [done] = m.handle(ChangeStateResult(P, 'activate', True), now=0.03)
    assert done.ok and m.snapshot(P)['strikes'] == 0
    m.handle(TransitionEvent(P, 'inactive'), now=5.0)
    assert m.snapshot(P)['strikes'] == 1
