"""One heartbeat format for the embedded and the ROS tier: built and read in core."""
import json

import pytest

from websocket_redundancy.core.heartbeat import (
    GRAPH_HEARTBEAT,
    Presence,
    client_heartbeat,
    graph_heartbeat,
    parse_graph_heartbeat,
)
from websocket_redundancy.core.settings import settings_from_dict

TIER = settings_from_dict({}).tier('primary')


def me(**changes):
    fields = dict(endpoint='primary', session='s1', pid=7, host='rover', tick=3, seq=3,
                  state='active', port=8080, clients=2, tls=False, sent=1.5)
    return Presence(**{**fields, **changes})


def test_a_graph_heartbeat_is_the_endpoints_directory_entry_and_reads_back():
    msg = graph_heartbeat(TIER, me())
    beat = json.loads(msg['data'])
    assert beat['url'] == 'ws://127.0.0.1:8080' and beat['clients'] == 2
    assert (beat['tier'], beat['endpoint'], beat['node']) == ('primary', 'primary', 'primary')
    assert 'leaving' not in beat
    parsed = parse_graph_heartbeat('primary', msg)
    assert (parsed.tier, parsed.session, parsed.tick, parsed.state, parsed.leaving) == (
        'primary', 's1', 3, 'active', False)


@pytest.mark.parametrize('changes, key, value', [
    ({'tls': True}, 'url', 'wss://127.0.0.1:8080'),
    ({'port': 0}, 'url', 'ws://127.0.0.1:8080'),  # not bound yet: the configured port
    ({'port': 9090, 'endpoint': 'primary@relay:9090'}, 'node', 'primary_relay_9090'),
    ({'leaving': True}, 'leaving', True),
])
def test_what_a_tier_announces(changes, key, value):
    assert json.loads(graph_heartbeat(TIER, me(**changes))['data'])[key] == value


def test_a_heartbeat_on_another_nodes_topic_or_malformed_is_ignored():
    assert parse_graph_heartbeat('secondary', graph_heartbeat(TIER, me())) is None
    assert parse_graph_heartbeat('primary', {'data': 'not json'}) is None
    assert parse_graph_heartbeat('primary', {'data': '{"session": "s", "tick": true}'}) is None
    leaving = parse_graph_heartbeat('primary_2', graph_heartbeat(TIER, me(
        endpoint='primary_2', leaving=True)))
    assert leaving.endpoint == 'primary_2' and leaving.leaving


def test_the_client_heartbeat_is_small_and_its_topic_is_the_graph_prefix_without_a_node():
    beat = json.loads(client_heartbeat('primary', 's1', 4, 2.0000004)['data'])
    assert beat == {'tier': 'primary', 'session': 's1', 'seq': 4, 'sent': 2.0}
    assert GRAPH_HEARTBEAT == '/websocket_redundancy/heartbeat/'


def test_a_tier_on_any_free_port_announces_no_url_until_it_listens():
    tier = settings_from_dict({'tiers': {'primary': {'port': 0}}}).tier('primary')
    before = json.loads(graph_heartbeat(tier, me(port=None))['data'])
    assert 'url' not in before and before['port'] is None
    after = json.loads(graph_heartbeat(tier, me(port=41234))['data'])
    assert after['url'] == 'ws://127.0.0.1:41234'


@pytest.mark.parametrize('url, taken', [
    ('ws://127.0.0.1:41234', True), ('wss://rover.local', True),
    ('ws://127.0.0.1:0', False), ('ws://h:99999', False), ('http://h:80', False),
    ('ws://:8080', False),
])
def test_the_coordinator_takes_only_a_url_a_client_can_dial(url, taken):
    from websocket_redundancy.coordinator.views import configured_view, view_from_heartbeat
    before = configured_view(TIER)
    after = view_from_heartbeat(before, {'url': url})
    assert (after.url == url) is taken and (after.url == before.url) is (not taken)
