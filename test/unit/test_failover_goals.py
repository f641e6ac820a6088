"""The failover client's action goals (core/failover_goals.py through the machine):
injected clock, command lists compared. The shared scenarios also run against the
browser client (test/browser/failover.test.mjs)."""
import json
from pathlib import Path

import pytest

from websocket_redundancy.core import failover_types as t
from websocket_redundancy.core.failover import FailoverMachine
from websocket_redundancy.core.failover_types import FailoverSettings

SCENARIOS = json.loads((Path(__file__).parents[1] / 'scenarios' / 'goal_failover.json')
                       .read_text())['scenarios']
P, S = 'ws://p', 'ws://s'
GID = 'AAAAAAAAAAAAAAAAAAAABw=='


def event(spec):
    kind, *args = spec
    if kind == 'start':
        return t.Start(tuple(args[0]))
    if kind == 'opened':
        return t.Opened(args[0])
    if kind == 'closed':
        return t.Closed(args[0], args[1])
    if kind == 'frame':
        return t.Frame(args[0], args[1])
    if kind == 'send_goal':
        return t.SendGoal(*args)
    if kind == 'cancel_goal':
        return t.CancelGoal(args[0])
    raise ValueError(kind)


def goal_outputs(commands):
    """The goal-related commands in the scenarios' neutral form."""
    out = []
    for c in commands:
        if isinstance(c, t.Send) and str(c.frame.get('op')).endswith('_action_goal'):
            out.append(['send', c.url, c.frame])
        elif isinstance(c, t.GoalFeedback):
            out.append(['feedback', c.id, c.values, c.tier, c.epoch, c.seq])
        elif isinstance(c, t.GoalResult):
            out.append(['result', c.id, c.ok, c.status, c.values, c.tier])
        elif isinstance(c, t.Notify) and c.kind == t.GOAL_GAP:
            d = c.detail
            out.append(['gap', d.id, d.reason, d.last and list(d.last),
                        d.next and list(d.next), d.tier])
        elif isinstance(c, t.Notify) and c.kind == t.SCOPE_DEGRADED:
            out.append(['scope_degraded', c.detail.topic, c.detail.tier])
    return out


def machine():
    return FailoverMachine(FailoverSettings(heartbeat_timeout_s=0.3), jitter=lambda: 1.0,
                           seed=0.5)


@pytest.mark.parametrize('scenario', SCENARIOS, ids=[s['name'] for s in SCENARIOS])
def test_shared_goal_scenario(scenario):
    m = machine()
    for now, spec, expected in scenario['steps']:
        assert goal_outputs(m.handle(event(spec), now)) == expected, (now, spec)


def running():
    m = machine()
    for now, spec in ((0, ['start', [P, S]]), (0.01, ['opened', P]), (0.02, ['opened', S])):
        m.handle(event(spec), now)
    assert m.active == P
    return m


def result_frame(goal='1', status=4):
    return {'op': 'action_result', 'id': f'send_action_goal:{goal}', 'action': '/nav',
            'values': {}, 'status': status, 'result': True}


def test_a_goal_without_a_tier_fails_at_once():
    m = machine()
    m.handle(t.Start((P,)), 0)
    assert m.handle(t.SendGoal('1', '/nav', 'a/action/B', {}, GID), 0) == [
        t.GoalResult('1', False, 0, 'no tier is connected', '')]


def test_a_heartbeat_timeout_mid_goal_reattaches_and_the_old_tier_is_not_heard():
    """When the active tier hangs, the goal moves to the standby; anything the hung tier
    sends later is ignored (the shell closed it), so the result comes once."""
    m = running()
    m.handle(t.SendGoal('1', '/nav', 'a/action/B', {}, GID), 0.03)
    out = m.handle(t.Frame(S, {'op': 'publish', 'topic': '/x'}), 0.31)  # S alive, P silent
    out += m.handle(t.Tick(), 0.34)
    assert [o[:2] for o in goal_outputs(out)] == [['send', S]]
    assert m.handle(t.Frame(P, result_frame()), 0.35) == []
    assert goal_outputs(m.handle(t.Frame(S, result_frame()), 0.36)) == [
        ['result', '1', True, 4, {}, S]]


def test_after_failback_the_goal_stays_on_the_tier_that_follows_it():
    """A goal re-attached on the secondary stays there while it is open (the failback
    keeps it as standby); only when that connection goes does it move again."""
    m = running()
    m.handle(t.SendGoal('1', '/nav', 'a/action/B', {}, GID), 0.03)
    m.handle(t.Closed(P, 1006), 0.04)  # re-attached on S
    assert m.active == S
    now, out = 0.05, []
    while m.active != P and now < 10:  # P comes back and, after the hold-down, fails back
        for url in [u for u, role in m.roles().items()]:
            out += m.handle(t.Opened(url), now)
            out += m.handle(t.Frame(url, {'op': 'publish', 'topic': '/hb'}), now)
        out += m.handle(t.Tick(), now)
        now += 0.1
    assert m.active == P and goal_outputs(out) == []
    assert goal_outputs(m.handle(t.Frame(S, result_frame()), now)) == [
        ['result', '1', True, 4, {}, S]]
