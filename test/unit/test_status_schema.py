"""The status document built from the models validates against the schema in the repo."""

import json
from pathlib import Path

import pytest

from needs import needs  # noqa: E402

needs('jsonschema')

import jsonschema  # noqa: E402

from websocket_redundancy.core.health import (  # noqa: E402
    HealthModel,
    Heartbeat,
    ProbeResult,
    ProcessExited,
    TransitionEvent,
)
from websocket_redundancy.core.recovery import RecoveryFinished, RecoveryModel  # noqa: E402
from websocket_redundancy.core.status import (  # noqa: E402
    CoordinatorInfo,
    EventLog,
    TierView,
    build_status,
    render_table,
)

SCHEMA_PATH = (Path(__file__).resolve().parents[2]
               / 'src' / 'websocket_redundancy' / 'schema' / 'status.schema.json')
TIERS = [
    TierView('secondary', 1, 'ws://127.0.0.1:8081', 200, ('/odom', '/mission/**'),
             ('/mission/command',), clients=10),
    TierView('primary', 0, 'ws://127.0.0.1:8080', 200, ('**',), ('/cmd_vel',), clients=50),
    TierView('emergency', 3, 'ws://127.0.0.1:8083', 0, ('/emergency_stop',), ()),
]
COORD = CoordinatorInfo('c0ffee', started_at=1_700_000_000.0, host='rover-base')


@pytest.fixture(scope='module')
def validator():
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def busy_models():
    """Models after a primary crash and recovery, a slow secondary, an unseen emergency."""
    health = HealthModel(tiers=('primary', 'secondary'), now=0.0)
    recovery = RecoveryModel(supervised=('primary',), rand=lambda: 0.0)
    log = EventLog()

    def feed(model, event, now):
        out = model.handle(event, now)
        for item in out:
            log.record(item, now)
            for follow in recovery.handle(item, now):
                log.record(follow, now)
        return out

    for i in range(4):
        for tier in ('primary', 'secondary'):
            feed(health, Heartbeat(tier, 's1', i, i), 0.05 * i)
    feed(health, ProbeResult('secondary', True, 0.0123), 0.3)
    feed(health, TransitionEvent('primary', 'active'), 0.3)
    feed(health, ProcessExited('primary', -9), 1.0)
    for c in recovery.handle(ProcessExited('primary', -9), 1.0):
        log.record(c, 1.0)
    return health, recovery, log


def test_built_document_matches_schema(validator):
    """When the models have seen a crash and recovery, the document validates."""
    health, recovery, log = busy_models()
    doc = build_status(generated_at=1_700_000_100.0, now=2.0, coordinator=COORD,
                       tiers=TIERS, health=health, recovery=recovery, events=log)
    validator.validate(doc)
    json.dumps(doc)
    assert [t['name'] for t in doc['tiers']] == ['primary', 'secondary', 'emergency']
    primary, secondary, emergency = doc['tiers']
    assert (primary['health'], primary['lifecycle'], primary['restarts'], primary['circuit']) == (
        'DOWN', 'unknown', 1, 'closed')  # a dead process has no lifecycle state
    assert primary['last_change'] == 1_700_000_099.0  # monotonic 1.0 seen at wall 100.0 - 1
    assert secondary['probe_latency_ms'] == 12.3
    assert secondary['load'] == 0.05
    assert emergency == {
        'name': 'emergency', 'endpoint': 'emergency', 'host': '', 'priority': 3,
        'url': 'ws://127.0.0.1:8083', 'health': 'UNKNOWN',
        'lifecycle': 'unknown', 'clients': 0, 'capacity': 0, 'load': 0.0,
        'scope': {'subscribe': ['/emergency_stop'], 'publish': []}, 'restarts': 0,
        'last_change': None, 'probe_latency_ms': None, 'circuit': 'closed'}
    assert doc['coordinator']['uptime_s'] == 100.0
    assert [e['kind'] for e in doc['events']] == [
        'health', 'health', 'health', 'recovery_started', 'respawn']


def test_event_log_keeps_the_last_fifty(validator):
    """When more than 50 events happen, only the last 50 are published."""
    health, recovery, _ = busy_models()
    log = EventLog()
    for i in range(70):
        log.record(ProcessExited('primary', i), now=float(i))  # an input: not recorded
        log.record(RecoveryFinished('primary', True, 0.5, f'round {i}', float(i)), float(i))
    doc = build_status(generated_at=1000.0, now=100.0, coordinator=COORD, tiers=TIERS,
                       health=health, recovery=recovery, events=log)
    validator.validate(doc)
    assert len(doc['events']) == 50
    assert doc['events'][-1]['detail'] == 'round 69'
    assert doc['events'][0]['detail'] == 'round 20'


@pytest.mark.parametrize(('mutate', 'path'), [
    (lambda d: d.update(version=1), 'version'),
    (lambda d: d['tiers'][0].update(health='up'), 'health'),
    (lambda d: d['tiers'][0].update(extra=1), 'extra'),
    (lambda d: d['tiers'][0].pop('circuit'), 'circuit'),
    (lambda d: d['tiers'][0].update(circuit='broken'), 'circuit'),
    (lambda d: d['coordinator'].update(pid=4), 'pid'),
    (lambda d: d['events'].append({'at': 1.0, 'tier': 'x', 'kind': 'other', 'detail': '',
                                   'duration_s': None}), 'kind'),
])
def test_schema_rejects_drift(validator, mutate, path):
    """When a document drifts from the schema, validation fails and names the field."""
    health, recovery, log = busy_models()
    doc = build_status(generated_at=10.0, now=2.0, coordinator=COORD, tiers=TIERS,
                       health=health, recovery=recovery, events=log)
    mutate(doc)
    errors = list(validator.iter_errors(doc))
    assert errors and any(path in (str(e.message) + str(list(e.path))) for e in errors)


def test_render_table_aligns_columns():
    """When printed for a terminal, every row's columns line up under the header."""
    health, recovery, log = busy_models()
    doc = build_status(generated_at=1_700_000_100.0, now=2.0, coordinator=COORD, tiers=TIERS,
                       health=health, recovery=recovery, events=log)
    text = render_table(doc)
    lines = text.splitlines()
    assert lines[0] == 'coordinator c0ffee (embedded) on rover-base, up 100 s, status v2'
    header, rows = lines[1], lines[2:5]
    assert header.split() == ['ENDPOINT', 'PRI', 'HEALTH', 'LIFECYCLE', 'CLIENTS', 'LOAD',
                              'CIRCUIT', 'RESTARTS', 'PROBE', 'URL']
    for row in rows:
        assert row.index('ws://') == header.index('URL')
    assert rows[0].split()[:4] == ['primary', '0', 'DOWN', 'unknown']
    assert '50/200' in rows[0] and '25%' in rows[0]
    assert '12.3 ms' in rows[1]
    assert 'recent events:' in text and text.endswith('\n')


def test_an_event_keeps_its_time_from_one_document_to_the_next():
    """When the status is built twice, an event has the same wall time in both, so a
    reader polling GET /status can tell a repeat from a new event."""
    from websocket_redundancy.core.health import HealthChanged
    from websocket_redundancy.core.status import EventLog
    log = EventLog()
    log.record(HealthChanged('primary', 'UP', 'DOWN', 'process exited', 10.0), 10.0)
    first = log.as_wall(lambda t: 1_700_000_000.0 + t)
    second = log.as_wall(lambda t: 1_700_000_000.0017 + t)  # a later build, clocks drifted
    assert first == second and first[0]['at'] == 1_700_000_010.0
