"""The yardstick: a bare Twisted + Autobahn broadcaster.

    python -m benchmarks.bare --rate 200 --size 100 [--port 0]

It sends one rosbridge ``publish`` frame, shaped and sized like a tier's (orjson, the
same ``msg.data``, ``epoch`` and ``seq``: what a tier sends a client that subscribed
with ``resume_keys``, as ``wsload`` does), to every open connection at ``--rate``,
preparing the message once per frame (``prepareMessage`` / ``sendPreparedMessage``),
and does nothing else: no graph, no sessions, no scopes, no queues, no heartbeats.
Prints ``READY port=P pid=N``; exits after ``--max-seconds``, on SIGTERM or SIGINT.
A ``MARK`` line on stdin is answered ``MARK <seq of the last frame sent>``.
"""
from __future__ import annotations

import argparse
import os
import threading
import time

from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
from twisted.internet import reactor

from .source import answer_marks
from .wsframe import payload_text

try:
    from orjson import dumps
except ImportError:  # pragma: no cover - the embedded extra brings orjson
    import json

    def dumps(value) -> bytes:
        return json.dumps(value, separators=(',', ':')).encode()


class Listener(WebSocketServerProtocol):
    def onOpen(self):
        self.factory.clients.add(self)

    def onClose(self, wasClean, code, reason):
        self.factory.clients.discard(self)


class Broadcaster:
    def __init__(self, factory: WebSocketServerFactory, topic: str, rate: float, size: int):
        self.factory, self.topic, self.size = factory, topic, size
        self.seq = 0
        self.period = 1.0 / rate
        self.start = time.monotonic()

    def tick(self) -> None:
        self.seq += 1
        frame = dumps({'op': 'publish', 'topic': self.topic,
                       'msg': {'data': payload_text(self.seq, time.time(), self.size)},
                       'epoch': 'bare', 'seq': self.seq})
        prepared = self.factory.prepareMessage(frame)
        for client in list(self.factory.clients):
            client.sendPreparedMessage(prepared)
        # a fixed schedule, like the source: no drift, a late tick goes at once
        reactor.callLater(max(0.0, self.start + (self.seq + 1) * self.period
                              - time.monotonic()), self.tick)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='python -m benchmarks.bare', description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--port', type=int, default=0)
    parser.add_argument('--topic', default='/bench/stream')
    parser.add_argument('--rate', type=float, default=100.0)
    parser.add_argument('--size', type=int, default=100)
    parser.add_argument('--max-seconds', type=float, default=900.0)
    args = parser.parse_args(argv)
    factory = WebSocketServerFactory()
    factory.protocol = Listener
    factory.clients = set()
    port = reactor.listenTCP(args.port, factory, backlog=1024, interface='127.0.0.1')
    print(f'READY port={port.getHost().port} pid={os.getpid()}', flush=True)
    broadcaster = Broadcaster(factory, args.topic, args.rate, args.size)
    reactor.callWhenRunning(broadcaster.tick)
    threading.Thread(target=answer_marks, args=(lambda: broadcaster.seq,), daemon=True).start()
    reactor.callLater(args.max_seconds, reactor.stop)
    reactor.run()
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
