"""Settings: defaults, every problem reported at once, tokens from the environment."""
import pytest

from websocket_redundancy.core.settings import SettingsError, settings_from_dict


def test_defaults_are_the_four_tiers_of_the_design():
    settings = settings_from_dict({})
    assert [(t.name, t.port, t.priority) for t in settings.tiers] == [
        ('primary', 8080, 0), ('secondary', 8081, 1), ('tertiary', 8082, 2),
        ('emergency', 8083, 3)]
    emergency = settings.tier('emergency')
    assert emergency.allows_subscribe('/gps/fix')
    assert not emergency.allows_subscribe('/odom')
    assert emergency.allows_subscribe('/websocket_redundancy/heartbeat')
    assert settings.tier('primary').publish.allows('/cmd_vel')


def test_the_shipped_yaml_equals_the_defaults():
    from pathlib import Path

    import yaml
    data = yaml.safe_load((Path(__file__).parents[2] / 'config' / 'redundancy.yaml').read_text())
    assert settings_from_dict(data).tiers == settings_from_dict({}).tiers


def test_when_tokens_are_empty_they_come_from_the_environment():
    settings = settings_from_dict({}, env={'WR_TOKEN_TEAM': 's3cret'})
    assert settings.roles['team'] == 's3cret'
    assert settings.roles['judge'] == ''


@pytest.mark.parametrize('config, fragment', [
    ({'tiers': {'primary': {'port': 'eighty'}}}, 'tiers.primary.port must be a whole number'),
    ({'tiers': {'primary': {'port': 70000}}}, 'tiers.primary.port must be 0-65535'),
    ({'tiers': {'primary': {'capacity': 0}}}, 'tiers.primary.capacity must be at least 1'),
    ({'tiers': {'primary': {'subscribe': '/odom'}}}, 'must be a list of topic patterns'),
    ({'tiers': {'primary': {'subscribe': ['odom']}}}, "must start with '/'"),
    ({'tiers': {'primary': {'publish_roles': ['pilot']}}}, "role 'pilot' is not defined"),
    ({'tiers': {'primary': {'colour': 'red'}}}, "unknown key 'colour'"),
    ({'tiers': {'relay': {'subscribe': ['**']}}}, 'tiers.relay.port is required'),
    ({'tiers': {'a': {'port': 9000, 'priority': 0}, 'b': {'port': 9000, 'priority': 1}}},
     'tiers a, b all use port 9000'),
    ({'limits': {'max_frame_bytes': -1}}, 'limits.max_frame_bytes must be at least 1'),
    ({'graph': {'mode': 'dds'}}, "graph.mode must be 'embedded' or 'ros'"),
    ({'bogus': 1}, "config: unknown key 'bogus'"),
])
def test_when_a_setting_is_wrong_the_error_names_it(config, fragment):
    with pytest.raises(SettingsError) as info:
        settings_from_dict(config)
    assert any(fragment in p for p in info.value.problems), info.value.problems


def test_every_problem_is_reported_at_once():
    with pytest.raises(SettingsError) as info:
        settings_from_dict({'tiers': {'primary': {'port': 'x', 'capacity': 0}}})
    assert len(info.value.problems) == 2


def test_unknown_tier_lookup_names_the_known_ones():
    with pytest.raises(SettingsError, match='primary, secondary, tertiary, emergency'):
        settings_from_dict({}).tier('quaternary')
