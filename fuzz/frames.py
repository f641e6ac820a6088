"""Fuzz target for the incoming-frame path: bytes -> TierService.receive -> Session ->
commands -> graph (in memory). Any exception is a bug: bad input must be refused.

    pip install atheris && python fuzz/frames.py -max_total_time=300

Without atheris, ``python fuzz/frames.py N`` runs N seeded random mutations of the
corpus below (the test suite does that with a small N).
"""
from __future__ import annotations

import json
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'src'))

from websocket_redundancy.core.settings import settings_from_dict  # noqa: E402
from websocket_redundancy.graph.memory import MemoryGraph  # noqa: E402
from websocket_redundancy.tier.service import TierService  # noqa: E402

SEEDS = [json.dumps(f).encode() for f in (
    {'op': 'subscribe', 'topic': '/odom', 'type': 'nav_msgs/msg/Odometry', 'id': 's1',
     'throttle_rate': 10, 'queue_length': 1},
    {'op': 'subscribe', 'topic': '/imu/data', 'resume': {'epoch': 'e', 'seq': 3,
                                                          'streams': {'e': 3}}},
    {'op': 'unsubscribe', 'topic': '/odom', 'id': 's1'},
    {'op': 'auth', 'mac': 'T'},
    {'op': 'advertise', 'topic': '/cmd_vel', 'type': 'geometry_msgs/msg/Twist'},
    {'op': 'publish', 'topic': '/cmd_vel', 'msg': {'linear': {'x': 1.0}}},
    {'op': 'call_service', 'service': '/websocket_redundancy/status', 'args': {}, 'id': 1},
    {'op': 'set_level', 'level': 'error'},
)]


class _Reactor:
    def callFromThread(self, fn, *args):
        fn(*args)


class _Proto:
    peer = 'fuzz'

    def __init__(self):
        class _Q:
            dropped = 0
        self.queue = _Q()

    def send_data(self, prepared):
        pass

    replies = 0

    def send_control(self, payload):
        json.loads(payload)  # whatever the tier answers must be valid JSON
        self.replies += 1

    def close_with(self, code, reason):
        pass


def make_target():
    settings = settings_from_dict({'auth': {'roles': {'team': 'T'}},
                                   'limits': {'max_ops_per_s': 1e9}})
    graph = MemoryGraph()
    graph.advertise('/odom', 'nav_msgs/msg/Odometry')
    graph.serve('/websocket_redundancy/status', 'std_srvs/srv/Trigger',
                lambda req: {'success': True, 'message': '{}'})
    tier = TierService(settings, 'primary', graph, _Reactor())
    proto = _Proto()
    tier.admit(proto, None)

    def one_input(data: bytes) -> None:
        tier.receive(proto, data, False)
        tier.receive(proto, data, True)
    one_input.tier, one_input.proto = tier, proto
    return one_input


def mutate(data: bytes, rng: random.Random) -> bytes:
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        choice = rng.random()
        if choice < 0.4 and data:
            data[rng.randrange(len(data))] = rng.randrange(256)
        elif choice < 0.7:
            data[rng.randrange(len(data) + 1):0] = rng.choice(SEEDS)[:rng.randint(0, 20)]
        elif data:
            del data[rng.randrange(len(data))]
    return bytes(data)


def run_random(iterations: int, seed: int = 0) -> dict:
    """Feed the seeds, then ``iterations`` mutations (each as a text and a binary frame);
    what the tier made of them: refusals by kind, replies sent, and whether the seeds'
    subscription to /odom is still in place."""
    target, rng = make_target(), random.Random(seed)
    for data in SEEDS:
        target(data)
    seeded = dict(target.tier.refused)
    for _ in range(iterations):
        target(mutate(rng.choice(SEEDS), rng))
    session = target.tier.clients.get(target.proto)
    return {'inputs': iterations, 'refused_by_seeds': seeded,
            'refused': dict(target.tier.refused), 'replies': target.proto.replies,
            'still_admitted': session is not None,
            'odom_subscribed': '/odom' in target.tier.hub.topics()}


if __name__ == '__main__':
    if len(sys.argv) == 2 and sys.argv[1].isdigit():
        print(f'no exception: {run_random(int(sys.argv[1]))}')
    else:
        import atheris
        target = make_target()
        atheris.Setup(sys.argv, target)
        atheris.Fuzz()
