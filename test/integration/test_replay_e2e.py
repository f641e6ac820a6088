"""`up --bag`: a rosbag2 file the test writes reaches a roslibpy subscriber through a
tier process, with the recorded values in the recorded order (custom type included)."""
from __future__ import annotations

from needs import needs

needs('zenoh', 'rosbags', 'roslibpy')

import threading

import pytest
import roslibpy
from rosbags.rosbag2 import StoragePlugin

from .harness import Process, child_env, cli, free_port_block, wait_for
from .test_replay import PROBE, write_bag

pytestmark = pytest.mark.integration


def _one_full_pass(values: list[str]) -> bool:
    want = [f'hello {i}' for i in range(10)]
    for start in range(len(values) - len(want) + 1):
        if values[start:start + len(want)] == want:
            return True
    return False


def test_a_replayed_bag_reaches_roslibpy_in_recorded_order(tmp_path):
    bag = write_bag(tmp_path / 'bag', StoragePlugin.MCAP)
    port = free_port_block(1)
    graph = free_port_block(2)
    up = Process(cli('up', '--bag', str(bag), '--tiers', 'primary', '--base-port', str(port),
                     '--graph-base-port', str(graph), '--domain', str(graph % 200)),
                 child_env())
    ros = None
    try:
        up.wait_line('tiers ready', timeout=60)
        ros = roslibpy.Ros('127.0.0.1', port)
        ros.run(timeout=10)
        chatter, probes, lock = [], [], threading.Lock()

        def on_chatter(msg):
            with lock:
                chatter.append(msg['data'])

        def on_probe(msg):
            with lock:
                probes.append(msg)
        roslibpy.Topic(ros, '/chatter', 'std_msgs/msg/String').subscribe(on_chatter)
        roslibpy.Topic(ros, '/probe', PROBE).subscribe(on_probe)
        wait_for(lambda: _one_full_pass(list(chatter)), 30,
                 'one full pass of /chatter ("hello 0" .. "hello 9" in order)')
        wait_for(lambda: len(probes) >= 5, 15, 'five /probe messages of the custom type')
        with lock:
            probe = probes[-1]
        assert probe['label'] == f"p{probe['value']}"
        assert probe['blob'] == 'AQID'  # uint8[] [1, 2, 3] as base64, as rosbridge sends it
        assert probe['header']['frame_id'] == 'probe'
    finally:
        if ros is not None:
            ros.close()
        assert up.stop() == 0
