"""How a tier or coordinator process runs its reactor until SIGINT or SIGTERM.

Ctrl-C in a terminal signals every process of the group, and ``up`` then sends each
child SIGTERM too: Twisted's own handlers would ask a reactor that is already stopping
to stop again and print a ``ReactorNotRunning`` traceback. Here every signal, and every
other caller, stops the reactor at most once.
"""
from __future__ import annotations

import signal

from twisted.internet.error import ReactorNotRunning


def stop_once(reactor) -> None:
    """Stop ``reactor`` unless it is already stopping or stopped."""
    try:
        reactor.stop()
    except ReactorNotRunning:
        pass


def run_until_signalled(reactor) -> None:
    """``reactor.run()``; SIGINT and SIGTERM stop it (once, however many arrive)."""
    def on_signal(signum, frame) -> None:
        reactor.callFromThread(stop_once, reactor)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    reactor.run(installSignalHandlers=False)
