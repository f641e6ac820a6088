"""Under `ros2 launch ... primary_replicas:=2`: the replica registers itself with the
coordinator, the status service and GET /status list every endpoint, and a replica that
shuts down leaves the directory at once (then launch respawns it and it joins again)."""

import json
import os
import signal
import time
import unittest
import urllib.request

import launch_testing
import launch_testing.asserts
import pytest
from launch_common import TIERS, redundancy_launch, tier_ports

PORTS = tier_ports()
REPLICA = 'primary_2'
ENDPOINTS = set(TIERS) | {REPLICA}


@pytest.mark.launch_test
def generate_test_description():
    return redundancy_launch(PORTS, primary_replicas='2')


def _status():
    try:
        url = f'http://127.0.0.1:{PORTS["emergency"]}/status'
        with urllib.request.urlopen(url, timeout=2) as answer:
            return json.loads(answer.read())
    except (OSError, ValueError):
        return {}


def _wait(predicate, seconds, what):
    deadline, doc = time.monotonic() + seconds, {}
    while time.monotonic() < deadline:
        doc = _status()
        if predicate(doc):
            return doc
        time.sleep(0.3)
    raise AssertionError(f'{what} within {seconds} s; last status: '
                         f'{[(t.get("endpoint"), t.get("health")) for t in doc.get("tiers", [])]}')


def _up(doc):
    return {t['endpoint'] for t in doc.get('tiers', [])
            if t.get('lifecycle') == 'active' and t.get('health') == 'UP'}


def _status_via_service():
    import rclpy
    from std_srvs.srv import Trigger
    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node('wr_replica_test_client', context=context)
    try:
        client = node.create_client(Trigger, '/websocket_redundancy/status')
        assert client.wait_for_service(timeout_sec=15), 'no status service within 15 s'
        future = client.call_async(Trigger.Request())
        from rclpy.executors import SingleThreadedExecutor
        executor = SingleThreadedExecutor(context=context)
        executor.add_node(node)
        executor.spin_until_future_complete(future, timeout_sec=15)
        assert future.done(), 'the status service did not answer within 15 s'
        return json.loads(future.result().message)
    finally:
        node.destroy_node()
        rclpy.try_shutdown(context=context)


class TestReplicas(unittest.TestCase):
    def test_1_the_replica_registers_and_every_surface_lists_it(self):
        doc = _wait(lambda d: _up(d) == ENDPOINTS, 60, 'all five endpoints active and UP')
        replica = next(t for t in doc['tiers'] if t['endpoint'] == REPLICA)
        self.assertEqual(replica['name'], 'primary')
        self.assertNotEqual(replica['url'], f'ws://127.0.0.1:{PORTS["primary"]}')
        self.assertEqual({t['endpoint'] for t in _status_via_service()['tiers']}, ENDPOINTS)

    def test_2_a_replica_that_shuts_down_leaves_and_joins_again_when_respawned(self):
        doc = _wait(lambda d: REPLICA in _up(d), 60, 'the replica UP')
        url = next(t['url'] for t in doc['tiers'] if t['endpoint'] == REPLICA)
        port = int(url.rsplit(':', 1)[1])
        with urllib.request.urlopen(f'http://127.0.0.1:{port}/health', timeout=2) as answer:
            pid = json.loads(answer.read())['pid']
        os.kill(pid, signal.SIGINT)  # a graceful exit: its last heartbeat says leaving

        def left(d):
            return any(ev.get('tier') == REPLICA and ev.get('kind') == 'left'
                       and ev.get('detail') == 'left gracefully' for ev in d.get('events', []))
        _wait(left, 20, 'a "left gracefully" event for the replica')
        _wait(lambda d: REPLICA in _up(d), 60, 'the respawned replica back UP')


@launch_testing.post_shutdown_test()
class TestShutdown(unittest.TestCase):
    def test_every_process_exits_cleanly(self, proc_info):
        launch_testing.asserts.assertExitCodes(
            proc_info, allowable_exit_codes=[0, -signal.SIGKILL, -signal.SIGINT])
