"""Run one rclpy node beside the Twisted reactor: the one thread boundary, written down.

* The reactor owns the main thread and SIGINT/SIGTERM (``rclpy.init(
  signal_handler_options=SignalHandlerOptions.NO)``, ``rclpy/signals.py`` on humble and
  jazzy).
* A ``SingleThreadedExecutor`` (``graph.ros.make_executor``: on Humble one that keeps
  the message info) spins the node in a worker thread. Lifecycle callbacks
  run there and cross to the reactor with ``threads.blockingCallFromThread`` (bounded:
  the reactor never waits on the executor); graph callbacks cross with
  ``reactor.callFromThread`` (the tier and coordinator shells do that themselves).
* Shutdown, from the reactor's ``before shutdown`` trigger, in this order (otherwise
  rclpy aborts in C++): the node's own ``release()`` (closes clients, stops listening),
  ``executor.shutdown(timeout_sec=2)``, ``node.destroy_node()``, ``rclpy.try_shutdown()``,
  join the spin thread.
* ``KeyboardInterrupt`` and ``ExternalShutdownException`` end the process with 0, so
  launch_testing's exit-code check passes.
"""
from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


def run(make_node: Callable[[Any], Any], args: list[str] | None = None,
        reactor: Any = None) -> int:
    """Create the node with ``make_node(reactor)`` and serve until a signal or until the
    node finalizes (it then calls ``reactor.stop``). Returns the exit code."""
    import rclpy
    from rclpy.executors import ExternalShutdownException
    from rclpy.signals import SignalHandlerOptions

    from ..graph.ros import make_executor

    if reactor is None:
        from twisted.internet import reactor
    logging.basicConfig(level=logging.WARNING,
                        format='%(asctime)s %(levelname)s %(name)s: %(message)s')
    rclpy.init(args=sys.argv if args is None else args,
               signal_handler_options=SignalHandlerOptions.NO)
    node = executor = spin_thread = None
    try:
        node = make_node(reactor)
        executor = make_executor()
        executor.add_node(node)

        def spin() -> None:
            try:
                executor.spin()
            except ExternalShutdownException:
                pass
            except Exception:  # an executor failure must not leave the reactor running
                log.exception('the ROS executor stopped')
                reactor.callFromThread(_stop, reactor)

        spin_thread = threading.Thread(target=spin, name='ros-executor', daemon=True)
        finished = []

        def shutdown() -> None:
            if finished:
                return
            finished.append(True)
            release = getattr(node, 'release', None)
            if release is not None:
                release()
            _close(node, executor, spin_thread)

        reactor.addSystemEventTrigger('before', 'shutdown', shutdown)
        reactor.callWhenRunning(spin_thread.start)
        reactor.run()
        shutdown()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None and executor is None:
            node.destroy_node()
        rclpy.try_shutdown()
    return 0


def _close(node, executor, spin_thread: threading.Thread) -> None:
    import rclpy
    executor.shutdown(timeout_sec=2)
    node.destroy_node()
    rclpy.try_shutdown()
    if spin_thread.is_alive():
        spin_thread.join(timeout=2)


def _stop(reactor) -> None:
    if reactor.running:
        reactor.stop()


def on_reactor(reactor, fn: Callable[..., Any], *args: Any) -> Any:
    """Run ``fn`` on the reactor thread and return its result (from the executor
    thread); when already on the reactor thread (unit tests), just call it."""
    from twisted.internet import threads
    from twisted.python import threadable

    if threadable.isInIOThread() or not getattr(reactor, 'running', False):
        return fn(*args)
    return threads.blockingCallFromThread(reactor, fn, *args)
