"""The benchmark's source topic: std_msgs/msg/String at a fixed rate, each ``data``
"<index> <send time> <padding>" (see ``wsframe.payload_text``).

    python -m benchmarks.source --graph-connect tcp/127.0.0.1:7450 --domain 5 --rate 100
    python -m benchmarks.source --ws ws://127.0.0.1:9090 --rate 100   # any rosbridge server
    python -m benchmarks.source --ros --rate 100                      # a ROS 2 graph (rclpy)

Into our embedded graph (``--graph-*``), through any rosbridge v2 server's
``advertise``/``publish`` (``--ws``, optional ``--token``), or as an rclpy node on the
ROS 2 graph of the sourced environment (``--ros``: node ``bench_source``, QoS reliable,
volatile, depth 10). Prints ``READY pid=N``,
then publishes on a fixed schedule (no drift; a late tick is sent at once, never
skipped) until ``--max-seconds``, SIGTERM or SIGINT. A ``MARK`` line on stdin is
answered ``MARK <index of the last message sent>``.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sys
import threading
import time

from . import wsframe

TYPE = 'std_msgs/msg/String'


def graph_publisher(args):
    from websocket_redundancy.graph.embedded.graph import EmbeddedGraph
    graph = EmbeddedGraph(domain=args.domain, listen=args.graph_listen or None,
                          connect=args.graph_connect or None, name='bench-source')
    publisher = graph.advertise(args.topic, TYPE)
    return (lambda data: publisher.publish({'data': data})), graph.close


def ros_publisher(args):
    import rclpy
    from rclpy.signals import SignalHandlerOptions
    from std_msgs.msg import String

    # our own SIGINT/SIGTERM handlers stop the loop; publishing needs no executor
    rclpy.init(args=[], signal_handler_options=SignalHandlerOptions.NO)
    node = rclpy.create_node('bench_source')
    publisher = node.create_publisher(String, args.topic, 10)

    def publish(data: str) -> None:
        publisher.publish(String(data=data))

    def close() -> None:
        node.destroy_publisher(publisher)
        node.destroy_node()
        rclpy.try_shutdown()
    return publish, close


def ws_publisher(args):
    host, port, path = wsframe.split_url(args.ws)
    sock = socket.create_connection((host, port), timeout=10)
    headers = {'Authorization': f'Bearer {args.token}'} if args.token else {}
    sock.sendall(wsframe.handshake(host, port, path, headers))
    head = b''
    while b'\r\n\r\n' not in head:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError(f'{args.ws} closed during the handshake')
        head += chunk
    if b' 101 ' not in head.split(b'\r\n', 1)[0]:
        raise ConnectionError(f'{args.ws} refused the WebSocket: {head[:80]!r}')
    sock.sendall(wsframe.encode(json.dumps({'op': 'advertise', 'topic': args.topic,
                                            'type': TYPE})))
    threading.Thread(target=_drain, args=(sock,), daemon=True).start()

    def publish(data: str) -> None:
        sock.sendall(wsframe.encode(json.dumps(
            {'op': 'publish', 'topic': args.topic, 'msg': {'data': data}})))
    return publish, sock.close


def _drain(sock: socket.socket) -> None:
    """Read (and discard) what the server sends, so its buffers never fill."""
    try:
        while sock.recv(65536):
            pass
    except OSError:
        pass


def answer_marks(current) -> None:
    """Answer each ``MARK`` line on stdin with the index of the last message sent."""
    for line in sys.stdin:
        if line.strip() == 'MARK':
            print(f'MARK {current()}', flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='python -m benchmarks.source', description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--topic', default='/bench/stream')
    parser.add_argument('--rate', type=float, default=100.0, help='messages per second')
    parser.add_argument('--size', type=int, default=100, help='bytes of msg.data')
    parser.add_argument('--max-seconds', type=float, default=900.0)
    parser.add_argument('--ws', help='publish through this rosbridge server instead')
    parser.add_argument('--token', help='Authorization: Bearer TOKEN (with --ws)')
    parser.add_argument('--ros', action='store_true',
                        help='publish as an rclpy node on the sourced ROS 2 graph')
    parser.add_argument('--domain', type=int, default=0)
    parser.add_argument('--graph-listen', action='append')
    parser.add_argument('--graph-connect', action='append')
    args = parser.parse_args(argv)
    if args.rate <= 0:
        parser.error(f'--rate must be positive, got {args.rate}')
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    publish, close = (ws_publisher(args) if args.ws else ros_publisher(args) if args.ros
                      else graph_publisher(args))
    print(f'READY pid={os.getpid()}', flush=True)
    period, start, sent = 1.0 / args.rate, time.monotonic(), [0]
    end = start + args.max_seconds
    threading.Thread(target=answer_marks, args=(lambda: sent[0],), daemon=True).start()
    try:
        while not stop.is_set() and time.monotonic() < end:
            index = sent[0] + 1
            publish(wsframe.payload_text(index, time.time(), args.size))
            sent[0] = index
            delay = start + index * period - time.monotonic()
            if delay > 0:
                stop.wait(delay)
    except (OSError, BrokenPipeError) as exc:
        print(f'source: stopped after {sent[0]} messages: {exc}', file=sys.stderr)
        return 1
    finally:
        close()
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
