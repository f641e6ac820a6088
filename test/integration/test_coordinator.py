"""The coordinator with real processes: it sees crashes and hangs, brings tiers back by
lifecycle transitions, and publishes one status document on every surface."""
from __future__ import annotations

from needs import needs

needs('zenoh', 'rosbags', 'jsonschema')

import json
import os
import signal
import subprocess
import time

import jsonschema
import pytest

from websocket_redundancy.graph.embedded.graph import EmbeddedGraph

from .harness import ROOT, child_env, cli, free_port_block, http_json, wait_for

pytestmark = pytest.mark.integration
SCHEMA = json.loads((ROOT / 'src' / 'websocket_redundancy' / 'schema' /
                     'status.schema.json').read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


@pytest.fixture(scope='module')
def graph(system):
    g = EmbeddedGraph(domain=system['graph']['domain'],
                      listen=[f'tcp/127.0.0.1:{free_port_block(1)}'],
                      connect=system['graph']['endpoints'], name='test')
    yield g
    g.close()


def status_doc(system, tier='primary'):
    code, doc = http_json(system[tier], '/status')
    return doc if code == 200 else None


def row(doc, tier):
    return next(r for r in doc['tiers'] if r['name'] == tier)


def tier_row(system, tier, via='primary'):
    doc = status_doc(system, via)
    return row(doc, tier) if doc else None


def test_the_status_document_validates_on_every_surface(system, graph):
    http = wait_for(lambda: status_doc(system), 30, 'GET /status to answer 200')
    VALIDATOR.validate(http)
    assert [r['name'] for r in http['tiers']] == ['primary', 'secondary', 'tertiary',
                                                  'emergency']

    topic_docs, diagnostics = [], []
    graph.subscribe('/websocket_redundancy/status',
                    lambda s: topic_docs.append(json.loads(s.msg['data'])), 'std_msgs/msg/String')
    graph.subscribe('/diagnostics', lambda s: diagnostics.append(s.msg),
                    'diagnostic_msgs/msg/DiagnosticArray')
    wait_for(lambda: topic_docs, 10, 'a status document on the topic')
    VALIDATOR.validate(topic_docs[-1])

    reply = graph.call('/websocket_redundancy/status', 'std_srvs/srv/Trigger', {}, 5.0)
    answer = reply.result(timeout=10)
    assert answer['success'] is True
    VALIDATOR.validate(json.loads(answer['message']))

    out = subprocess.run(cli('status', '--json', '--url', f'http://127.0.0.1:{system["emergency"]}'),
                         env=child_env(), capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    VALIDATOR.validate(json.loads(out.stdout))

    table = subprocess.run(cli('status', '--url', f'http://127.0.0.1:{system["primary"]}'),
                           env=child_env(), capture_output=True, text=True, timeout=30)
    assert table.returncode == 0 and 'emergency' in table.stdout and 'HEALTH' in table.stdout

    def ours():
        return [s for d in diagnostics for s in d['status']
                if s['name'].startswith('websocket_redundancy: ')]
    wait_for(ours, 10, 'a /diagnostics entry per tier')
    names = {s['name'] for s in ours()}
    assert {f'websocket_redundancy: {t}' for t in ('primary', 'emergency')} <= names


def test_kill_9_is_seen_the_tier_respawned_configured_and_activated(system):
    wait_for(lambda: (r := tier_row(system, 'tertiary')) and r['health'] == 'UP', 30,
             'tertiary UP before the kill')
    old_pid = http_json(system['tertiary'], '/health')[1]['pid']
    killed_at = time.time()
    os.kill(old_pid, signal.SIGKILL)

    def recovered():
        doc = status_doc(system)
        if not doc:
            return None
        return [e for e in doc['events'] if e['tier'] == 'tertiary' and e['kind'] == 'recovered'
                and e['at'] >= killed_at]
    events = wait_for(recovered, 30, 'a "recovered" event for tertiary after the kill')
    assert events[-1]['duration_s'] is not None and events[-1]['duration_s'] > 0
    status, health = http_json(system['tertiary'], '/health')
    assert status == 200 and health['state'] == 'active' and health['pid'] != old_pid
    doc = status_doc(system)
    seen = [e for e in doc['events'] if e['tier'] == 'tertiary' and e['at'] >= killed_at]
    assert any(e['kind'] == 'health' and '-> DOWN' in e['detail'] for e in seen), seen
    wait_for(lambda: tier_row(system, 'tertiary')['health'] == 'UP', 30, 'tertiary UP again')


def test_sigstop_is_marked_down_and_sigcont_brings_it_up_without_a_restart(system):
    wait_for(lambda: (r := tier_row(system, 'emergency')) and r['health'] == 'UP', 30,
             'emergency UP before the hang')
    pid = http_json(system['emergency'], '/health')[1]['pid']
    stopped_at = time.time()
    os.kill(pid, signal.SIGSTOP)
    try:
        wait_for(lambda: tier_row(system, 'emergency')['health'] == 'DOWN', 30,
                 'the hung emergency tier to be marked DOWN')
        time.sleep(2.0)  # hung for a while: the coordinator must not thrash meanwhile
    finally:
        os.kill(pid, signal.SIGCONT)
    wait_for(lambda: tier_row(system, 'emergency')['health'] == 'UP', 30,
             'emergency UP after SIGCONT')
    assert http_json(system['emergency'], '/health')[1]['pid'] == pid, 'the hung tier was restarted'
    episode = [e for e in status_doc(system)['events']
               if e['tier'] == 'emergency' and e['at'] >= stopped_at]
    starts = [e for e in episode if e['kind'] == 'recovery_started']
    assert len(starts) <= 2, f'a restart storm: {episode}'
    assert not any(e['kind'] == 'restarted' for e in episode)


def test_a_tier_deactivated_by_hand_is_brought_back_to_active(system, graph):
    wait_for(lambda: (r := tier_row(system, 'secondary')) and r['health'] == 'UP', 30,
             'secondary UP first')
    bad = graph.call('/secondary/change_state', 'lifecycle_msgs/srv/ChangeState',
                     {'transition': {'id': 0, 'label': 'configure'}}, 5.0).result(timeout=10)
    assert bad == {'success': False}, 'configure from active must be refused'
    assert http_json(system['secondary'], '/health')[0] == 200, 'an invalid request hurt the tier'

    done = graph.call('/secondary/change_state', 'lifecycle_msgs/srv/ChangeState',
                      {'transition': {'id': 0, 'label': 'deactivate'}}, 5.0).result(timeout=10)
    assert done == {'success': True}
    wait_for(lambda: (r := tier_row(system, 'secondary')) and r['lifecycle'] == 'active'
             and r['health'] == 'UP' and http_json(system['secondary'], '/health')[0] == 200,
             30, 'the coordinator to bring secondary back to active')
    events = [e for e in status_doc(system)['events'] if e['tier'] == 'secondary']
    assert any(e['kind'] == 'recovered' for e in events), events
