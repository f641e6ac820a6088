"""``websocket-redundancy demo``: the whole system, and a random tier broken on a schedule.

Starts what ``up`` starts (same children, same supervisor, the dashboard URL printed;
no browser is opened), joins the graph itself and runs a built-in failover client
subscribed to one topic. Then, as ``core.chaos.FaultPlan`` decides, it kills a tier
(``kill -9``; the supervisor restarts it), hangs one (``SIGSTOP`` for ``--hang`` s,
then ``SIGCONT``) or deactivates one (``/<tier>/change_state``), waits until the
coordinator reports it recovered, prints the measured detection, failover and recovery
times, and waits the interval before the next one. ``--duration`` ends the injections
(the fault in progress is still seen through), Ctrl-C ends at once; both print the
summary table and stop every child.
"""
from __future__ import annotations

import json
import os
import signal
import sys
import time
from argparse import Namespace

from ..core.chaos import FaultPlan, Record, event_line, measure, summary_table
from ..core.settings import STATUS_TOPIC, Settings
from .supervisor import Supervisor
from .up import graph_endpoints, plan_children, role_tokens

RECOVERY_TIMEOUT_S = 45.0  # a fault not recovered by then is reported as such


def _say(text: str) -> None:
    print(text, flush=True)


class Demo:
    def __init__(self, reactor, settings: Settings, args: Namespace) -> None:
        self.reactor, self.settings, self.args = reactor, settings, args
        env, self.generated = role_tokens(settings)
        self.specs = plan_children(settings, args, env)
        self.tiers = [s.name for s in self.specs if s.name in {t.name for t in settings.tiers}]
        self.supervisor = Supervisor(reactor, self.specs, out=_say)
        self.supervisor.on_ready = self._on_ready
        self.pending = {s.name for s in self.specs}
        self.plan = FaultPlan(self.tiers, args.interval, args.faults, args.seed)
        self.records: list[Record] = []
        self.current: Record | None = None
        self.client = self.graph = self._timer = self._give_up = None
        self.client_on, self.delivered, self.gaps = '', 0, 0
        self._hung: int | None = None
        self._injected_at = 0.0
        self.ending = False
        self.started = time.monotonic()

    # ---- the system ------------------------------------------------------------------
    def start(self) -> None:
        _say(f'websocket-redundancy demo: starting {len(self.specs)} processes; then a random '
             f'tier is broken every {self._interval_text()} (seed {self.args.seed})')
        self.supervisor.start()

    def _interval_text(self) -> str:
        lo, hi = self.args.interval
        return f'{lo:g} s' if lo == hi else f'{lo:g}-{hi:g} s'

    def _port(self, name: str) -> int:
        spec = next(s for s in self.specs if s.name == name)
        return int(spec.argv[spec.argv.index('--port') + 1])

    def _on_ready(self, name: str, line: str) -> None:
        _say(f'  {name:<11} ready  {line.split(" ", 1)[1]}')
        self.pending.discard(name)
        if not self.pending and self.graph is None:
            self._ready()

    def _ready(self) -> None:
        from ..client.shell import FailoverClient
        from ..graph.embedded.graph import EmbeddedGraph
        port = self._port(self.tiers[0])
        _say(f'all {len(self.tiers)} tiers ready in {time.monotonic() - self.started:.1f} s.')
        _say(f'  dashboard: http://127.0.0.1:{port}/   status: websocket-redundancy status')
        args, s = self.args, self.settings
        base = s.graph.base_port if args.graph_base_port is None else args.graph_base_port
        endpoints = graph_endpoints(s.graph.listen, base, len(self.specs) + 1)
        domain = s.graph.domain if args.domain is None else args.domain
        self.graph = EmbeddedGraph(domain=domain, listen=[endpoints[-1]],
                                   connect=endpoints[:-1] + list(s.graph.connect), name='demo')
        self.graph.subscribe(STATUS_TOPIC, lambda sample: self.reactor.callFromThread(
            self._on_status, sample.msg), 'std_msgs/msg/String')
        urls = [f'ws://127.0.0.1:{self._port(name)}' for name in self.tiers]
        self.client = FailoverClient(urls, reactor=self.reactor)
        self.client.on('tier_changed', self._on_tier_changed)
        self.client.on('gap', self._on_gap)
        self.client.subscribe(args.topic, '', self._on_sample)
        self.client.connect()
        _say(f'demo: client subscribed to {args.topic}; Ctrl-C ends the demo with a summary')
        if args.duration:
            self.reactor.callLater(args.duration, self._end)
        self._schedule()

    # ---- faults ----------------------------------------------------------------------
    def _schedule(self) -> None:
        self._timer = self.reactor.callLater(self.plan.delay(), self._inject)

    def _inject(self) -> None:
        self._timer = None
        if self.ending:
            return
        fault = self.plan.next()
        record = self.current = Record(fault, time.time(), client_on=self.client_on)
        self._injected_at = time.monotonic()
        pid = self.supervisor.children[fault.tier].pid
        if fault.kind == 'kill':
            _say(f'demo: #{fault.number} kill -9 {fault.tier} (pid {pid})')
            os.kill(pid, signal.SIGKILL)
        elif fault.kind == 'hang':
            _say(f'demo: #{fault.number} SIGSTOP {fault.tier} (pid {pid}) for '
                 f'{self.args.hang:g} s')
            os.kill(pid, signal.SIGSTOP)
            self._hung = pid
            self.reactor.callLater(self.args.hang, self._resume, pid)
        else:
            _say(f'demo: #{fault.number} deactivate {fault.tier} (/{fault.tier}/change_state)')
            future = self.graph.call(f'/{fault.tier}/change_state',
                                     'lifecycle_msgs/srv/ChangeState',
                                     {'transition': {'id': 0, 'label': 'deactivate'}}, 2.0)
            future.add_done_callback(lambda f: self.reactor.callFromThread(
                self._deactivated, record, f))
        self._give_up = self.reactor.callLater(RECOVERY_TIMEOUT_S, self._finish)

    def _resume(self, pid: int) -> None:
        if self._hung == pid:
            self._hung = None
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass

    def _deactivated(self, record: Record, future) -> None:
        try:
            ok = future.result().get('success') is True
        except Exception as exc:  # GraphError, timeout
            ok, record.notes = False, [str(exc)]
        if not ok:
            record.notes.append('the deactivate request was refused')

    def _on_status(self, msg: dict) -> None:
        if self.current is None:
            return
        try:
            doc = json.loads(msg.get('data', ''))
        except ValueError:
            return
        measure(self.current, doc.get('events') or [])
        if self.current.done and self._hung is None:
            self._finish()

    def _finish(self) -> None:
        record, self.current = self.current, None
        if record is None:
            return
        if self._give_up is not None and self._give_up.active():
            self._give_up.cancel()
        self._give_up = None
        self.records.append(record)
        _say(event_line(record) + ''.join(f' ({note})' for note in record.notes))
        if self.ending:
            self.reactor.stop()
        else:
            self._schedule()

    # ---- the client ------------------------------------------------------------------
    def _on_tier_changed(self, change) -> None:
        self.client_on = change.current
        r = self.current
        if r is not None and not r.moved_to and change.previous == r.fault.tier:
            r.moved_to, r.failover_s = change.current, time.monotonic() - self._injected_at

    def _on_gap(self, info) -> None:
        self.gaps += 1
        _say(f'demo: client gap on {info.topic} ({info.reason}) at {info.tier}')

    def _on_sample(self, msg, meta) -> None:
        self.delivered += 1

    # ---- the end ---------------------------------------------------------------------
    def _end(self) -> None:
        self.ending = True
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        if self.current is None:
            self.reactor.stop()
        else:
            _say('demo: duration reached; waiting for the fault in progress to recover')

    def shutdown(self):
        """Before the reactor stops (end of duration or Ctrl-C): summary, then children."""
        if self._hung is not None:
            self._resume(self._hung)
        for call in (self._timer, self._give_up):
            if call is not None and call.active():
                call.cancel()
        if self.current is not None:
            self.current.notes.append('interrupted')
            self.records.append(self.current)
            self.current = None
        if self.client is not None:
            self.client.close()
        _say('demo summary:')
        _say(summary_table(self.records, self.delivered, self.gaps))
        if self.graph is not None:
            self.graph.close()
        return self.supervisor.stop()

    def failed(self) -> bool:
        return any(not r.done and 'interrupted' not in r.notes for r in self.records)


def run_demo(settings: Settings, args: Namespace) -> int:
    from twisted.internet import reactor

    for key, value in (('bag', None), ('no_sim', False), ('tiers', None),
                       ('no_coordinator', False)):
        setattr(args, key, getattr(args, key, value))
    demo = Demo(reactor, settings, args)
    reactor.addSystemEventTrigger('before', 'shutdown', demo.shutdown)
    reactor.callWhenRunning(demo.start)
    # Started in the background of a script, SIGINT may be ignored; Twisted then leaves it
    # so. Ctrl-C (SIGINT) must end the demo with its summary wherever it was started.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    reactor.run()
    _say('websocket-redundancy demo: stopped')
    if demo.failed():
        print('error: a fault was not recovered; see the table above', file=sys.stderr)
        return 1
    return 0
