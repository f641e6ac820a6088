"""The tier and coordinator processes: one node each on the embedded graph, on the
Twisted reactor, until SIGINT/SIGTERM or a shutdown transition.

Each prints one ``READY`` line on stdout when it is up (``READY tier=<name> url=<ws url>
port=<port> pid=<pid>`` once the tier listens, with the port it got for port 0;
``READY coordinator pid=<pid>`` once the coordinator is active), so ``up`` or a test
knows when to connect. With ``autostart`` a process configures and activates itself and
exits non-zero with one ``error:`` sentence when it cannot; without, it waits
unconfigured for a ``change_state`` call, as a ROS 2 lifecycle node does.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Callable

from ..core.settings import Settings
from ..graph.port import Graph
from .signals import run_until_signalled, stop_once


def _say(text: str) -> None:
    print(text, flush=True)


def _autostart(reactor, change_state: Callable[[str], tuple[bool, str]], who: str,
               code: int, exit_code: list[int]) -> None:
    """Configure, then activate; on a refusal say why, set ``code`` and stop."""
    for transition in ('configure', 'activate'):
        ok, reason = change_state(transition)
        if not ok:
            print(f'error: {who} could not {transition}: {reason}', file=sys.stderr,
                  flush=True)
            exit_code[0] = code
            stop_once(reactor)
            return


def _serve(reactor, node, graph: Graph, start: Callable[[], None] | None) -> None:
    def shutdown() -> None:
        node.close()
        graph.close()
    reactor.addSystemEventTrigger('before', 'shutdown', shutdown)
    if start is not None:
        reactor.callWhenRunning(start)
    run_until_signalled(reactor)


def run_tier(settings: Settings, tier_name: str, graph: Graph, autostart: bool = True,
             endpoint: str | None = None) -> int:
    """Serve ``tier_name``; the exit code (2 when it cannot start by itself)."""
    from twisted.internet import reactor

    from ..tier.node import TierNode

    def ready(bound: int) -> None:
        _say(f'READY tier={tier_name} url={node.lc.url} port={bound} pid={os.getpid()}')

    node = TierNode(settings, tier_name, graph, reactor, on_ready=ready, endpoint=endpoint)
    exit_code = [0]
    _serve(reactor, node, graph, (lambda: _autostart(
        reactor, node.change_state, f'tier {tier_name}', 2, exit_code)) if autostart else None)
    return exit_code[0]


def run_coordinator(settings: Settings, graph: Graph, autostart: bool = True,
                    config=None) -> int:
    """Coordinate; the exit code (1 when it cannot start by itself)."""
    from twisted.internet import reactor, threads

    from ..coordinator.node import NODE, CoordinatorNode
    from ..coordinator.shell import Coordinator

    announced = []

    def on_active() -> None:
        if not announced:
            announced.append(True)
            _say(f'READY coordinator pid={os.getpid()}')

    node = CoordinatorNode(
        graph, lambda: Coordinator(settings, graph, reactor, config=config, out=_say),
        run_on_loop=lambda fn: threads.blockingCallFromThread(reactor, fn),
        on_active=on_active,
        on_finalized=lambda: reactor.callLater(0.05, stop_once, reactor))
    exit_code = [0]

    def start() -> None:
        if autostart:
            _autostart(reactor, node.change_state, 'the coordinator', 1, exit_code)
        else:
            _say(f'coordinator: unconfigured, waiting for {NODE}/change_state')
    _serve(reactor, node, graph, start)
    return exit_code[0]
