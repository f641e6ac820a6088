"""An action a WebSocket client provides through a ROS-mode tier, used by a plain rclpy
ActionClient: the goal reaches the client as ``send_action_goal``, its feedback and
result reach rclpy, a cancel reaches it as ``cancel_action_goal``, and its disconnect
ends a goal in flight aborted at once. Needs ``example_interfaces``
(ros-<distro>-example-interfaces); skipped with that reason where it is missing.

The tier (``test_ros_provided_services.world``) serves ``/wr_ops/**``. Waits are bounded
executor spins with deadlines.
"""
import pytest

rclpy = pytest.importorskip('rclpy')
from needs import needs  # noqa: E402

needs('example_interfaces')

import test_ros_provided_services as services  # noqa: E402
from action_msgs.msg import GoalStatus  # noqa: E402
from example_interfaces.action import Fibonacci  # noqa: E402
from rclpy.action import ActionClient  # noqa: E402
from test_ros_provided_services import TOKEN, spin_until  # noqa: E402

from integration.harness import RawWebSocket  # noqa: E402

world = services.world  # the fixture: the primary tier node, /wr_ops/** in its scope
NAME, TYPE = '/wr_ops/fibonacci', 'example_interfaces/action/Fibonacci'


def test_an_rclpy_action_client_uses_an_action_a_websocket_client_provides(world):
    node, tier, port = world
    provider = RawWebSocket(port, headers={'Authorization': f'Bearer {TOKEN}'}, timeout=15)
    provider.send_json({'op': 'advertise_action', 'action': NAME, 'type': TYPE})
    client = ActionClient(node, Fibonacci, NAME)

    def send(order, feedback=None):
        """Send a goal, wait until accepted, return (handle, the frame the provider got)."""
        sent = client.send_goal_async(Fibonacci.Goal(order=order), feedback_callback=feedback)
        spin_until(node, sent.done, f'the goal of order {order} to be accepted')
        assert sent.result().accepted
        frame = provider.recv_json(timeout=15)
        assert frame['op'] == 'send_action_goal' and frame['action'] == NAME, frame
        assert frame['action_type'] == TYPE and frame['args'] == {'order': order}, frame
        return sent.result(), frame

    def result_of(handle, what):
        future = handle.get_result_async()
        spin_until(node, future.done, what)
        return future.result()

    try:
        spin_until(node, client.server_is_ready, f'{NAME} on the ROS graph; the tier said:\n'
                   + '\n'.join(tier.lines[-20:]))
        feedback = []
        handle, frame = send(4, lambda message: feedback.append(list(message.feedback.sequence)))
        for sequence in ([0, 1], [0, 1, 1]):
            provider.send_json({'op': 'action_feedback', 'action': NAME, 'id': frame['id'],
                                'values': {'sequence': sequence}})
        spin_until(node, lambda: len(feedback) == 2, 'both feedback messages in rclpy')
        provider.send_json({'op': 'action_result', 'action': NAME, 'id': frame['id'],
                            'values': {'sequence': [0, 1, 1, 2]}, 'status': 4, 'result': True})
        result = result_of(handle, 'the result of the first goal')
        assert result.status == GoalStatus.STATUS_SUCCEEDED
        assert list(result.result.sequence) == [0, 1, 1, 2]
        assert feedback == [[0, 1], [0, 1, 1]]

        handle, frame = send(50)  # canceled by rclpy: the provider hears of it
        canceling = handle.cancel_goal_async()
        cancel = provider.recv_json(timeout=15)
        assert cancel == {'op': 'cancel_action_goal', 'id': frame['id'], 'action': NAME}
        spin_until(node, canceling.done, 'the cancel to be accepted')
        provider.send_json({'op': 'action_result', 'action': NAME, 'id': frame['id'],
                            'values': {'sequence': [0]}, 'status': 5, 'result': True})
        assert result_of(handle, 'the canceled goal to end').status == GoalStatus.STATUS_CANCELED

        handle, frame = send(60)  # in flight when its provider leaves
        provider.close()
        result = result_of(handle, 'the goal in flight to end after its provider left')
        assert result.status == GoalStatus.STATUS_ABORTED
        tier.wait_line(rf'the client providing {NAME} disconnected', 5)
    finally:
        provider.close()
    spin_until(node, lambda: not client.server_is_ready(),
               f'{NAME} to leave the graph after its provider left')
    client.destroy()
