"""A graph peer that runs lifecycle transitions for the benchmarks.

    python -m benchmarks.graphctl --domain 5 --graph-connect tcp/127.0.0.1:7450 ...

Joins the embedded graph, prints ``READY pid=N``, then answers each stdin line
``CHANGE <node> <label>`` (e.g. ``CHANGE primary deactivate``) by calling
``/<node>/change_state`` (``lifecycle_msgs/srv/ChangeState``) and printing
``CHANGED <node> ok`` or ``CHANGED <node> error <why>``. Exits at end of stdin,
after ``--max-seconds``, or on SIGTERM.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='python -m benchmarks.graphctl', description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--domain', type=int, default=0)
    parser.add_argument('--graph-listen', action='append')
    parser.add_argument('--graph-connect', action='append')
    parser.add_argument('--timeout', type=float, default=3.0, help='per call, seconds')
    parser.add_argument('--max-seconds', type=float, default=7200.0)
    args = parser.parse_args(argv)
    from websocket_redundancy.graph.embedded.graph import EmbeddedGraph
    graph = EmbeddedGraph(domain=args.domain, listen=args.graph_listen or None,
                          connect=args.graph_connect or None, name='bench-graphctl')
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: os._exit(0))
    timer = threading.Timer(args.max_seconds, lambda: os._exit(0))
    timer.daemon = True
    timer.start()
    print(f'READY pid={os.getpid()}', flush=True)
    try:
        for line in sys.stdin:
            words = line.split()
            if len(words) != 3 or words[0] != 'CHANGE':
                continue
            node, label = words[1], words[2]
            future = graph.call(f'/{node}/change_state', 'lifecycle_msgs/srv/ChangeState',
                                {'transition': {'id': 0, 'label': label}}, args.timeout)
            try:
                reply = future.result(args.timeout + 1.0)
                answer = 'ok' if reply.get('success') is True else f'error refused: {reply}'
            except Exception as exc:  # GraphError, timeout: reported, never fatal
                answer = f'error {type(exc).__name__}: {exc}'
            print(f'CHANGED {node} {answer}', flush=True)
    finally:
        done.set()
        graph.close()
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
