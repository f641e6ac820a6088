"""Several hosts by configuration: graph.listen / graph.connect are read and checked, and
``up`` gives each child its own endpoint on the configured address and dials the
other hosts."""
from argparse import Namespace

import pytest

from websocket_redundancy.app.up import graph_endpoints, plan_children
from websocket_redundancy.core.settings import SettingsError, settings_from_dict


def test_graph_endpoints_are_read_as_tuples():
    """When the YAML lists graph endpoints, they become tuples in the settings."""
    s = settings_from_dict({'graph': {'listen': ['tcp/10.213.0.1:7450'],
                                      'connect': ['tcp/10.213.0.2:7450', 'tcp/[::1]:7450']}})
    assert s.graph.listen == ('tcp/10.213.0.1:7450',)
    assert s.graph.connect == ('tcp/10.213.0.2:7450', 'tcp/[::1]:7450')


@pytest.mark.parametrize('value', ['tcp/10.0.0.1:7450', ['10.0.0.1:7450'], [7450]])
def test_a_bad_graph_endpoint_list_is_one_sentence(value):
    """When graph.connect is not a list of proto/host:port, the error names the key."""
    with pytest.raises(SettingsError, match=r'graph\.connect must be a list of endpoints'):
        settings_from_dict({'graph': {'connect': value}})


def test_child_endpoints_follow_the_configured_address():
    """When graph.listen is set, child i listens on its address at port + i; otherwise on
    127.0.0.1 from the base port."""
    assert graph_endpoints((), 7450, 2) == ['tcp/127.0.0.1:7450', 'tcp/127.0.0.1:7451']
    assert graph_endpoints(('tcp/10.213.0.1:7460',), 7450, 2) == [
        'tcp/10.213.0.1:7460', 'tcp/10.213.0.1:7461']


def test_up_children_dial_the_other_hosts():
    """When graph.connect names a remote peer, every child of up dials it too."""
    s = settings_from_dict({'graph': {'listen': ['tcp/10.213.0.1:7460'],
                                      'connect': ['tcp/10.213.0.2:7450']},
                            'tiers': {'primary': {}}})
    args = Namespace(tiers=None, bag=None, no_sim=False, no_coordinator=False, rate=1.0,
                     base_port=None, graph_base_port=None, domain=None, config=None,
                     log_level='WARNING')
    specs = plan_children(s, args, {})
    tier = next(spec for spec in specs if spec.name == 'primary')
    argv = tier.argv
    assert argv[argv.index('--graph-listen') + 1] == 'tcp/10.213.0.1:7462'
    assert 'tcp/10.213.0.2:7450' in argv and '--endpoint' in argv
