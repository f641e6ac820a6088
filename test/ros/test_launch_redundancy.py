"""launch_testing: the whole system under ROS 2 (collected only where ROS 2 is installed).

When redundancy.launch.py runs, every tier becomes active, the status service answers,
a tier killed with SIGKILL is respawned by launch and brought back to active by the
coordinator, a roslibpy client reads the simulator's /gps/fix through a tier, its
rosapi calls are answered by the tiers within their scopes, and a latched command one
roslibpy client publishes through the primary reaches a later subscriber on the secondary.
"""
import json
import os
import re
import signal
import time
import unittest

import launch_testing
import launch_testing.asserts
import pytest
from launch_common import TEAM_TOKEN, TIERS, redundancy_launch, tier_ports

PORTS = tier_ports()


@pytest.mark.launch_test
def generate_test_description():
    return redundancy_launch(PORTS)


def _ready_pid(proc_output, tier, after=None):
    """The pid in the newest ``READY tier=<tier>`` line (waiting up to 30 s)."""
    pattern = re.compile(rf'READY tier={tier} .* pid=(\d+)')
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pids = [int(m.group(1)) for out in proc_output
                for m in pattern.finditer(out.text.decode(errors='replace'))]
        if pids and pids[-1] != after:
            return pids[-1]
        time.sleep(0.2)
    raise AssertionError(f'no READY line from the {tier} tier within 30 s'
                         + (f' after pid {after} was killed' if after else ''))


def _status_via_service(timeout=15.0):
    import rclpy
    from std_srvs.srv import Trigger
    rclpy.init()
    node = rclpy.create_node('wr_launch_test_client')
    try:
        client = node.create_client(Trigger, '/websocket_redundancy/status')
        assert client.wait_for_service(timeout_sec=timeout), 'no status service within 15 s'
        future = client.call_async(Trigger.Request())
        rclpy.spin_until_future_complete(node, future, timeout_sec=timeout)
        assert future.done(), 'the status service did not answer within 15 s'
        return future.result()
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


_ROSLIBPY = """
import json, sys, roslibpy
ros = roslibpy.Ros('127.0.0.1', int(sys.argv[1]))
ros.run(timeout=10)
print(json.dumps({'topics': ros.get_topics(),
                  'odometry': dict(ros.get_message_details('nav_msgs/msg/Odometry'))}))
ros.terminate()
"""


_LATCHED = """
import json, sys, time, roslibpy
team = roslibpy.Ros('127.0.0.1', int(sys.argv[1]),
                    headers={'Authorization': 'Bearer ' + sys.argv[3]})
team.run(timeout=10)
roslibpy.Topic(team, '/mission/command', 'std_msgs/msg/String', latch=True).publish(
    roslibpy.Message({'data': sys.argv[4]}))
time.sleep(1.0)  # the later subscriber really is later (and the graph has it)
late = roslibpy.Ros('127.0.0.1', int(sys.argv[2]))
late.run(timeout=10)
got = []
roslibpy.Topic(late, '/mission/command', 'std_msgs/msg/String').subscribe(
    lambda m: got.append(m['data']))
deadline = time.monotonic() + 10
while sys.argv[4] not in got and time.monotonic() < deadline:
    time.sleep(0.05)
print(json.dumps(got))
team.terminate()
"""


def _latched_via_roslibpy(primary, secondary, command):
    """What a roslibpy subscriber on ``secondary`` got after another roslibpy client had
    published ``command`` on a latched /mission/command through ``primary``."""
    import subprocess
    import sys
    done = subprocess.run([sys.executable, '-c', _LATCHED, str(primary), str(secondary),
                           TEAM_TOKEN, command], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _rosapi_via_roslibpy(port):
    """/rosapi/topics and Odometry's /rosapi/message_details, asked by roslibpy."""
    import subprocess
    import sys
    done = subprocess.run([sys.executable, '-c', _ROSLIBPY, str(port)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


class TestRedundancy(unittest.TestCase):
    def test_1_every_tier_becomes_active(self, proc_output):
        for tier in TIERS:
            _ready_pid(proc_output, tier)

    def test_2_status_service_answers_with_every_tier(self):
        deadline = time.monotonic() + 20
        while True:
            response = _status_via_service()
            doc = json.loads(response.message) if response.success else {}
            states = {t['name']: t['lifecycle'] for t in doc.get('tiers', [])}
            if states and all(s == 'active' for s in states.values()):
                break
            self.assertLess(time.monotonic(), deadline, f'tiers not all active: {states}')
            time.sleep(0.5)
        self.assertEqual(set(states), set(TIERS))

    def test_2b_every_tier_serves_the_coordinators_status_over_http(self):
        """GET /status on a tier is the coordinator's document (from the latched topic)."""
        import urllib.request
        for tier in ('primary', 'emergency'):
            deadline, doc = time.monotonic() + 20, {}
            while 'tiers' not in doc and time.monotonic() < deadline:
                try:
                    url = f'http://127.0.0.1:{PORTS[tier]}/status'
                    with urllib.request.urlopen(url, timeout=2) as answer:
                        doc = json.loads(answer.read())
                except (OSError, ValueError):
                    pass
                if 'tiers' not in doc:
                    time.sleep(0.5)
            self.assertIn('tiers', doc, f'GET /status on {tier}: {doc}')
            self.assertEqual({t['name'] for t in doc['tiers']}, set(TIERS))

    def test_3_a_killed_tier_is_respawned_and_activated(self, proc_output):
        old = _ready_pid(proc_output, 'primary')
        os.kill(old, signal.SIGKILL)
        new = _ready_pid(proc_output, 'primary', after=old)
        self.assertNotEqual(old, new)

    def test_3b_roslibpy_asks_rosapi_and_each_tier_answers_within_its_scope(self):
        """No rosapi node runs: the tiers answer /rosapi/* from the ROS graph. roslibpy
        runs in a child process (its reactor cannot restart, and test_4 needs one)."""
        from needs import missing, why
        if missing('roslibpy'):
            self.skipTest(why('roslibpy'))
        for tier, present, absent in (('secondary', '/odom', '/cmd_vel'),
                                      ('emergency', '/gps/fix', '/odom')):
            deadline, seen = time.monotonic() + 30, {'topics': []}
            while present not in seen['topics'] and time.monotonic() < deadline:
                seen = _rosapi_via_roslibpy(PORTS[tier])
            self.assertIn(present, seen['topics'], f'/rosapi/topics on {tier}')
            self.assertNotIn(absent, seen['topics'], f'/rosapi/topics on {tier}')
            self.assertFalse([t for t in seen['topics'] if t.startswith('/camera')], seen)
            typedefs = seen['odometry']['typedefs']
            self.assertEqual(typedefs[0]['type'], 'nav_msgs/Odometry')
            self.assertIn('geometry_msgs/PoseWithCovariance', typedefs[0]['fieldtypes'])

    def test_3c_a_latched_command_reaches_a_later_roslibpy_subscriber_on_another_tier(self):
        """roslibpy publishes /mission/command with latch through the primary (a transient
        local publisher on the ROS graph); a roslibpy client that subscribes on the
        secondary a second later gets it first, as from rosbridge_server."""
        from needs import missing, why
        if missing('roslibpy'):
            self.skipTest(why('roslibpy'))
        command = f'launch-test-{os.getpid()}'
        got = _latched_via_roslibpy(PORTS['primary'], PORTS['secondary'], command)
        self.assertIn(command, got, 'the later subscriber on the secondary never got it')

    def test_4_roslibpy_reads_gps_through_a_tier(self):
        from needs import missing, why
        if missing('roslibpy'):
            self.skipTest(why('roslibpy'))
        import roslibpy
        client = roslibpy.Ros(host='127.0.0.1', port=PORTS['secondary'])
        client.run(timeout=10)
        got = []
        topic = roslibpy.Topic(client, '/gps/fix', 'sensor_msgs/msg/NavSatFix')
        topic.subscribe(got.append)
        deadline = time.monotonic() + 15
        while not got and time.monotonic() < deadline:
            time.sleep(0.1)
        topic.unsubscribe()
        client.terminate()
        self.assertTrue(got, 'no /gps/fix through the secondary tier within 15 s')
        self.assertAlmostEqual(got[0]['latitude'], 38.406, delta=0.1)


@launch_testing.post_shutdown_test()
class TestShutdown(unittest.TestCase):
    def test_every_process_exits_cleanly(self, proc_info):
        launch_testing.asserts.assertExitCodes(
            proc_info, allowable_exit_codes=[0, -signal.SIGKILL])
