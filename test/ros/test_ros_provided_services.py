"""A service a roslibpy client provides through a ROS-mode tier, called by a plain rclpy
client (collected only where ROS 2 is installed; skipped without roslibpy). Its ``Tier``
and ``world`` serve ``test_ros_provided_actions.py`` too.

The primary tier runs as its own process (``tier_node``), configured and activated by
label through its lifecycle services; its ``services`` scope includes ``/wr_ops/**``
(``config_file``). Waits are bounded executor spins with deadlines.
"""
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest

rclpy = pytest.importorskip('rclpy')
from lifecycle_msgs.srv import ChangeState  # noqa: E402
from std_srvs.srv import SetBool  # noqa: E402

from integration.harness import RawWebSocket  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOKEN = 'ros-provided-token'
CONFIG = """
tiers:
  primary:
    port: 0
    priority: 0
    services: ['/websocket_redundancy/**', '/wr_ops/**']
limits:
  provided_call_timeout_s: 60   # so a call that ends sooner ended by the disconnect
"""


class Tier:
    """``tier_node`` as the primary tier, its output lines collected."""

    def __init__(self, tmp_path):
        config = tmp_path / 'redundancy.yaml'
        config.write_text(CONFIG)
        env = {**os.environ, 'PYTHONUNBUFFERED': '1', 'WR_TOKEN_TEAM': TOKEN,
               'PYTHONPATH': os.path.join(ROOT, 'src') + os.pathsep
               + os.environ.get('PYTHONPATH', '')}
        self.proc = subprocess.Popen(
            [sys.executable, '-m', 'websocket_redundancy.ros.tier_node', '--ros-args',
             '-r', '__node:=primary', '-p', 'port:=0', '-p', f'config_file:={config}'],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
            start_new_session=True)
        self.lines = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip('\n'))

    def wait_line(self, pattern, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines:
                if (found := re.search(pattern, line)):
                    return found
            assert self.proc.poll() is None, 'tier_node exited:\n' + '\n'.join(self.lines)
            time.sleep(0.05)
        raise AssertionError(f'no line matching {pattern!r} within {timeout} s:\n'
                             + '\n'.join(self.lines[-30:]))

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        return self.proc.returncode


def spin_until(node, done, what, timeout=15.0):
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f'timed out after {timeout} s waiting for {what}'
        rclpy.spin_once(node, timeout_sec=0.05)


def call(node, client, data, what):
    future = client.call_async(SetBool.Request(data=data))
    spin_until(node, future.done, what)
    return future.result()


@pytest.fixture()
def world(tmp_path):
    rclpy.init()
    tier = Tier(tmp_path)
    node = rclpy.create_node('wr_provided_test')
    try:
        lifecycle = node.create_client(ChangeState, '/primary/change_state')
        spin_until(node, lifecycle.service_is_ready, 'the primary tier node', 30)
        for label in ('configure', 'activate'):
            request = ChangeState.Request()
            request.transition.label = label
            future = lifecycle.call_async(request)
            spin_until(node, future.done, f'the primary tier to {label}', 30)
            assert future.result().success, f'{label} failed:\n' + '\n'.join(tier.lines)
        port = int(tier.wait_line(r'READY tier=primary .* port=(\d+)', 15).group(1))
        yield node, tier, port
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
        assert tier.stop() == 0, '\n'.join(tier.lines[-30:])


def test_an_rclpy_client_calls_a_service_roslibpy_provides_through_the_tier(world):
    roslibpy = pytest.importorskip('roslibpy')  # the module's Tier serves other tests too
    node, tier, port = world
    provider = roslibpy.Ros('127.0.0.1', port, headers={'Authorization': f'Bearer {TOKEN}'})
    provider.run(timeout=10)

    def arm(request, response):
        response['success'] = request['data']
        response['message'] = 'armed by roslibpy'
        return True

    roslibpy.Service(provider, '/wr_ops/arm', 'std_srvs/srv/SetBool',
                     reconnect_on_close=False).advertise(arm)
    client = node.create_client(SetBool, '/wr_ops/arm')
    try:
        spin_until(node, client.service_is_ready, '/wr_ops/arm on the ROS graph; the tier '
                   'said:\n' + '\n'.join(tier.lines[-20:]))
        response = call(node, client, True, 'the answer of roslibpy')
        assert (response.success, response.message) == (True, 'armed by roslibpy')

        # A provider that never answers: its call waits (the tier's executor does not),
        # and fails at once when the provider disconnects.
        silent = RawWebSocket(port, headers={'Authorization': f'Bearer {TOKEN}'})
        silent.send_json({'op': 'advertise_service', 'service': '/wr_ops/slow',
                          'type': 'std_srvs/srv/SetBool'})
        slow_client = node.create_client(SetBool, '/wr_ops/slow')
        spin_until(node, slow_client.service_is_ready, '/wr_ops/slow on the ROS graph')
        slow = slow_client.call_async(SetBool.Request(data=True))
        frame = silent.recv_json(timeout=15)
        assert frame['op'] == 'call_service' and frame['service'] == '/wr_ops/slow'
        response = call(node, client, False, 'an answer while /wr_ops/slow waits')
        assert (response.success, response.message) == (False, 'armed by roslibpy')
        assert not slow.done()
        silent.close()
        spin_until(node, slow.done, 'the call in flight to end after its provider left')
        assert (slow.result().success, slow.result().message) == (False, '')  # no error
        tier.wait_line(r'the client providing /wr_ops/slow disconnected', 5)  # in ROS 2
    finally:
        provider.close()
    spin_until(node, lambda: not client.service_is_ready(),
               '/wr_ops/arm to leave the graph after its provider left')
