"""Actions through a ROS-mode tier under real ROS 2: an rclpy ActionServer in this test,
the tier node in its own process (rclpy ActionClient, type loaded at run time), and
roslibpy's ActionClient as the client. Feedback and the result arrive, a cancel ends the
goal canceled, a goal outside the tier's scope and one without a server are failed
action_results. Needs an installed action type: ``example_interfaces`` (ros-<distro>-
example-interfaces); skipped with that reason where it is missing.

Waits are bounded; DDS discovery runs on its own time.
"""
import base64
import os
import socket
import subprocess
import sys
import threading
import time
import uuid

from needs import needs

needs('rclpy', 'roslibpy', 'example_interfaces')

import pytest  # noqa: E402
import rclpy  # noqa: E402
import roslibpy  # noqa: E402
from example_interfaces.action import Fibonacci  # noqa: E402
from lifecycle_msgs.srv import ChangeState  # noqa: E402
from rclpy.action import ActionServer, CancelResponse  # noqa: E402
from rclpy.callback_groups import ReentrantCallbackGroup  # noqa: E402
from rclpy.executors import MultiThreadedExecutor  # noqa: E402

from websocket_redundancy.graph.port import GOAL_SUCCEEDED, GraphError  # noqa: E402
from websocket_redundancy.graph.ros import RosGraph  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOKEN = 'ros-actions-team-token'
FIB_TYPE = 'example_interfaces/action/Fibonacci'
GRAPH = []  # the test process's RosGraph (the tier fixture's)


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _wait(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f'timed out after {timeout:.0f} s waiting for {what}')


class FibonacciServer:
    """A Fibonacci action server whose goals run step by step on a worker thread, so a
    test decides how long a goal lasts (``order``: the number of 0.1 s steps)."""

    def __init__(self, node):
        self.cancels = 0
        self.server = ActionServer(node, Fibonacci, '/fibonacci', self.execute,
                                   cancel_callback=self.on_cancel,
                                   callback_group=ReentrantCallbackGroup())

    def on_cancel(self, goal):
        self.cancels += 1
        return CancelResponse.ACCEPT

    def execute(self, goal):
        sequence = [0, 1]
        for _ in range(goal.request.order):
            if goal.is_cancel_requested:
                goal.canceled()
                return Fibonacci.Result(sequence=sequence)
            sequence.append(min(sequence[-1] + sequence[-2], 2**31 - 1))  # int32
            goal.publish_feedback(Fibonacci.Feedback(sequence=sequence))
            time.sleep(0.1)  # the server's own worker (MultiThreadedExecutor), not ours
        goal.succeed()
        return Fibonacci.Result(sequence=sequence)


def serve_on_a_thread(goal):
    """A port-level action server's goal: feedback, then the end, from another thread."""
    def work():
        order = goal.request['order']
        for n in range(order):
            goal.publish_feedback({'sequence': list(range(n + 1))})
            time.sleep(0.05)
        goal.finish(GOAL_SUCCEEDED, {'sequence': list(range(order))})
    threading.Thread(target=work, daemon=True).start()


@pytest.fixture(scope='module')
def tier():
    """The action server in this process and a primary tier node (its own process,
    configured and activated through its lifecycle services); yields the tier's port.
    The node has a name of its own (``tier:=primary``), so no other primary answers."""
    os.environ.setdefault('ROS_DOMAIN_ID', str(40 + os.getpid() % 20))
    node_name = f'actions_primary_{os.getpid()}'
    rclpy.init()
    node = rclpy.create_node('fibonacci_server')
    FibonacciServer(node)
    graph = RosGraph(node, name='test')  # serves /served: the port's serve_action under ROS
    graph.serve_action('/served', FIB_TYPE, serve_on_a_thread)
    GRAPH[:] = [graph]
    executor = MultiThreadedExecutor()
    executor.add_node(node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    port = _free_port()
    env = {**os.environ, 'WR_TOKEN_TEAM': TOKEN, 'PYTHONUNBUFFERED': '1',
           'PYTHONPATH': os.path.join(ROOT, 'src') + os.pathsep + os.environ.get('PYTHONPATH', '')}
    proc = subprocess.Popen(
        [sys.executable, '-m', 'websocket_redundancy.ros.tier_node', '--ros-args',
         '-r', f'__node:={node_name}', '-p', 'tier:=primary', '-p', f'port:={port}',
         '-p', "tiers.primary.services:=['/websocket_redundancy/**', '/fibonacci', '/nobody', "
         "'/served']"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True)
    lines = []
    threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True).start()
    try:
        client = node.create_client(ChangeState, f'/{node_name}/change_state')
        assert client.wait_for_service(timeout_sec=30), 'the tier node did not come up:\n' + \
            ''.join(lines[-30:])
        for transition in (1, 3):  # configure, activate
            request = ChangeState.Request()
            request.transition.id = transition
            future = client.call_async(request)
            _wait(future.done, 30, f'change_state {transition}')
            assert future.result().success, ''.join(lines[-30:])
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        graph.close()
        executor.shutdown(timeout_sec=2)
        node.destroy_node()
        rclpy.try_shutdown()


class Goal:
    def __init__(self):
        self.feedback, self.result, self.error = [], None, None
        self.done = threading.Event()

    def send(self, ros, action, order):
        client = roslibpy.ActionClient(ros, action, FIB_TYPE)
        self.client = client
        self.id = client.send_goal(roslibpy.Goal({'order': order}), self._result,
                                   lambda f: self.feedback.append(dict(f)), self._error)
        return self

    def _result(self, result):
        self.result = dict(result)
        self.done.set()

    def _error(self, error):
        self.error = dict(error)
        self.done.set()


@pytest.fixture
def ros(tier):
    client = roslibpy.Ros('127.0.0.1', tier, headers={'Authorization': f'Bearer {TOKEN}'})
    client.run(timeout=10)
    yield client
    client.close()


def test_a_goal_gets_feedback_and_its_result(ros):
    goal = Goal().send(ros, '/fibonacci', 5)
    assert goal.done.wait(30), 'no action_result'
    assert goal.error is None, goal.error
    assert goal.result['status'] == roslibpy.GoalStatus.SUCCEEDED
    assert goal.result['values'] == {'sequence': [0, 1, 1, 2, 3, 5, 8]}
    assert [f['sequence'][-1] for f in goal.feedback] == [1, 2, 3, 5, 8]


def test_a_cancel_ends_the_goal_canceled(ros):
    goal = Goal().send(ros, '/fibonacci', 300)
    _wait(lambda: goal.feedback, 30, 'feedback of the long goal')
    goal.client.cancel_goal(goal.id)
    assert goal.done.wait(30), 'no action_result after the cancel'
    assert goal.error is None, goal.error
    assert goal.result['status'] == roslibpy.GoalStatus.CANCELED
    assert len(goal.result['values']['sequence']) < 300


def test_out_of_scope_and_serverless_goals_are_failed_results(ros):
    outside = Goal().send(ros, '/elsewhere', 1)
    nobody = Goal().send(ros, '/nobody', 1)
    assert outside.done.wait(10) and nobody.done.wait(30), 'a refusal never came'
    assert outside.error['status'] == roslibpy.GoalStatus.UNKNOWN
    assert "outside the primary tier's service scope" in outside.error['values']
    assert 'no action server for /nobody' in nobody.error['values']


def test_a_goal_reaches_a_port_level_action_server_under_ros(ros):
    """When the action is served through ``RosGraph.serve_action`` (how the simulator
    serves /navigate_to_pose under ROS 2), the goal, its feedback and its result cross."""
    goal = Goal().send(ros, '/served', 4)
    assert goal.done.wait(30), 'no action_result'
    assert goal.error is None, goal.error
    assert goal.result['status'] == roslibpy.GoalStatus.SUCCEEDED
    assert goal.result['values'] == {'sequence': [0, 1, 2, 3]}
    assert goal.feedback and goal.feedback[-1] == {'sequence': [0, 1, 2, 3]}


def test_a_goal_sent_elsewhere_is_followed_by_its_id_under_ros(tier):
    """When a goal was sent (with its own goal_id) by another client, ``attach_goal``
    gets the same result by id (raw get_result under rclpy), and an id the server does
    not know fails saying so."""
    graph = GRAPH[0]
    goal_id = base64.b64encode(uuid.uuid4().bytes).decode()
    feedback = []
    sent = graph.send_goal('/fibonacci', FIB_TYPE, {'order': 8}, feedback.append, 10.0,
                           goal_id=goal_id)
    assert sent.goal_id == goal_id
    _wait(lambda: feedback, 30, 'feedback of the goal')
    followed = graph.attach_goal('/fibonacci', FIB_TYPE, goal_id, 10.0)
    mine, theirs = sent.result.result(30), followed.result.result(30)
    assert theirs.status == GOAL_SUCCEEDED and theirs == mine
    unknown = graph.attach_goal('/fibonacci', FIB_TYPE,
                                base64.b64encode(uuid.uuid4().bytes).decode(), 10.0)
    with pytest.raises(GraphError, match='does not know goal'):
        unknown.result.result(30)
