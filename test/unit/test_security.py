"""Origins and TLS settings: who may connect from where."""
import pytest

from websocket_redundancy.core.security import (
    SecuritySettings,
    origin_allowed,
    origin_of,
    security_from_dict,
)
from websocket_redundancy.core.settings import SettingsError, settings_from_dict

DEFAULT = SecuritySettings().allowed_origins
TIERS = ['ws://10.0.0.5:8080', 'ws://10.0.0.5:8081']


@pytest.mark.parametrize('origin, host, allowed', [
    (None, '10.0.0.5:8080', True),                      # not a browser
    ('http://127.0.0.1:5173', '127.0.0.1:8080', True),  # loopback, any port
    ('http://localhost:3000', 'localhost:8080', True),
    ('http://10.0.0.5:8080', '10.0.0.5:8081', True),    # another tier's dashboard
    ('http://10.0.0.9:8080', '10.0.0.9:8080', True),    # same origin as the tier
    ('https://evil.example', '10.0.0.5:8080', False),
    ('http://127.0.0.1.evil.example:80', '10.0.0.5:8080', False),
    ('null', '10.0.0.5:8080', False),                   # sandboxed iframes, file://
])
def test_origin_table(origin, host, allowed):
    assert origin_allowed(origin, host, DEFAULT, TIERS) is allowed


def test_a_star_allows_every_origin_and_patterns_match_whole_origins():
    assert origin_allowed('https://anything.example', 'h:1', ['*'])
    assert origin_allowed('https://dash.team.org', 'h:1', ['https://*.team.org'])
    assert not origin_allowed('https://dash.team.org.evil', 'h:1', ['https://*.team.org'])


def test_origin_of_a_tier_url():
    assert origin_of('wss://Rover.local:8443/x') == 'https://rover.local:8443'


@pytest.mark.parametrize('section, fragment', [
    ({'allowed_origins': 'http://x'}, 'must be a list of origins'),
    ({'tls_cert': 'a.pem'}, 'go together'),
    ({'tls': True}, "unknown key 'tls'"),
])
def test_bad_security_settings_are_named(section, fragment):
    with pytest.raises(SettingsError) as info:
        settings_from_dict({'security': section})
    assert any(fragment in p for p in info.value.problems), info.value.problems


def test_tls_needs_both_files():
    problems = []
    assert security_from_dict({'tls_cert': 'c.pem', 'tls_key': 'k.pem'}, problems).tls
    assert problems == []
    settings = settings_from_dict({'security': {'tls_cert': 'c', 'tls_key': 'k'}})
    assert settings.tier('primary').public_url(8080, settings.security.tls) == 'wss://127.0.0.1:8080'
