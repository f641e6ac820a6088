"""Property-based bad input: whatever a client sends, the session answers with commands
(never an exception), and whatever a config file holds, the loader returns settings or
one SettingsError listing sentences."""
from needs import needs

needs('hypothesis')

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from websocket_redundancy.core.commands import Close, Refused
from websocket_redundancy.core.rosbridge import Session
from websocket_redundancy.core.settings import SettingsError, settings_from_dict

SETTINGS = settings_from_dict({'auth': {'roles': {'team': 'T'}},
                               'limits': {'max_frame_bytes': 4096}})

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=8)
OPS = ['subscribe', 'unsubscribe', 'advertise', 'unadvertise', 'publish', 'call_service',
       'set_level', 'auth', 'status', 'fragment', None, 5]
frames = st.fixed_dictionaries(
    {'op': st.sampled_from(OPS)},
    optional={'topic': st.one_of(st.text(max_size=20), json_values,
                                 st.sampled_from(['/odom', '/cmd_vel', '/gps/fix'])),
              'type': st.one_of(st.text(max_size=30), json_values),
              'id': json_values, 'msg': json_values, 'args': json_values,
              'throttle_rate': json_values, 'queue_length': json_values,
              'resume': json_values, 'level': json_values, 'mac': json_values,
              'service': st.one_of(st.text(max_size=20), json_values)})


def new_session(tier='tertiary'):
    return Session(SETTINGS.tier(tier), SETTINGS.limits, SETTINGS.roles)


@settings(max_examples=120, deadline=None)
@given(st.lists(frames, max_size=6), st.sampled_from(['primary', 'emergency']))
def test_any_sequence_of_json_frames_yields_commands_and_keeps_scope(sequence, tier):
    session = new_session(tier)
    for i, frame in enumerate(sequence):
        commands = session.receive(json.dumps(frame).encode(), False, float(i))
        assert isinstance(commands, list)
        for command in commands:
            if isinstance(command, Refused):
                assert command.detail and command.kind
    for topic in session.subscriptions:  # nothing outside the tier's scope got in
        assert SETTINGS.tier(tier).allows_subscribe(topic)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=6000), st.booleans())
def test_any_bytes_are_refused_or_handled_never_raised(data, is_binary):
    commands = new_session().receive(data, is_binary, 0.0)
    assert isinstance(commands, list)
    if len(data) > 4096:
        assert any(isinstance(c, Close) and c.code == 1009 for c in commands)


config_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 70000) | st.floats(allow_nan=False)
    | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(['port', 'priority', 'capacity', 'subscribe', 'publish',
                                       'publish_roles', 'primary', 'tiers', 'limits', 'auth',
                                       'roles', 'team', 'graph', 'mode', 'security',
                                       'allowed_origins', 'x']), children, max_size=4),
    max_leaves=15)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.sampled_from(['tiers', 'limits', 'auth', 'graph', 'security', 'x']),
                       config_values, max_size=4))
def test_any_config_gives_settings_or_sentences(data):
    try:
        settings_from_dict(data)
    except SettingsError as exc:
        assert exc.problems and all(isinstance(p, str) and p for p in exc.problems)
