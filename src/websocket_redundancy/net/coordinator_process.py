"""Run the coordinator in this process on the Twisted reactor.

Prints ``READY coordinator pid=<pid>`` on stdout when it is active (the convention
the tiers use), so ``up`` or a test knows it is watching. With ``autostart=False`` it
waits unconfigured for a ``change_state`` call, as a ROS 2 lifecycle node does.
"""
from __future__ import annotations

import os
import sys

from ..core.settings import Settings
from ..graph.port import Graph
from .coordinator import Coordinator, CoordinatorSettings
from .coordinator_node import NODE, CoordinatorNode
from .signals import run_until_signalled, stop_once


def _say(text: str) -> None:
    print(text, flush=True)


def run_coordinator(settings: Settings, graph: Graph, autostart: bool = True,
                    config: CoordinatorSettings | None = None) -> int:
    """Coordinate until SIGINT/SIGTERM (or a shutdown transition); the exit code."""
    from twisted.internet import reactor, threads

    announced = []

    def on_active() -> None:
        if not announced:
            announced.append(True)
            _say(f'READY coordinator pid={os.getpid()}')

    def on_finalized() -> None:
        reactor.callLater(0.05, stop_once, reactor)

    node = CoordinatorNode(
        graph, lambda: Coordinator(settings, graph, reactor, config=config, out=_say),
        run_on_loop=lambda fn: threads.blockingCallFromThread(reactor, fn),
        on_active=on_active, on_finalized=on_finalized)

    exit_code = [0]

    def start() -> None:
        if not autostart:
            _say(f'coordinator: unconfigured, waiting for {NODE}/change_state')
            return
        for transition in ('configure', 'activate'):
            ok, reason = node.change_state(transition)
            if not ok:
                print(f'error: the coordinator could not {transition}: {reason}',
                      file=sys.stderr, flush=True)
                exit_code[0] = 1
                stop_once(reactor)
                return

    def shutdown() -> None:
        node.close()
        graph.close()

    reactor.addSystemEventTrigger('before', 'shutdown', shutdown)
    reactor.callWhenRunning(start)
    run_until_signalled(reactor)
    return exit_code[0]
