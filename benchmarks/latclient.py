"""One application client that prints what it receives, for latency and failover.

    python -m benchmarks.latclient --mode failover --url ws://127.0.0.1:8080 --url ...
    python -m benchmarks.latclient --mode plain --url ws://127.0.0.1:9090

``failover`` is the product's ``FailoverClient`` (resume, de-duplication, heartbeats,
standby); ``plain`` is a bare Autobahn client that subscribes and decodes each frame
with ``json.loads``, as a standard rosbridge client would. Both run on the same
reactor and print, per message, one line
``M <monotonic> <latency ms> <tier> <epoch> <seq> <index>`` (latency: receive wall
time - the send time in ``msg.data``), and per client event
``E <monotonic> <kind> <description>``. Exits after ``--max-seconds`` or on SIGTERM.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

from autobahn.twisted.websocket import WebSocketClientFactory, WebSocketClientProtocol
from twisted.internet import reactor

TYPE = 'std_msgs/msg/String'


def emit(tier: str, epoch, seq, data: str) -> None:
    now, mono = time.time(), time.monotonic()
    parts = data.split(' ', 2)
    try:
        index, sent = int(parts[0]), float(parts[1])
    except (ValueError, IndexError):
        return
    sys.stdout.write(f'M {mono:.6f} {1000 * (now - sent):.3f} {tier} {epoch} {seq} {index}\n')
    sys.stdout.flush()


def run_failover(urls: list[str], topic: str) -> None:
    from websocket_redundancy.app.echo import describe
    from websocket_redundancy.client.shell import EVENT_KINDS, FailoverClient

    client = FailoverClient(urls)
    for kind in EVENT_KINDS:
        client.on(kind, lambda detail, kind=kind: sys.stdout.write(
            f'E {time.monotonic():.6f} {kind} {describe(kind, detail)}\n') and None)
    client.subscribe(topic, TYPE, lambda msg, meta: emit(meta.tier, meta.epoch, meta.seq,
                                                          msg.get('data', '')))
    reactor.addSystemEventTrigger('before', 'shutdown', client.close)
    reactor.callWhenRunning(client.connect)


class PlainProtocol(WebSocketClientProtocol):
    def onOpen(self):
        self.sendMessage(json.dumps({'op': 'subscribe', 'topic': self.factory.topic,
                                     'type': TYPE, 'resume_keys': True}).encode())

    def onMessage(self, payload, isBinary):
        frame = json.loads(payload)
        if frame.get('op') == 'publish' and frame.get('topic') == self.factory.topic:
            emit(self.factory.url, frame.get('epoch'), frame.get('seq'),
                 frame['msg'].get('data', ''))

    def onClose(self, wasClean, code, reason):
        sys.stdout.write(f'E {time.monotonic():.6f} closed {code} {reason}\n')


def run_plain(url: str, topic: str) -> None:
    from autobahn.twisted.websocket import connectWS
    factory = WebSocketClientFactory(url)
    factory.protocol = PlainProtocol
    factory.topic = topic
    connectWS(factory)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='python -m benchmarks.latclient', description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--mode', choices=('failover', 'plain'), default='failover')
    parser.add_argument('--url', action='append', required=True)
    parser.add_argument('--topic', default='/bench/stream')
    parser.add_argument('--max-seconds', type=float, default=900.0)
    args = parser.parse_args(argv)
    if args.mode == 'failover':
        run_failover(args.url, args.topic)
    else:
        run_plain(args.url[0], args.topic)
    print(f'READY mode={args.mode}', flush=True)
    reactor.callLater(args.max_seconds, reactor.stop)
    reactor.run()
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
