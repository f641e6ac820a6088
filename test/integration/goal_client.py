"""A process for test_goal_failover.py: the Python failover client sends one
/navigate_to_pose goal and prints what it hears as JSON lines (feedback, the result,
tier changes, gaps). Usage: goal_client.py TOKEN X URL [URL ...]"""
from __future__ import annotations

import json
import sys

from twisted.internet import reactor

from websocket_redundancy.client.shell import FailoverClient


def main() -> None:
    token, x, urls = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
    client = FailoverClient(urls, token=token, directory_poll_s=0)

    def out(kind: str, **fields) -> None:
        print(json.dumps({'kind': kind, **fields}), flush=True)

    def feedback(values, meta) -> None:
        out('feedback', tier=meta.tier, epoch=meta.epoch, seq=meta.seq,
            distance=values.get('distance_remaining'))

    def result(res) -> None:
        out('result', ok=res.ok, status=res.status, tier=res.tier, values=res.values)

    client.on('tier_changed', lambda c: out('tier_changed', current=c.current, reason=c.reason))
    client.on('goal_gap', lambda g: out('goal_gap', reason=g.reason))
    state = {'sent': False}

    def send_when_active(change) -> None:
        if not state['sent']:
            state['sent'] = True
            client.send_goal('/navigate_to_pose', 'nav2_msgs/action/NavigateToPose',
                             {'pose': {'header': {'frame_id': 'odom'},
                                       'pose': {'position': {'x': x, 'y': 0.0}}}},
                             feedback, result)
            out('sent')
    client.on('tier_changed', send_when_active)
    client.connect()
    reactor.run()


if __name__ == '__main__':
    main()
