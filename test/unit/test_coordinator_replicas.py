"""Self-registered endpoints in the coordinator shell (in-memory graph, task.Clock):
a replica joins on its first heartbeat, is watched and recovered like a configured tier
under its own node name, and leaves at once when it says so or after forget_after when
it is DOWN and gone."""
import json

import pytest

from needs import needs
from websocket_redundancy.coordinator.shell import CoordinatorSettings
from websocket_redundancy.core.endpoints import node_name

from .test_coordinator_shell import SCHEMA, FakeTier, World


@pytest.fixture
def validator():
    needs('jsonschema')
    import jsonschema

    return jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))


class FakeReplica(FakeTier):
    """A second process serving ``tier`` as endpoint ``endpoint``."""

    def __init__(self, graph, clock, tier, endpoint, port, autostart=True):
        self.tier_name, self.endpoint, self.leaving = tier, endpoint, False
        super().__init__(graph, clock, node_name(endpoint), port, autostart)

    def start(self, autostart=True):
        super().start(autostart)
        publish = self.beats.publish

        def with_endpoint(msg):
            beat = json.loads(msg['data'])
            beat.update(tier=self.tier_name, endpoint=self.endpoint, priority=0)
            if self.leaving:
                beat['leaving'] = True
            publish({'data': json.dumps(beat)})
        self.beats.publish = with_endpoint


def world_with_replica(autostart=True, forget_after=2.0):
    w = World(names=('primary', 'secondary'))
    replica = FakeReplica(w.graph, w.clock, 'primary', 'primary@relay:9090', 9090, autostart)
    w.tiers['primary@relay:9090'] = replica
    c = w.coordinator()
    c.config = CoordinatorSettings(forget_after=forget_after)
    return w, c, replica


def rows(c, name='primary'):
    return [r for r in c.status()['tiers'] if r['name'] == name]


def test_a_replica_joins_the_directory_and_is_up(validator):
    """When a second primary beats on the graph, it is listed as its own endpoint with the
    primary's priority and scope, probed at its URL, UP, and the document validates."""
    w, c, replica = world_with_replica()
    c.start()
    w.run(1.0)
    doc = c.status()
    validator.validate(doc)
    assert [(r['endpoint'], r['health'], r['url']) for r in rows(c)] == [
        ('primary', 'UP', 'ws://127.0.0.1:8080'),
        ('primary@relay:9090', 'UP', 'ws://127.0.0.1:9090')]
    assert any(e['kind'] == 'joined' and e['tier'] == 'primary@relay:9090'
               for e in doc['events'])
    assert 'coordinator: primary@relay:9090 joined the directory (primary replica)' in w.lines
    w.finish(c)


def test_an_unconfigured_replica_is_configured_and_activated_by_its_node_name():
    """When a replica starts unconfigured, recovery walks it to active through
    /primary_relay_9090/change_state."""
    w, c, replica = world_with_replica(autostart=False)
    c.start()
    w.run(2.0)
    assert replica.transitions == ['configure', 'activate']
    assert rows(c)[1]['lifecycle'] == 'active' and rows(c)[1]['health'] == 'UP'
    w.finish(c)


def test_a_replica_that_says_it_is_leaving_is_removed_at_once(validator):
    """When a replica's last heartbeat says leaving, it leaves the directory at once and
    nothing is recovered."""
    w, c, replica = world_with_replica()
    c.start()
    w.run(1.0)
    replica.leaving = True
    w.run(0.06)
    replica.kill()
    w.run(0.5)
    assert [r['endpoint'] for r in rows(c)] == ['primary']
    doc = c.status()
    validator.validate(doc)
    assert doc['events'][-1]['kind'] == 'left'
    assert not any('primary@relay' in line and 'recover' in line for line in w.lines)
    w.finish(c)


def test_a_killed_replica_is_down_then_dropped_after_forget_after():
    """When a replica dies, it is DOWN (never respawned: nobody supervises it here) and
    is removed once it has been DOWN and gone for forget_after."""
    w, c, replica = world_with_replica(forget_after=2.0)
    c.start()
    w.run(1.0)
    replica.kill()
    w.run(1.0)
    assert rows(c)[1]['health'] == 'DOWN'
    assert not any('waiting for its supervisor' in line for line in w.lines if 'relay' in line)
    w.run(1.5)
    assert [r['endpoint'] for r in rows(c)] == ['primary']
    assert 'coordinator: primary@relay:9090 DOWN and gone from the graph; removed' in w.lines
    assert [p.stopped for p in w.probes if p.name == 'primary@relay:9090'] == [True]
    w.finish(c)


def test_a_replica_that_comes_back_joins_again():
    """When a dropped replica starts again, it joins again with a new session."""
    w, c, replica = world_with_replica(forget_after=1.0)
    c.start()
    w.run(1.0)
    replica.kill()
    w.run(2.5)
    assert len(rows(c)) == 1
    replica.start()
    w.run(1.0)
    assert [(r['endpoint'], r['health']) for r in rows(c)] == [
        ('primary', 'UP'), ('primary@relay:9090', 'UP')]
    w.finish(c)
