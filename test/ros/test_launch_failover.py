"""Under `ros2 launch`: the failover client on /odom (20 Hz) through kill -9 and SIGSTOP of
the primary tier node loses nothing, repeats nothing and reports no gap, measured against
a plain rclpy subscriber (Jazzy and Humble, Cyclone DDS: sparse source-timestamp keys)."""

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request
from collections import Counter

import launch_testing
import launch_testing.asserts
import pytest
from launch_common import ROOT, TIERS, redundancy_launch, tier_ports

PORTS = tier_ports()


@pytest.mark.launch_test
def generate_test_description():
    return redundancy_launch(PORTS)


def _get(tier, path):
    try:
        with urllib.request.urlopen(f'http://127.0.0.1:{PORTS[tier]}{path}', timeout=2) as r:
            return json.loads(r.read())
    except (OSError, ValueError):
        return {}


def _wait_all_up(seconds=60.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        rows = _get('emergency', '/status').get('tiers', [])
        if sum(t['lifecycle'] == 'active' and t['health'] == 'UP' for t in rows) == 4:
            return
        time.sleep(0.5)
    raise AssertionError(f'tiers not all active and UP within {seconds} s: {rows}')


class Truth:
    """A plain rclpy subscriber: every /odom header stamp it sees."""

    def __init__(self):
        import rclpy
        from nav_msgs.msg import Odometry
        from rclpy.executors import SingleThreadedExecutor
        self.stamps = []
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node('wr_failover_truth', context=self.context)
        self.node.create_subscription(Odometry, '/odom', self._on_odom, 50)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.thread = threading.Thread(target=self._spin, daemon=True)
        self.thread.start()

    def _on_odom(self, msg):
        self.stamps.append((msg.header.stamp.sec, msg.header.stamp.nanosec))

    def _spin(self):
        from rclpy.executors import ExternalShutdownException
        try:
            while self.context.ok():
                self.executor.spin_once(timeout_sec=0.1)
        except ExternalShutdownException:  # close() shut the context down
            pass

    def close(self):
        import rclpy
        rclpy.try_shutdown(context=self.context)
        self.thread.join(timeout=5)
        self.node.destroy_node()


class TestFailoverUnderRos(unittest.TestCase):
    def test_kill_and_sigstop_of_the_primary_lose_and_repeat_nothing(self):
        _wait_all_up()
        truth = Truth()
        env = {**os.environ, 'PYTHONPATH': os.path.join(ROOT, 'src') + os.pathsep
               + os.environ.get('PYTHONPATH', ''), 'PYTHONUNBUFFERED': '1'}
        urls = [a for t in TIERS for a in ('--url', f'ws://127.0.0.1:{PORTS[t]}')]
        out_file, err_file = tempfile.TemporaryFile('w+'), tempfile.TemporaryFile('w+')
        echo = subprocess.Popen(  # to files: a pipe read only at the end would fill and stall it
            [sys.executable, '-m', 'websocket_redundancy', 'echo', '/odom', '--jsonl', *urls],
            stdout=out_file, stderr=err_file, text=True, env=env)
        try:
            time.sleep(4)
            pid = _get('primary', '/health')['pid']
            os.kill(pid, signal.SIGKILL)
            time.sleep(4)
            _wait_all_up()  # launch respawned it; the coordinator activated it
            time.sleep(4)  # the client fails back after its hold-down
            pid = _get('primary', '/health')['pid']
            os.kill(pid, signal.SIGSTOP)
            time.sleep(3)
            os.kill(pid, signal.SIGCONT)
            time.sleep(6)
        finally:
            echo.send_signal(signal.SIGINT)
            echo.wait(timeout=15)
            truth.close()
        out_file.seek(0)
        err_file.seek(0)
        out, err = out_file.read(), err_file.read()
        rows = [json.loads(line) for line in out.splitlines() if line.startswith('{')]
        got = [(r['msg']['header']['stamp']['sec'], r['msg']['header']['stamp']['nanosec'])
               for r in rows]
        self.assertGreater(len(got), 200, f'only {len(got)} /odom through the client\n{err}')
        repeats = {k: n for k, n in Counter(got).items() if n > 1}
        self.assertEqual(repeats, {}, 'samples delivered twice')
        window = [s for s in truth.stamps if got[0] <= s <= got[-1]]
        self.assertGreater(len(window), 200, 'the rclpy subscriber saw too little to compare')
        lost = sorted(set(window) - set(got))
        self.assertEqual(lost, [], f'{len(lost)} samples the rclpy subscriber saw were lost')
        gaps = [line for line in err.splitlines() if 'gap' in line]
        self.assertEqual(gaps, [], 'gap reports where nothing was lost')
        switches = [line for line in err.splitlines() if 'tier changed' in line]
        self.assertGreaterEqual(len(switches), 3, f'no failover seen: {switches}')


@launch_testing.post_shutdown_test()
class TestShutdown(unittest.TestCase):
    def test_every_process_exits_cleanly(self, proc_info):
        launch_testing.asserts.assertExitCodes(
            proc_info, allowable_exit_codes=[0, -signal.SIGKILL])
