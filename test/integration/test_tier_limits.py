"""One tier process with the simulator: capacity (close 1013) and a slow client that
never reads, which must not slow the others (bounded per-client queues)."""
from __future__ import annotations

from needs import needs

needs('zenoh', 'rosbags')

import time

import pytest
import yaml

from .harness import (
    Process,
    RawWebSocket,
    child_env,
    cli,
    close_code,
    free_port_block,
    http_json,
    wait_for,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope='module')
def tier(tmp_path_factory):
    config = tmp_path_factory.mktemp('cfg') / 'small.yaml'
    config.write_text(yaml.safe_dump({
        'tiers': {'primary': {'port': 8080, 'priority': 0, 'capacity': 3}},
        'limits': {'send_queue_frames': 16},
    }))
    port, graph = free_port_block(1), free_port_block(2)
    domain = str(graph % 200)
    common = ['--config', str(config)]
    sim = Process(cli(*common, 'sim', '--domain', domain,
                      '--graph-listen', f'tcp/127.0.0.1:{graph}',
                      '--graph-connect', f'tcp/127.0.0.1:{graph + 1}'), child_env())
    server = Process(cli(*common, 'tier', 'primary', '--port', str(port), '--domain', domain,
                         '--graph-listen', f'tcp/127.0.0.1:{graph + 1}',
                         '--graph-connect', f'tcp/127.0.0.1:{graph}'), child_env())
    try:
        sim.wait_line('READY', 30)
        server.wait_line('READY', 30)
        yield port
    finally:
        server.stop()
        sim.stop()


def test_a_full_tier_refuses_the_next_client_with_1013(tier):
    clients = [RawWebSocket(tier) for _ in range(3)]
    try:
        wait_for(lambda: http_json(tier, '/health')[1]['clients'] == 3, 10, 'three clients')
        extra = RawWebSocket(tier)
        opcode, payload = extra.recv()
        assert opcode == 8 and close_code(payload) == 1013
        assert b'full' in payload[2:]
        extra.close()
        assert http_json(tier, '/health')[1]['refused'].get('capacity', 0) >= 1
    finally:
        for c in clients:
            c.close()
    wait_for(lambda: http_json(tier, '/health')[1]['clients'] == 0, 10, 'clients to leave')


def test_a_client_that_never_reads_does_not_slow_the_others(tier):
    slow = RawWebSocket(tier, rcvbuf=4096)
    slow.send_json({'op': 'subscribe', 'topic': '/camera/front/image/compressed'})
    slow.send_json({'op': 'subscribe', 'topic': '/imu/data'})
    fast = RawWebSocket(tier)
    fast.send_json({'op': 'subscribe', 'topic': '/imu/data', 'resume_keys': True})
    try:
        # The slow client's socket buffers fill within a second or two of 5 Hz images.
        wait_for(lambda: http_json(tier, '/health')[1]['dropped'] > 0, 30,
                 'the tier to drop frames for the client that does not read')
        seqs = []
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            frame = fast.recv_json()
            if frame.get('topic') == '/imu/data':
                seqs.append(frame['seq'])
        # /imu/data is 50 Hz: the reading client keeps getting every message, in order.
        assert len(seqs) >= 50, f'only {len(seqs)} /imu/data frames in 2 s'
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), 'the reading client lost frames'
        assert http_json(tier, '/health')[1]['state'] == 'active'
    finally:
        slow.close()
        fast.close()
