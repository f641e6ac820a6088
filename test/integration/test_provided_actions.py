"""Client-provided actions end to end: a WebSocket client provides /ops/fibonacci
(example_interfaces/action/Fibonacci) on the primary tier, and roslibpy's ActionClient
sends it a goal through the secondary, over the embedded graph between real tier
processes. The provider is a raw WebSocket client (roslibpy 2.1 has no action server;
the browser test drives roslibjs's)."""
from __future__ import annotations

from needs import needs

needs('zenoh', 'rosbags', 'roslibpy')

import pytest  # noqa: E402
import roslibpy  # noqa: E402

from . import test_provided_services as services  # noqa: E402
from .harness import RawWebSocket, http_json, wait_for  # noqa: E402
from .test_actions_roslibpy import Goal  # noqa: E402
from .test_provided_services import TOKEN, Ros  # noqa: E402

pytestmark = pytest.mark.integration
tiers = services.tiers  # the fixture: the primary and the secondary, /ops/** in scope
FIB, FIB_TYPE = '/ops/fibonacci', 'example_interfaces/action/Fibonacci'
AUTH = {'Authorization': f'Bearer {TOKEN}'}


def provided(port: int) -> list[str]:
    return http_json(port, '/health')[1]['provided_actions']


def provide(port: int) -> RawWebSocket:
    provider = RawWebSocket(port, headers=AUTH)
    provider.send_json({'op': 'advertise_action', 'action': FIB, 'type': FIB_TYPE})
    wait_for(lambda: provided(port) == [FIB], 10, f'the tier to serve {FIB}')
    return provider


def send_goal(caller: Ros, order: int) -> Goal:
    goal = Goal()
    roslibpy.ActionClient(caller.ros, FIB, FIB_TYPE).send_goal(
        roslibpy.Goal({'order': order}), goal.on_result, goal.on_feedback, goal.on_error)
    return goal


def first_goal(provider: RawWebSocket, caller: Ros, order: int) -> tuple[Goal, dict]:
    """A goal the provider received (sent again while the secondary has not yet
    discovered the server: such a goal fails at once)."""
    sent: list[Goal] = []

    def reaches_the_provider():
        goal = send_goal(caller, order)
        sent.append(goal)
        if goal.done.wait(1.0):
            assert 'no action server' in str(goal.error), goal.error
            return False
        return True

    wait_for(reaches_the_provider, 20, f'the secondary to pass a goal to {FIB}')
    frame = provider.recv_json(timeout=10)
    return sent[-1], frame


def test_a_goal_sent_through_the_secondary_gets_the_providers_feedback_and_result(tiers):
    provider, caller = provide(tiers['primary']), Ros(tiers['secondary'])
    try:
        goal, frame = first_goal(provider, caller, 4)
        assert frame['op'] == 'send_action_goal' and frame['action'] == FIB
        assert frame['action_type'] == FIB_TYPE and frame['args'] == {'order': 4}
        assert frame['id'].startswith(f'action_goal:{FIB}:')
        for sequence in ([0, 1], [0, 1, 1]):
            provider.send_json({'op': 'action_feedback', 'action': FIB, 'id': frame['id'],
                                'values': {'sequence': sequence}})
        wait_for(lambda: len(goal.feedback) == 2, 10, 'both feedback messages')
        provider.send_json({'op': 'action_result', 'action': FIB, 'id': frame['id'],
                            'values': {'sequence': [0, 1, 1, 2]}, 'status': 4,
                            'result': True})
        goal.wait(10, 'the result')
        assert goal.error is None, goal.error
        assert goal.feedback == [{'sequence': [0, 1]}, {'sequence': [0, 1, 1]}]
        assert goal.result['status'] == roslibpy.GoalStatus.SUCCEEDED
        assert goal.result['values'] == {'sequence': [0, 1, 1, 2]}

        rival = RawWebSocket(tiers['secondary'], headers=AUTH)  # the name is taken
        rival.send_json({'op': 'advertise_action', 'action': FIB, 'type': FIB_TYPE})
        wait_for(lambda: http_json(tiers['secondary'], '/health')[1]['refused'].get('conflict'),
                 10, f'the secondary to refuse a second provider of {FIB}')
        assert provided(tiers['secondary']) == []
        rival.close()
    finally:
        provider.close()
        caller.close()
    wait_for(lambda: provided(tiers['primary']) == [], 10, f'the primary to stop serving {FIB}')


def test_a_goal_in_flight_ends_aborted_at_once_when_its_provider_disconnects(tiers):
    provider, caller = provide(tiers['primary']), Ros(tiers['secondary'])
    try:
        goal, frame = first_goal(provider, caller, 30)
        assert frame['op'] == 'send_action_goal'
        provider.close()  # never answers
        goal.wait(10, 'the goal to end after its provider left')
        assert goal.error is None, goal.error
        assert goal.result['status'] == roslibpy.GoalStatus.ABORTED
    finally:
        caller.close()
    wait_for(lambda: provided(tiers['primary']) == [], 10, f'the primary to stop serving {FIB}')
    log = '\n'.join(tiers['up'].lines)
    assert f'the client providing {FIB} disconnected' in log, log[-2000:]
