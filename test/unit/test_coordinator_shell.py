"""The coordinator shell over an in-memory graph, with fake tiers and a Twisted clock.

Fake tiers serve get_state/change_state (a core ``LifecycleMachine``), publish the
graph heartbeat and transition events; fake probes answer from the tier's state. Time
is a ``task.Clock``: tests advance it and never sleep, and every test ends with no
delayed calls left after the coordinator stops.
"""
import json
import os
from concurrent.futures import Future
from pathlib import Path

import pytest
from twisted.internet import task

from needs import needs
from websocket_redundancy.coordinator.node import NODE, CoordinatorNode
from websocket_redundancy.coordinator.shell import Coordinator
from websocket_redundancy.core.lifecycle import LifecycleMachine, State
from websocket_redundancy.core.settings import settings_from_dict
from websocket_redundancy.graph.memory import MemoryGraph

WALL0 = 1_700_000_000.0
SCHEMA = (Path(__file__).resolve().parents[2] / 'src' / 'websocket_redundancy' / 'schema'
          / 'status.schema.json')


def immediate(fn, *args):
    fn(*args)


class FakeTier:
    """A tier process: lifecycle services, 20 Hz heartbeat, transition events."""

    def __init__(self, graph, clock, name, port, autostart=True):
        self.graph, self.clock, self.name, self.port = graph, clock, name, port
        self.pid = 1000
        self.handles, self.loop, self.transitions = [], None, []
        self.start(autostart)

    def start(self, autostart=True):
        self.pid += 1
        self.session = os.urandom(4).hex()
        self.machine = LifecycleMachine(State.ACTIVE if autostart else State.UNCONFIGURED)
        self.tick = self.seq = 0
        self.hung = False
        g, n = self.graph, '/' + self.name
        self.handles = [
            g.serve(n + '/get_state', 'lifecycle_msgs/srv/GetState', self._get_state),
            g.serve(n + '/change_state', 'lifecycle_msgs/srv/ChangeState', self._change),
        ]
        self.events = g.advertise(n + '/transition_event', 'lifecycle_msgs/msg/TransitionEvent')
        self.beats = g.advertise('/websocket_redundancy/heartbeat/' + self.name,
                                 'std_msgs/msg/String')
        self.loop = task.LoopingCall(self.beat)
        self.loop.clock = self.clock
        self.loop.start(0.05, now=True)

    def kill(self):
        self.loop.stop()
        for handle in self.handles:
            handle.close()
        self.events.close()
        self.beats.close()

    def restart(self, autostart=True):
        self.kill()
        self.start(autostart)

    @property
    def active(self):
        return self.machine.state is State.ACTIVE and not self.hung and self.loop.running

    def beat(self):
        if not self.hung:
            self.tick += 1
        self.seq += 1
        self.beats.publish({'data': json.dumps({
            'tier': self.name, 'session': self.session, 'pid': self.pid, 'host': 'h',
            'tick': self.tick, 'seq': self.seq, 'state': self.machine.state.label,
            'url': f'ws://127.0.0.1:{self.port}', 'port': self.port, 'priority': 0,
            'clients': 3, 'capacity': 200, 'scope': {'subscribe': ['**'], 'publish': []},
            'sent': WALL0 + self.clock.seconds()})})

    def _get_state(self, request):
        if self.hung:
            raise TimeoutError('hung')
        s = self.machine.state
        return {'current_state': {'id': int(s), 'label': s.label}}

    def _change(self, request):
        if self.hung:
            raise TimeoutError('hung')
        label = request['transition']['label']
        self.transitions.append(label)
        start = self.machine.state
        self.machine.begin(label)
        goal = self.machine.finish('success')
        self.events.publish({'timestamp': 0, 'transition': {'id': 0, 'label': label},
                             'start_state': {'id': int(start), 'label': start.label},
                             'goal_state': {'id': int(goal), 'label': goal.label}})
        return {'success': True}


class FakeProbe:
    def __init__(self, tiers, name, url):
        self.tiers, self.name, self.url, self.stopped = tiers, name, url, False

    def take(self):
        return (True, 0.004) if self.tiers[self.name].active else (False, None)

    def stop(self):
        self.stopped = True


class World:
    def __init__(self, names=('primary', 'secondary'), graph=None):
        self.clock = task.Clock()
        self.graph = graph or MemoryGraph(clock=lambda: WALL0 + self.clock.seconds())
        self.settings = settings_from_dict({'tiers': {n: {} for n in names}})
        self.tiers = {t.name: FakeTier(self.graph, self.clock, t.name, t.port)
                      for t in self.settings.tiers}
        self.lines, self.probes = [], []
        self.statuses, self.diagnostics = [], []
        self.graph.subscribe('/websocket_redundancy/status',
                             lambda s: self.statuses.append(json.loads(s.msg['data'])))
        self.graph.subscribe('/diagnostics', lambda s: self.diagnostics.append(s.msg))

    def coordinator(self):
        def probe(name, url):
            self.probes.append(FakeProbe(self.tiers, name, url))
            return self.probes[-1]
        return Coordinator(self.settings, self.graph, self.clock, call_from_thread=immediate,
                           monotonic=self.clock.seconds, wall=lambda: WALL0 + self.clock.seconds(),
                           probe_factory=probe, out=self.lines.append)

    def run(self, seconds, step=0.01):
        for _ in range(round(seconds / step)):
            self.clock.advance(step)

    def row(self, coordinator, name):
        return next(t for t in coordinator.status()['tiers'] if t['name'] == name)

    def finish(self, coordinator):
        coordinator.stop()
        for tier in self.tiers.values():
            if tier.loop.running:
                tier.kill()
        assert self.clock.getDelayedCalls() == []


@pytest.fixture
def validator():
    needs('jsonschema')
    import jsonschema

    return jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))


def test_healthy_tiers_are_up_and_status_is_published(validator):
    """When every tier beats and answers probes, all are UP and the document validates."""
    w = World()
    c = w.coordinator()
    c.start()
    w.run(1.0)
    doc = c.status()
    validator.validate(doc)
    assert [(t['name'], t['health'], t['lifecycle'], t['clients']) for t in doc['tiers']] == [
        ('primary', 'UP', 'active', 3), ('secondary', 'UP', 'active', 3)]
    assert doc['tiers'][0]['probe_latency_ms'] == 4.0
    assert 2 <= len(w.statuses) <= 8 and w.statuses[-1]['version'] == 2  # on change + 2 Hz
    validator.validate(w.statuses[-1])
    assert w.lines == ['coordinator: primary UP (3 good observations in a row)',
                       'coordinator: secondary UP (3 good observations in a row)']
    w.finish(c)
    assert all(p.stopped for p in w.probes)


def test_status_service_and_diagnostics():
    """When asked, the Trigger service returns the document; /diagnostics has one
    status per tier with its level, url and values."""
    w = World()
    c = w.coordinator()
    c.start()
    w.run(1.0)
    w.tiers['secondary'].hung = True
    w.run(2.5)
    answer = w.graph.call('/websocket_redundancy/status', 'std_srvs/srv/Trigger', {},
                          timeout=1.0).result()
    assert answer['success'] is True
    assert json.loads(answer['message'])['coordinator']['session'] == c.info.session
    diag = w.diagnostics[-1]['status']
    assert [(d['name'], d['level'], d['hardware_id']) for d in diag] == [
        ('websocket_redundancy: primary', 0, 'ws://127.0.0.1:8080'),
        ('websocket_redundancy: secondary', 2, 'ws://127.0.0.1:8081')]
    assert {v['key'] for v in diag[0]['values']} == {
        'health', 'lifecycle', 'clients', 'capacity', 'restarts', 'probe_latency_ms'}
    w.finish(c)


def test_killed_tier_is_waited_for_and_recovered(validator):
    """When a tier's process dies, it goes DOWN at once, the coordinator waits for the
    supervisor's restart, and reports the recovery with its duration."""
    w = World()
    c = w.coordinator()
    c.start()
    w.run(1.0)
    w.tiers['primary'].kill()
    w.run(0.2)
    assert w.row(c, 'primary')['health'] == 'DOWN'
    assert any(line.startswith('coordinator: primary DOWN (process exited')
               for line in w.lines), w.lines
    assert 'coordinator: primary process gone -> waiting for its supervisor to restart it' \
        in w.lines
    w.tiers['primary'].start()
    w.run(1.0)
    row = w.row(c, 'primary')
    assert (row['health'], row['lifecycle'], row['restarts'], row['circuit']) == (
        'UP', 'active', 1, 'closed')
    recovered = [line for line in w.lines if 'recovered in' in line]
    assert len(recovered) == 1 and recovered[0].startswith('coordinator: primary recovered in')
    doc = c.status()
    validator.validate(doc)
    kinds = [e['kind'] for e in doc['events'] if e['tier'] == 'primary']
    assert kinds == ['health', 'health', 'recovery_started', 'respawn', 'health', 'recovered']
    assert w.row(c, 'secondary')['health'] == 'UP'  # never reset-all
    w.finish(c)


def test_restarted_unconfigured_tier_is_configured_and_activated():
    """When a tier comes back unconfigured, the coordinator configures and activates it."""
    w = World()
    c = w.coordinator()
    c.start()
    w.run(1.0)
    w.tiers['primary'].restart(autostart=False)
    w.run(1.0)
    assert w.tiers['primary'].transitions == ['configure', 'activate']
    assert w.row(c, 'primary')['health'] == 'UP'
    assert any('primary recovered in' in line for line in w.lines)
    w.finish(c)


def test_deactivated_tier_is_activated_again():
    """When someone deactivates a tier, the coordinator activates it again."""
    w = World()
    c = w.coordinator()
    c.start()
    w.run(1.0)
    w.tiers['secondary']._change({'transition': {'id': 0, 'label': 'deactivate'}})
    w.run(0.5)
    assert w.tiers['secondary'].transitions == ['deactivate', 'activate']
    assert w.tiers['secondary'].active
    w.finish(c)


def test_hung_tier_failures_are_results_and_the_tier_comes_back():
    """When a tier hangs (heartbeat tick stops, services fail), every failed call is a
    result the model sees; the tier is DOWN, queried ever less often, never FAILED, and
    UP again when it resumes."""
    w = World()
    c = w.coordinator()
    c.start()
    w.run(1.0)
    w.tiers['primary'].hung = True
    w.run(8.0, step=0.05)
    assert w.row(c, 'primary')['health'] == 'DOWN'
    assert w.row(c, 'primary')['circuit'] == 'closed'
    assert any(line.startswith('coordinator: primary DOWN (') and 'recovering' in line
               for line in w.lines), w.lines
    assert not any('primary FAILED' in line for line in w.lines)
    w.tiers['primary'].hung = False  # SIGCONT
    w.run(8.0)
    assert w.row(c, 'primary')['health'] == 'UP'
    w.finish(c)


class SilentCalls(MemoryGraph):
    """Service calls to the primary tier never complete (a lost reply)."""

    def call(self, name, type_name, request, timeout):
        if name.startswith('/primary/'):
            return Future()
        return super().call(name, type_name, request, timeout)


def test_unanswered_call_times_out_in_the_model():
    """When a service call never completes, the model's own deadline fails it and the
    reactor carries on."""
    w = World(graph=SilentCalls())
    c = w.coordinator()
    c.start()
    w.run(1.0)
    w.tiers['primary']._change({'transition': {'id': 0, 'label': 'deactivate'}})
    w.run(3.0)
    snapshot = c.recovery.snapshot('primary')
    assert snapshot['strikes'] == 1  # the incident; silence adds none
    assert 'no answer within 1 s' in snapshot['last_failure']
    w.finish(c)


def test_tier_never_seen_is_not_recovered():
    """When a tier has never sent a heartbeat, it is DOWN but no recovery is tried."""
    w = World()
    w.tiers['secondary'].kill()
    c = w.coordinator()
    c.start()
    w.run(3.0)
    assert w.row(c, 'secondary')['health'] == 'DOWN'
    assert c.recovery.snapshot('secondary')['phase'] == 'idle'
    assert not any('secondary' in line and 'recover' in line for line in w.lines)
    w.finish(c)


def test_coordinator_node_lifecycle_over_the_graph():
    """When driven through its own change_state service, the coordinator starts and
    stops its work; get_state answers with lifecycle_msgs ids and labels."""
    w = World()
    active = []
    node = CoordinatorNode(w.graph, w.coordinator, run_on_loop=lambda fn: fn(),
                           on_active=lambda: active.append(True))

    def call(service, request, type_name):
        return w.graph.call(NODE + service, type_name, request, timeout=1.0).result()

    def change(label):
        return call('/change_state', {'transition': {'id': 0, 'label': label}},
                    'lifecycle_msgs/srv/ChangeState')['success']

    get = ('/get_state', {}, 'lifecycle_msgs/srv/GetState')
    assert call(*get) == {'current_state': {'id': 1, 'label': 'unconfigured'}}
    assert change('activate') is False  # illegal from unconfigured
    assert change('configure') and change('activate')
    assert active == [True] and node.coordinator.running
    w.run(1.0)
    assert w.statuses
    assert change('deactivate')
    assert call(*get)['current_state']['label'] == 'inactive'
    for tier in w.tiers.values():
        tier.kill()
    assert w.clock.getDelayedCalls() == []
    assert change('shutdown')
    assert call(*get)['current_state'] == {'id': 4, 'label': 'finalized'}
    node.close()
