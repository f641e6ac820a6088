"""Many raw WebSocket clients in one asyncio process: the load for fanout and capacity.

    python -m benchmarks.wsload --url ws://127.0.0.1:9000 --clients 200 --topic /bench/stream

Each connection subscribes (rosbridge ``subscribe``) and counts every frame whose
``msg.data`` starts with "<index> <send time>", per index; a sample of connections,
spread evenly, also records the latency (receive time - send time). With ``--idle``
the connections subscribe to nothing (memory per idle client).

Driven over stdin, answered on stdout, one line each:
``MARK`` -> ``MARK <largest index seen> <frames so far>``;
``REPORT <i1> <i2>`` -> ``REPORT {json}`` with the frames received with index in
[i1, i2), the sampled latencies in that range and this process's CPU seconds;
``QUIT`` (or end of stdin, or ``--max-seconds``) -> close everything and exit.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time

from . import wsframe

PING, PONG, CLOSE = 9, 10, 8


class Totals:
    def __init__(self) -> None:
        self.counts = [0] * 65536
        self.max_index = -1
        self.frames = 0
        self.latencies: list[tuple[int, float]] = []
        self.open = 0
        self.refused = 0
        self.closed = 0


class LoadClient(asyncio.Protocol):
    """One connection: handshake, subscribe, count frames; protocol methods only
    translate bytes into counts."""

    def __init__(self, totals: Totals, request: bytes, subscribe: bytes | None,
                 sampled: bool, ready: asyncio.Future) -> None:
        self.totals, self.request, self.subscribe = totals, request, subscribe
        self.sampled, self.ready = sampled, ready
        self.transport = None
        self.buf = b''
        self.upgraded = False

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        buf = self.buf + data if self.buf else data
        if not self.upgraded:
            head_end = buf.find(b'\r\n\r\n')
            if head_end < 0:
                self.buf = buf
                return
            ok = b' 101 ' in buf[:buf.find(b'\r\n')]
            buf = buf[head_end + 4:]
            self.upgraded = True
            if not ok:
                self._done(False)
                self.transport.close()
                return
            self.totals.open += 1
            if self.subscribe is not None:
                self.transport.write(self.subscribe)
            self._done(True)
        found, used = wsframe.frames(buf)
        totals = self.totals
        now = time.time()
        for opcode, start, end in found:
            if opcode == 1 or opcode == 2:
                index, sent = wsframe.data_fields(buf, start, end, self.sampled)
                if index < 0:
                    continue
                totals.frames += 1
                counts = totals.counts
                if index >= len(counts):
                    counts.extend([0] * (index + 65536 - len(counts)))
                counts[index] += 1
                if index > totals.max_index:
                    totals.max_index = index
                if self.sampled:
                    totals.latencies.append((index, now - sent))
            elif opcode == PING:
                self.transport.write(wsframe.encode(buf[start:end], PONG))
            elif opcode == CLOSE:
                code = int.from_bytes(buf[start:start + 2], 'big') if end - start >= 2 else 0
                if code == 1013:
                    totals.refused += 1
                self.transport.close()
        self.buf = buf[used:]

    def connection_lost(self, exc) -> None:
        if self.upgraded:
            self.totals.closed += 1
        self._done(False)

    def _done(self, ok: bool) -> None:
        if not self.ready.done():
            self.ready.set_result(ok)


async def connect_all(args, totals: Totals) -> tuple[int, int, list]:
    host, port, path = wsframe.split_url(args.url)
    headers = {'Authorization': f'Bearer {args.token}'} if args.token else {}
    subscribe = None if args.idle else wsframe.encode(json.dumps(
        {'op': 'subscribe', 'topic': args.topic, 'type': args.type,
         'id': 'bench', 'queue_length': 0, 'resume_keys': not args.standard}))
    step = max(1, args.clients // max(1, min(args.sample, args.clients)))
    loop = asyncio.get_running_loop()
    transports: list = []

    async def one(i: int) -> bool:
        ready = loop.create_future()
        sampled = args.sample > 0 and i % step == 0
        proto = LoadClient(totals, wsframe.handshake(host, port, path, headers),
                           subscribe, sampled, ready)
        try:
            transport, _ = await asyncio.wait_for(
                loop.create_connection(lambda: proto, host, port), 10)
            transports.append(transport)
            return bool(await asyncio.wait_for(ready, 10))
        except (OSError, asyncio.TimeoutError):
            return False

    ok = 0
    for first in range(0, args.clients, args.batch):
        batch = range(first, min(args.clients, first + args.batch))
        ok += sum(await asyncio.gather(*(one(i) for i in batch)))
    failed = args.clients - ok
    return ok, failed, transports


def report(totals: Totals, i1: int, i2: int) -> dict:
    i2 = min(i2, len(totals.counts))
    return {'received': sum(totals.counts[i1:i2]), 'indices': max(0, i2 - i1),
            'latencies_ms': [round(1000 * lat, 3) for i, lat in totals.latencies
                             if i1 <= i < i2],
            'open': totals.open, 'closed': totals.closed, 'refused': totals.refused,
            'client_cpu_s': round(sum(os.times()[:2]), 3)}


async def main_async(args) -> None:
    totals = Totals()
    ok, failed, transports = await connect_all(args, totals)
    print(f'READY connected={ok} failed={failed} refused={totals.refused}', flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    deadline = loop.time() + args.max_seconds
    while True:
        try:
            line = await asyncio.wait_for(reader.readline(), max(0.1, deadline - loop.time()))
        except asyncio.TimeoutError:
            break
        words = line.decode().split()
        if not words or words[0] == 'QUIT':
            break
        if words[0] == 'MARK':
            print(f'MARK {totals.max_index} {totals.frames}', flush=True)
        elif words[0] == 'REPORT':
            print('REPORT ' + json.dumps(report(totals, int(words[1]), int(words[2]))),
                  flush=True)
    for transport in transports:
        transport.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='python -m benchmarks.wsload', description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--url', required=True)
    parser.add_argument('--clients', type=int, default=50)
    parser.add_argument('--topic', default='/bench/stream')
    parser.add_argument('--type', default='std_msgs/msg/String')
    parser.add_argument('--token')
    parser.add_argument('--idle', action='store_true', help='connect, subscribe to nothing')
    parser.add_argument('--standard', action='store_true',
                        help='subscribe as a plain rosbridge client (no resume_keys: frames '
                        'without epoch/seq); the default asks for them, as failover clients do')
    parser.add_argument('--sample', type=int, default=32,
                        help='connections that record latency (spread evenly)')
    parser.add_argument('--batch', type=int, default=50, help='connections opened at once')
    parser.add_argument('--max-seconds', type=float, default=600.0)
    args = parser.parse_args(argv)
    try:
        asyncio.run(main_async(args))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
