"""The failover client machine: injected clock, no sleeps, command lists compared."""
from collections import deque

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from websocket_redundancy.core.failover import FailoverMachine
from websocket_redundancy.core.failover_types import (
    AllDown,
    CallService,
    CloseConn,
    Closed,
    Deliver,
    Directory,
    Dropped,
    FailoverSettings,
    Frame,
    GapInfo,
    Notify,
    Open,
    Opened,
    Publish,
    Respond,
    ScopeChange,
    Send,
    Start,
    Subscribe,
    Tick,
    TierChange,
    Unsubscribe,
)
from websocket_redundancy.core.ranking import TierInfo
from websocket_redundancy.core.ringbuffer import ReplayBuffer
from websocket_redundancy.core.scope import Scope
from websocket_redundancy.core.settings import HEARTBEAT_TOPIC, SettingsError

P, S, T = 'ws://p', 'ws://s', 'ws://t'
ODOM, IMU, GPS = '/odom', '/imu/data', '/gps/fix'
SET_LEVEL = {'op': 'set_level', 'level': 'error'}
HB_SUB = {'op': 'subscribe', 'topic': HEARTBEAT_TOPIC, 'type': 'std_msgs/msg/String',
          'id': f'subscribe:{HEARTBEAT_TOPIC}', 'throttle_rate': 0, 'queue_length': 0,
          'resume_keys': True}
TYPES = {ODOM: 'nav_msgs/msg/Odometry', IMU: 'sensor_msgs/msg/Imu',
         GPS: 'sensor_msgs/msg/NavSatFix'}


def sub(topic, resume=None):
    frame = {'op': 'subscribe', 'topic': topic, 'type': TYPES[topic], 'id': f'subscribe:{topic}',
             'throttle_rate': 0, 'queue_length': 0, 'resume_keys': True}
    if resume:
        frame['resume'] = {'epoch': resume[0], 'seq': resume[1],
                           'streams': {resume[0]: resume[1]}}
    return frame


def unsub(topic):
    return {'op': 'unsubscribe', 'topic': topic, 'id': f'subscribe:{topic}'}


def hb(url):
    return Frame(url, {'op': 'publish', 'topic': HEARTBEAT_TOPIC, 'msg': {'data': '{}'}})


def pub(url, topic, seq, epoch='e1'):
    return Frame(url, {'op': 'publish', 'topic': topic, 'msg': {'n': seq},
                       'epoch': epoch, 'seq': seq})


def opened(url):
    return [Send(url, SET_LEVEL), Send(url, HB_SUB)]


def changed(previous, current, reason):
    return Notify('tier_changed', TierChange(previous, current, reason))


def deliver(url, topic, seq, epoch='e1'):
    return Deliver(topic, {'n': seq}, url, epoch, seq)


def machine(**kw):
    return FailoverMachine(FailoverSettings(**kw), jitter=lambda: 1.0)


def running(topics=(ODOM,), urls=(P, S, T), **kw):
    """A machine active on P with warm standby S, app subscribed to ``topics`` at t=0."""
    m = machine(**kw)
    for topic in topics:
        assert m.handle(Subscribe(topic, TYPES[topic]), 0.0) == []
    assert m.handle(Start(urls), 0.0) == [Open(P)]
    assert m.handle(Opened(P), 0.01) == opened(P) + [
        changed(None, P, 'start'), *[Send(P, sub(x)) for x in topics], Open(S)]
    assert m.handle(Opened(S), 0.02) == opened(S)
    return m


def beat(m, now, *urls):
    return [c for url in urls for c in m.handle(hb(url), now)]


def idle(m, start, end, *urls, step=0.1):
    """Heartbeats from ``urls`` every ``step`` after ``start`` up to ``end``; the commands."""
    out, now = [], start
    while now + step <= end + 1e-9:
        now = round(now + step, 6)
        out += beat(m, now, *urls)
    return out


# ---- failover -------------------------------------------------------------------------


def test_crash_of_primary_switches_to_warm_standby_with_resume():
    """When the primary closes with 1006, the standby takes over at once, resuming after
    the last delivered sample, and the next tier becomes the standby."""
    m = running()
    assert m.handle(pub(P, ODOM, 1), 0.05) == [deliver(P, ODOM, 1)]
    assert m.handle(pub(P, ODOM, 2), 0.06) == [deliver(P, ODOM, 2)]
    assert m.handle(Closed(P, 1006), 0.1) == [
        changed(P, S, 'ws://p closed 1006'), Send(S, sub(ODOM, ('e1', 2))), Open(T)]
    assert m.active == S
    # the replay overlaps what was delivered: no repeat, then the rest in order
    cmds = [c for seq in (2, 3, 4) for c in m.handle(pub(S, ODOM, seq), 0.11)]
    assert cmds == [deliver(S, ODOM, 3), deliver(S, ODOM, 4)]


def test_hang_detected_from_missed_heartbeats():
    """When the primary stops sending heartbeats for 3 x 100 ms, it is closed and the
    standby takes over, exactly at the deadline."""
    m = running()
    m.handle(pub(P, ODOM, 7), 0.1)
    beat(m, 0.2, P, S)
    beat(m, 0.45, S)
    assert m.next_deadline() == pytest.approx(0.5)
    assert m.handle(Tick(), 0.49) == []
    assert m.handle(Tick(), 0.5) == [
        CloseConn(P, 4000, 'heartbeat timeout'),
        changed(P, S, 'ws://p heartbeat timeout'), Send(S, sub(ODOM, ('e1', 7))), Open(T)]


def test_any_frame_counts_as_alive():
    """When the tier sends data but a heartbeat is late, it is not declared hung."""
    m = running()
    for i in range(1, 10):
        assert m.handle(pub(P, ODOM, i), 0.02 + 0.1 * i) == [deliver(P, ODOM, i)]
        beat(m, 0.02 + 0.1 * i, S)
    assert m.active == P


def test_standby_loss_opens_the_next_standby():
    """When the warm standby closes, the next-ranked tier is opened as standby."""
    m = running()
    assert m.handle(Closed(S, 1006), 0.1) == [Open(T)]
    assert m.roles() == {P: 'active', T: 'standby'}


def test_connect_timeout_moves_on():
    """When a tier never answers the open, it is abandoned after connect_timeout_s."""
    m = machine(connect_timeout_s=1.0)
    assert m.handle(Start((P, S)), 0.0) == [Open(P)]
    assert m.next_deadline() == 1.0
    assert m.handle(Tick(), 1.0) == [CloseConn(P, 4000, 'connect timeout'), Open(S)]


def test_capacity_refusal_moves_on_and_waits_for_backoff():
    """When a tier closes with 1013 (full), the next tier is tried at once and the full
    one is not tried again before its backoff."""
    m = machine()
    m.handle(Start((P, S)), 0.0)
    assert m.handle(Closed(P, 1013, 'full'), 0.01) == [Open(S)]
    assert m.handle(Opened(S), 0.02) == opened(S) + [
        changed(None, S, 'start')]
    assert m.next_deadline() == pytest.approx(0.11)  # jitter 1.0: full first step 0.1 s
    assert beat(m, 0.1, S) == []
    assert beat(m, 0.11, S) == [Open(P)]  # probing it again as failback candidate
    assert m.roles() == {S: 'active', P: 'candidate'}


def test_all_down_then_one_returns():
    """When every tier failed, all_down is reported once per cycle, the backoff grows,
    and the first tier that answers becomes active."""
    m = machine()
    assert m.handle(Start((P, S)), 0.0) == [Open(P)]
    assert m.handle(Closed(P, 1006), 0.0) == [Open(S)]
    assert m.handle(Closed(S, 1006), 0.0) == [Notify('all_down', AllDown(1, 0.1))]
    assert m.next_deadline() == 0.1
    assert m.handle(Tick(), 0.05) == []
    assert m.handle(Tick(), 0.1) == [Open(P)]
    assert m.handle(Closed(P, 1006), 0.1) == [Open(S)]
    assert m.handle(Closed(S, 1006), 0.1) == [Notify('all_down', AllDown(2, 0.2))]
    assert m.next_deadline() == pytest.approx(0.3)
    assert m.handle(Tick(), m.next_deadline()) == [Open(P)]
    assert m.handle(Closed(P, 1006), 0.31) == [Open(S)]
    assert m.handle(Opened(S), 0.31) == opened(S) + [changed(None, S, 'start')]


def test_backoff_resets_after_a_success():
    """When a tier was reached, the next outage starts again from the first step."""
    m = machine()
    m.handle(Start((P,)), 0.0)
    m.handle(Closed(P, 1006), 0.0)
    m.handle(Tick(), 0.1)
    m.handle(Opened(P), 0.1)
    assert m.handle(Closed(P, 1006), 0.2) == [Notify('all_down', AllDown(1, 0.1))]


# ---- failback -------------------------------------------------------------------------


def fail_over_to_s(m, now=0.1):
    m.handle(pub(P, ODOM, 1), now - 0.01)
    m.handle(Closed(P, 1006), now)
    m.handle(Opened(T), now)


def test_failback_after_hold_down_make_before_break():
    """When the primary returns and stays healthy for failback_hold_s, it is subscribed
    with resume, samples come from whichever tier is ahead, and once it caught up the
    lower tier goes back to standby (heartbeat only) and the old standby is closed."""
    m = running(failback_hold_s=2.0)
    fail_over_to_s(m)
    m.handle(pub(S, ODOM, 2), 0.15)
    assert beat(m, 0.2, S, T) == [Open(P)]  # probe after P's backoff
    assert m.handle(Opened(P), 0.25) == opened(P)
    assert idle(m, 0.25, 2.15, P, S, T) == []
    assert beat(m, 2.25, P) == [Send(P, sub(ODOM, ('e1', 2)))]
    # S is ahead: S delivers 3; P replays 3 (dropped) but is not yet at S's position
    assert m.handle(pub(S, ODOM, 3), 2.26) == [deliver(S, ODOM, 3)]
    assert m.handle(pub(S, ODOM, 4), 2.27) == [deliver(S, ODOM, 4)]
    assert m.handle(pub(P, ODOM, 3), 2.28) == []
    assert m.handle(pub(P, ODOM, 4), 2.29) == [
        changed(S, P, 'failback'), CloseConn(T, 1000, 'no longer needed'),
        Send(S, unsub(ODOM))]
    assert m.roles() == {S: 'standby', P: 'active'}
    assert m.handle(pub(P, ODOM, 5), 2.3) == [deliver(P, ODOM, 5)]
    assert m.handle(pub(S, ODOM, 5), 2.3) == []  # S no longer carries /odom


def test_flapping_primary_never_wins_back():
    """When the primary comes back but dies again before the hold-down ends, the client
    stays on the secondary: no ping-pong."""
    m = running(failback_hold_s=2.0)
    fail_over_to_s(m)
    now, changes, up = 0.1, [], False
    for _ in range(200):  # 10 s of flapping: up 1.5 s, down until the next probe
        now = round(now + 0.05, 2)
        out = beat(m, now, S, T) + (beat(m, now, P) if up else [])
        if Open(P) in out:
            out += m.handle(Opened(P), now)
            up, came_up = True, now
        if up and now - came_up >= 1.5:
            out += m.handle(Closed(P, 1006), now)
            up = False
        changes += [c for c in out if isinstance(c, Notify)]
    assert changes == []
    assert m.active == S


def test_failback_waits_for_directory_up():
    """When the directory says the recovered tier is not UP, it ranks below the active
    tier and is not probed; once the directory says UP, it is probed and must then hold
    for failback_hold_s."""
    m = running(failback_hold_s=1.0)
    tiers = [TierInfo(P, 'primary', 0, 'UP'), TierInfo(S, 'secondary', 1, 'UP'),
             TierInfo(T, 'tertiary', 2, 'UP')]
    m.handle(Directory(tuple(tiers)), 0.03)
    fail_over_to_s(m)
    m.handle(Directory((TierInfo(P, 'primary', 0, 'DOWN'), *tiers[1:])), 0.15)
    assert idle(m, 0.15, 2.95, S, T) == []
    assert m.roles() == {S: 'active', T: 'standby'}
    assert m.handle(Directory(tuple(tiers)), 3.0) == [Open(P)]
    m.handle(Opened(P), 3.05)
    assert idle(m, 3.05, 4.0, P, S, T) == []
    assert beat(m, 4.05, P) == [Send(P, sub(ODOM, ('e1', 1)))]


def test_standby_promoted_by_ranking_still_serves_hold_down():
    """When the directory demotes the active tier so that the standby ranks above it,
    the standby becomes the failback candidate and must hold for failback_hold_s from
    then, not from when it was opened: one DOWN report causes no instant switch."""
    m = running(failback_hold_s=1.0)
    tiers = [TierInfo(P, 'primary', 0, 'UP'), TierInfo(S, 'secondary', 1, 'UP')]
    m.handle(Directory(tuple(tiers)), 0.03)
    assert idle(m, 0.03, 2.03, P, S) == []
    assert m.handle(Directory((TierInfo(P, 'primary', 0, 'DOWN'), tiers[1])), 2.05) == [
        Open(T)]  # the standby slot is free again
    assert m.roles() == {P: 'active', S: 'candidate', T: 'standby'}
    m.handle(Opened(T), 2.1)
    assert idle(m, 2.05, 3.0, P, S, T) == []
    assert beat(m, 3.05, P, S, T) == [
        Send(S, sub(ODOM)), changed(P, 'secondary', 'failback'),
        CloseConn(P, 1000, 'no longer needed')]  # nothing delivered yet: caught up at once
    assert m.roles() == {S: 'active', T: 'standby'}


def test_a_suspect_active_tier_keeps_its_clients():
    """When the coordinator only suspects the active tier (a late heartbeat on a busy
    host) while the client still hears it, the client stays: no false failover."""
    m = running(failback_hold_s=1.0)
    tiers = [TierInfo(P, 'primary', 0, 'UP'), TierInfo(S, 'secondary', 1, 'UP')]
    m.handle(Directory(tuple(tiers)), 0.03)
    assert idle(m, 0.03, 2.03, P, S) == []
    assert m.handle(Directory((TierInfo(P, 'primary', 0, 'SUSPECT'), tiers[1])), 2.05) == []
    assert idle(m, 2.05, 6.0, P, S) == []
    assert m.roles() == {P: 'active', S: 'standby'}


def test_catchup_timeout_switches_anyway():
    """When the higher tier does not catch up within catchup_timeout_s, it takes over
    anyway; the filter still prevents repeats."""
    m = running(failback_hold_s=1.0, catchup_timeout_s=0.5)
    fail_over_to_s(m)
    assert beat(m, 0.2, S, T) == [Open(P)]
    m.handle(Opened(P), 0.2)
    assert idle(m, 0.2, 1.1, P, S, T) == []
    assert beat(m, 1.2, P) == [Send(P, sub(ODOM, ('e1', 1)))]
    assert m.handle(pub(S, ODOM, 2), 1.3) == [deliver(S, ODOM, 2)]
    assert idle(m, 1.2, 1.6, P, S, T) == []
    assert beat(m, 1.7, P) == [changed(S, P, 'failback'), CloseConn(T, 1000, 'no longer needed'),
                               Send(S, unsub(ODOM))]
    assert m.handle(pub(P, ODOM, 2), 1.71) == []
    assert m.handle(pub(P, ODOM, 3), 1.72) == [deliver(P, ODOM, 3)]


# ---- scope and gaps -------------------------------------------------------------------


def scoped_directory():
    return Directory((
        TierInfo(P, 'primary', 0, 'UP', subscribe=Scope(('/**',))),
        TierInfo(S, 'secondary', 1, 'UP', subscribe=Scope((ODOM, GPS))),
        TierInfo(T, 'tertiary', 2, 'UP', subscribe=Scope((GPS,))),
    ))


def test_out_of_scope_topics_are_reported_degraded_then_restored():
    """When the new tier's scope lacks a topic, it is reported scope_degraded and not
    subscribed; when a tier that has it takes over, scope_restored."""
    m = running(topics=(ODOM, IMU), failback_hold_s=1.0)
    m.handle(scoped_directory(), 0.03)
    m.handle(pub(P, ODOM, 1), 0.05)
    assert m.handle(Closed(P, 1006), 0.1) == [
        changed(P, 'secondary', 'primary closed 1006'), Send(S, sub(ODOM, ('e1', 1))),
        Notify('scope_degraded', ScopeChange(IMU, 'secondary')), Open(T)]
    m.handle(Opened(T), 0.1)
    assert beat(m, 0.2, S, T) == [Open(P)]
    m.handle(Opened(P), 0.2)
    assert idle(m, 0.2, 1.1, P, S, T) == []
    assert beat(m, 1.2, P) == [Send(P, sub(ODOM, ('e1', 1))), Send(P, sub(IMU))]
    assert beat(m, 1.25, P) == [
        changed('secondary', 'primary', 'failback'),
        Notify('scope_restored', ScopeChange(IMU, 'primary')),
        CloseConn(T, 1000, 'no longer needed'), Send(S, unsub(ODOM))]


def test_runtime_scope_refusal_is_degraded():
    """When the tier refuses a subscription with a status error, the topic is degraded."""
    m = running(topics=(ODOM,))
    assert m.handle(Frame(P, {'op': 'status', 'level': 'error', 'id': 'subscribe:/odom',
                              'msg': '/odom is outside this tier'}), 0.05) == [
        Notify('scope_degraded', ScopeChange(ODOM, P))]


def test_resume_gap_epoch_changed_reported_once():
    """When the new tier reports that the epoch changed, the app hears of the gap once,
    not again when the new epoch's first sample arrives."""
    m = running()
    m.handle(pub(P, ODOM, 41), 0.05)
    m.handle(Closed(P, 1006), 0.1)
    gap = {'op': 'resume_gap', 'topic': ODOM, 'id': 'subscribe:/odom',
           'requested': {'epoch': 'e1', 'seq': 41}, 'available': {'epoch': 'e2', 'seq': 1},
           'reason': 'epoch changed'}
    assert m.handle(Frame(S, gap), 0.11) == [
        Notify('gap', GapInfo(ODOM, 'epoch changed', ('e1', 41), ('e2', 1), S))]
    assert m.handle(pub(S, ODOM, 1, 'e2'), 0.12) == [deliver(S, ODOM, 1, 'e2')]


def test_resume_gap_buffer_too_short():
    """When the new tier's buffer no longer holds the next sample, the gap is reported
    with what is available, and delivery continues from there."""
    m = running()
    m.handle(pub(P, ODOM, 10), 0.05)
    m.handle(Closed(P, 1006), 0.1)
    gap = {'op': 'resume_gap', 'topic': ODOM, 'id': 'subscribe:/odom',
           'requested': {'epoch': 'e1', 'seq': 10}, 'available': {'epoch': 'e1', 'seq': 30},
           'reason': 'buffer too short'}
    assert m.handle(Frame(S, gap), 0.11) == [
        Notify('gap', GapInfo(ODOM, 'buffer too short', ('e1', 10), ('e1', 30), S))]
    assert m.handle(pub(S, ODOM, 30), 0.12) == [deliver(S, ODOM, 30)]


def test_resume_gap_out_of_scope():
    """When the tier answers resume with 'out of scope', the topic is scope_degraded."""
    m = running()
    m.handle(pub(P, ODOM, 3), 0.05)
    m.handle(Closed(P, 1006), 0.1)
    gap = {'op': 'resume_gap', 'topic': ODOM, 'id': 'subscribe:/odom',
           'requested': {'epoch': 'e1', 'seq': 3}, 'available': None, 'reason': 'out of scope'}
    assert m.handle(Frame(S, gap), 0.11) == [Notify('scope_degraded', ScopeChange(ODOM, S))]


def test_live_hole_is_a_gap_and_a_new_epoch_is_not():
    """When the live stream skips seqs, a gap is reported; when a sample of another epoch
    arrives (a second publisher, or the source restarted) it starts its own stream and is
    delivered without a gap."""
    m = running()
    m.handle(pub(P, ODOM, 1), 0.05)
    assert m.handle(pub(P, ODOM, 4), 0.06) == [
        Notify('gap', GapInfo(ODOM, 'hole', ('e1', 1), ('e1', 4), P)), deliver(P, ODOM, 4)]
    assert m.handle(pub(P, ODOM, 1, 'e2'), 0.07) == [deliver(P, ODOM, 1, 'e2')]
    assert m.handle(pub(P, ODOM, 5), 0.08) == [deliver(P, ODOM, 5)]


def test_resume_names_every_stream_of_the_topic():
    """When a topic has two publishers and the primary dies, the standby is asked to
    resume after the most recent sample and after each stream's last sample."""
    m = running()
    m.handle(pub(P, ODOM, 7, 'rover'), 0.05)
    m.handle(pub(P, ODOM, 2, 'judge'), 0.06)
    m.handle(pub(P, ODOM, 8, 'rover'), 0.07)
    resume = {'epoch': 'rover', 'seq': 8, 'streams': {'judge': 2, 'rover': 8}}
    assert m.handle(Closed(P, 1006), 0.1) == [
        changed(P, S, 'ws://p closed 1006'), Send(S, {**sub(ODOM), 'resume': resume}),
        Open(T)]
    assert m.handle(pub(S, ODOM, 8, 'rover'), 0.11) == []
    assert m.handle(pub(S, ODOM, 3, 'judge'), 0.12) == [deliver(S, ODOM, 3, 'judge')]


# ---- hot standby ----------------------------------------------------------------------


def test_hot_standby_dedups_and_switches_without_resubscribe():
    """When hot standby is on, both tiers carry the topic, each sample is delivered once
    from whichever is first, and a crash needs no new subscription."""
    m = machine(hot_standby=True)
    m.handle(Subscribe(ODOM, TYPES[ODOM]), 0.0)
    m.handle(Start((P, S)), 0.0)
    m.handle(Opened(P), 0.01)
    assert m.handle(Opened(S), 0.02) == opened(S) + [Send(S, sub(ODOM))]
    assert m.handle(pub(P, ODOM, 1), 0.03) == [deliver(P, ODOM, 1)]
    assert m.handle(pub(S, ODOM, 1), 0.03) == []
    assert m.handle(pub(S, ODOM, 2), 0.04) == [deliver(S, ODOM, 2)]
    assert m.handle(pub(P, ODOM, 2), 0.04) == []
    assert m.handle(Closed(P, 1006), 0.05) == [changed(P, S, 'ws://p closed 1006')]
    assert m.handle(pub(S, ODOM, 3), 0.06) == [deliver(S, ODOM, 3)]


# ---- app requests ---------------------------------------------------------------------


def test_subscribe_and_unsubscribe_while_running():
    """When the app subscribes or unsubscribes later, the active tier is told."""
    m = running(topics=())
    assert m.handle(Subscribe(GPS, TYPES[GPS]), 0.05) == [Send(P, sub(GPS))]
    assert m.handle(Subscribe(GPS, TYPES[GPS]), 0.05) == []
    assert m.handle(Unsubscribe(GPS), 0.06) == [Send(P, unsub(GPS))]
    assert m.handle(Unsubscribe(GPS), 0.06) == []


def test_publish_advertises_once_and_respects_scope():
    """When the app publishes, the topic is advertised once; outside scope it is dropped."""
    m = running(topics=())
    m.handle(Directory((TierInfo(P, 'primary', 0, 'UP', publish=Scope(('/cmd_vel',))),)), 0.03)
    twist = {'linear': {'x': 1.0}}
    assert m.handle(Publish('/cmd_vel', 'geometry_msgs/msg/Twist', twist), 0.04) == [
        Send(P, {'op': 'advertise', 'topic': '/cmd_vel', 'type': 'geometry_msgs/msg/Twist',
                 'id': 'advertise:/cmd_vel'}),
        Send(P, {'op': 'publish', 'topic': '/cmd_vel', 'msg': twist})]
    assert m.handle(Publish('/cmd_vel', 'geometry_msgs/msg/Twist', twist), 0.05) == [
        Send(P, {'op': 'publish', 'topic': '/cmd_vel', 'msg': twist})]
    assert m.handle(Publish('/x', 'std_msgs/msg/Bool', {}), 0.05) == [
        Notify('publish_dropped', Dropped('/x', "outside primary's publish scope"))]


def test_service_call_answered_or_failed_on_loss():
    """When a service call's tier is lost before the answer, the call fails."""
    m = running(topics=())
    args = {}
    assert m.handle(CallService('/websocket_redundancy/status', args, 'c1'), 0.03) == [
        Send(P, {'op': 'call_service', 'service': '/websocket_redundancy/status',
                 'args': args, 'id': 'c1'})]
    assert m.handle(Frame(P, {'op': 'service_response', 'id': 'c1', 'result': True,
                              'values': {'success': True}}), 0.04) == [
        Respond('c1', True, {'success': True})]
    m.handle(CallService('/websocket_redundancy/status', args, 'c2'), 0.05)
    assert m.handle(Closed(P, 1006), 0.06)[0] == Respond('c2', False, 'ws://p closed')


def test_unknown_event_and_bad_settings_are_refused_with_a_sentence():
    """When the machine gets something it does not know, it says which."""
    with pytest.raises(TypeError, match='cannot handle str'):
        machine().handle('hello', 0.0)
    with pytest.raises(ValueError, match='at least one tier URL'):
        machine().handle(Start(()), 0.0)
    with pytest.raises(SettingsError, match='heartbeat_timeout_s'):
        FailoverSettings(heartbeat_timeout_s=0)
    with pytest.raises(SettingsError, match='hot_standby needs warm_standby'):
        FailoverSettings(hot_standby=True, warm_standby=False)


# ---- a stream across a kill -----------------------------------------------------------


def simulate(n, kill_at, lag_p, lag_s, hang, hot=False):
    """Seq 1..n from one source reach tiers P and S (each with its own lag). P dies at step
    ``kill_at`` (closed, or hung). S answers ``resume`` from a real ReplayBuffer."""
    m = machine(hot_standby=hot)
    buf = ReplayBuffer(10_000, 600.0)
    frames = {seq: pub(S, ODOM, seq).data for seq in range(1, n + 1)}
    state = {'now': 0.0, 's_carries': False, 'p_alive': True, 'sent_s': 0}
    delivered, notes, queue = [], [], deque()

    def run(event):
        queue.append(event)
        while queue:
            for c in m.handle(queue.popleft(), state['now']):
                if isinstance(c, Deliver):
                    delivered.append(c.seq)
                elif isinstance(c, Notify) and c.kind == 'gap':
                    notes.append(c)
                elif isinstance(c, Open) and c.url == P and not state['p_alive']:
                    queue.append(Closed(P, 1006))
                elif isinstance(c, Send) and c.url == S and c.frame.get('topic') == ODOM:
                    state['s_carries'] = c.frame['op'] == 'subscribe'
                    resume = c.frame.get('resume')
                    if resume:
                        replay, gap = buf.since(resume['epoch'], resume['seq'], state['now'])
                        assert gap is None
                        queue.extend(Frame(S, frames[int(f)]) for f in replay)

    run(Subscribe(ODOM, TYPES[ODOM]))
    run(Start((P, S)))
    run(Opened(P))
    run(Opened(S))
    for step in range(1, n + max(lag_p, lag_s) + 60):
        state['now'] = round(step * 0.01, 2)
        if step == kill_at:
            state['p_alive'] = False
            state['before_kill'] = len(delivered)
            if not hang:
                run(Closed(P, 1006))
        if state['p_alive'] and m.active == P and 1 <= step - lag_p <= n:
            run(Frame(P, frames[step - lag_p]))
        if 1 <= step - lag_s <= n:
            seq = step - lag_s
            buf.append('e1', seq, state['now'], str(seq).encode())
            if state['s_carries']:
                run(Frame(S, frames[seq]))
        if state['p_alive'] and P in m.roles():
            run(hb(P))
        run(hb(S))
    return delivered, notes, state.get('before_kill', len(delivered))


@settings(max_examples=150, deadline=None)
@given(n=st.integers(5, 80), data=st.data(), lag_p=st.integers(0, 5), lag_s=st.integers(0, 5),
       hang=st.booleans(), hot=st.booleans())
def test_stream_across_a_kill_has_no_hole_and_no_repeat(n, data, lag_p, lag_s, hang, hot):
    """When the primary is killed or hangs at any point of the first ``n`` samples of a
    stream that goes on for another 2 s, the app gets every sample from its first one to
    the last exactly once, in order, and no gap is reported. (If the primary died before
    delivering anything there is no position to resume from; the stream then starts
    where the standby's live subscription starts, which is before the last sample.)"""
    kill_at = data.draw(st.integers(1, n + 5))
    total = n + 200  # 2 s more: longer than any failover, so something must arrive
    delivered, notes, before_kill = simulate(total, kill_at, lag_p, lag_s, hang, hot)
    assert delivered, 'nothing was delivered'
    assert delivered == list(range(delivered[0], total + 1))
    if before_kill:
        assert delivered[0] == 1
    assert notes == []
