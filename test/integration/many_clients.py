"""Many failover clients in one process, for integration tests (run as a script).

    python many_clients.py --n 20 --wave 5 --wave-delay 1.5 --topic /odom URL...

Prints one JSON object per line: ``{"event": "active", "client", "tier", "reason"}`` on
every tier change, ``{"event": "gap", ...}`` on every reported gap, and on SIGINT or
SIGTERM ``{"event": "summary", "clients": [{"client", "tier", "n", "holes", "dups",
"gaps", "unkeyed"}]}`` before it exits (``unkeyed``: samples that came without the
epoch/seq that the hole and repeat checks need; on the embedded graph there are none).
"""
from __future__ import annotations

import argparse
import json
import signal
import sys

from twisted.internet import reactor

from websocket_redundancy.client.shell import FailoverClient


def say(**fields) -> None:
    print(json.dumps(fields), flush=True)


class Tracked:
    def __init__(self, index: int, urls: list[str], topic: str) -> None:
        self.index, self.tier, self.n, self.holes, self.dups, self.gaps = index, None, 0, 0, 0, 0
        self.unkeyed = 0
        self.last: dict[str, int] = {}
        self.client = FailoverClient(urls)
        self.client.on('tier_changed', self.changed)
        self.client.on('gap', self.gap)
        self.client.subscribe(topic, '', self.got)

    def changed(self, change) -> None:
        self.tier = change.current
        say(event='active', client=self.index, tier=change.current, reason=change.reason)

    def gap(self, info) -> None:
        self.gaps += 1
        say(event='gap', client=self.index, topic=info.topic, reason=info.reason)

    def got(self, msg, meta) -> None:
        self.n += 1
        if meta.epoch is None or meta.seq is None:
            self.unkeyed += 1
            return
        last = self.last.get(meta.epoch)
        if last is not None and meta.seq <= last:
            self.dups += 1
        elif last is not None and meta.seq != last + 1:
            self.holes += 1
        self.last[meta.epoch] = max(meta.seq, last or 0)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument('urls', nargs='+')
    parser.add_argument('--n', type=int, default=20)
    parser.add_argument('--wave', type=int, default=5)
    parser.add_argument('--wave-delay', type=float, default=1.5)
    parser.add_argument('--topic', default='/odom')
    args = parser.parse_args()
    clients: list[Tracked] = []

    def start(first: int) -> None:
        for i in range(first, min(first + args.wave, args.n)):
            clients.append(Tracked(i, args.urls, args.topic))
            clients[-1].client.connect()
        if first + args.wave < args.n:
            reactor.callLater(args.wave_delay, start, first + args.wave)

    def stop(*_) -> None:
        say(event='summary', clients=[
            {'client': c.index, 'tier': c.tier, 'n': c.n, 'holes': c.holes, 'dups': c.dups,
             'gaps': c.gaps, 'unkeyed': c.unkeyed} for c in clients])
        for c in clients:
            c.client.close()
        reactor.callLater(0.1, reactor.stop)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *a: reactor.callFromThread(stop))
    reactor.callWhenRunning(start, 0)
    reactor.run(installSignalHandlers=False)
    return 0


if __name__ == '__main__':
    sys.exit(main())
