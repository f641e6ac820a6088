"""roslibpy's ActionClient against real tier processes on the embedded graph, with the
simulator's /navigate_to_pose action (nav2_msgs/action/NavigateToPose): feedback and
the result arrive, a cancel ends the goal canceled, and a goal outside the tier's scope
is a failed action_result (roslibpy's errback), never a hang."""
from __future__ import annotations

from needs import needs

needs('zenoh', 'rosbags', 'roslibpy')

import threading  # noqa: E402

import pytest  # noqa: E402
import roslibpy  # noqa: E402

from .conftest import TOKEN  # noqa: E402
from .harness import wait_for  # noqa: E402

NAV, NAV_TYPE = '/navigate_to_pose', 'nav2_msgs/action/NavigateToPose'
pytestmark = pytest.mark.integration


class Goal:
    """One goal's callbacks, recorded."""

    def __init__(self) -> None:
        self.feedback: list[dict] = []
        self.result = None
        self.error = None
        self.done = threading.Event()
        self.lock = threading.Lock()

    def on_feedback(self, feedback) -> None:
        with self.lock:
            self.feedback.append(dict(feedback))

    def on_result(self, result) -> None:
        self.result = dict(result)
        self.done.set()

    def on_error(self, error) -> None:
        self.error = dict(error)
        self.done.set()

    def wait(self, timeout: float, what: str) -> None:
        assert self.done.wait(timeout), f'timed out after {timeout:.0f} s waiting for {what}'


@pytest.fixture
def connect():
    opened = []

    def make(port: int, token: str | None = TOKEN) -> roslibpy.Ros:
        ros = roslibpy.Ros('127.0.0.1', port,
                           headers={'Authorization': f'Bearer {token}'} if token else None)
        ros.run(timeout=10)
        opened.append(ros)
        return ros
    yield make
    for ros in opened:
        ros.close()


def _position(ros) -> tuple[float, float]:
    seen: list[dict] = []
    topic = roslibpy.Topic(ros, '/odom', 'nav_msgs/msg/Odometry')
    topic.subscribe(seen.append)
    wait_for(lambda: seen, 15, 'an /odom message')
    topic.unsubscribe()
    position = seen[-1]['pose']['pose']['position']
    return position['x'], position['y']


def _send(ros, x: float, y: float) -> tuple[Goal, str, roslibpy.ActionClient]:
    goal = Goal()
    client = roslibpy.ActionClient(ros, NAV, NAV_TYPE)
    goal_id = client.send_goal(
        roslibpy.Goal({'pose': {'header': {'frame_id': 'odom'},
                                'pose': {'position': {'x': x, 'y': y}}}}),
        goal.on_result, goal.on_feedback, goal.on_error)
    return goal, goal_id, client


def test_a_navigation_goal_gets_feedback_and_succeeds(system, connect):
    ros = connect(system['primary'])
    x, y = _position(ros)
    goal, _, _ = _send(ros, x + 2.5, y)
    goal.wait(60, 'the navigation result')
    assert goal.error is None, goal.error
    assert goal.result['status'] == roslibpy.GoalStatus.SUCCEEDED
    assert goal.result['values'] == {'error_code': 0, 'error_msg': ''}
    assert len(goal.feedback) >= 3, goal.feedback
    first, last = goal.feedback[0], goal.feedback[-1]
    assert first['distance_remaining'] > last['distance_remaining']
    assert last['current_pose']['header']['frame_id'] == 'odom'


def test_a_canceled_goal_ends_canceled(system, connect):
    ros = connect(system['primary'])
    x, y = _position(ros)
    goal, goal_id, client = _send(ros, x + 200.0, y)
    wait_for(lambda: goal.feedback or goal.done.is_set(), 20, 'feedback of the far goal')
    client.cancel_goal(goal_id)
    goal.wait(20, 'the result of the canceled goal')
    assert goal.error is None, goal.error
    assert goal.result['status'] == roslibpy.GoalStatus.CANCELED


def test_a_goal_outside_the_tier_scope_is_a_failed_result(system, connect):
    """When the emergency tier (no actions in its scope) gets a goal, roslibpy's
    errback gets status UNKNOWN and the reason; so does a client without a token."""
    goal, _, _ = _send(connect(system['emergency']), 0.0, 0.0)
    goal.wait(10, 'the refusal')
    assert goal.result is None
    assert goal.error['status'] == roslibpy.GoalStatus.UNKNOWN
    assert "outside the emergency tier's service scope" in goal.error['values']
    goal, _, _ = _send(connect(system['primary'], token=None), 0.0, 0.0)
    goal.wait(10, 'the refusal')
    assert 'unauthenticated client may not send goals' in goal.error['values']
