"""The shared system for integration tests: `websocket-redundancy up` on free ports."""
from __future__ import annotations

import pytest

from .harness import Process, child_env, cli, free_port_block

TOKEN = 'integration-team-token'
TIERS = ('primary', 'secondary', 'tertiary', 'emergency')


@pytest.fixture(scope='session')
def system():
    """Simulator, coordinator and four tiers; ``system[tier]`` is the tier's port,
    ``system['graph']`` the endpoints and domain of the embedded graph."""
    base = free_port_block(4)
    graph = free_port_block(6)
    domain = graph % 200
    up = Process(cli('up', '--base-port', str(base), '--graph-base-port', str(graph),
                     '--domain', str(domain)),
                 child_env(WR_TOKEN_TEAM=TOKEN))
    try:
        up.wait_line('tiers ready', timeout=60)
        yield {name: base + i for i, name in enumerate(TIERS)} | {
            'up': up,
            'graph': {'domain': domain,
                      'endpoints': [f'tcp/127.0.0.1:{graph + i}' for i in range(6)]},
        }
    finally:
        code = up.stop()
        assert 'websocket-redundancy: stopped' in '\n'.join(up.lines), up.lines[-20:]
        assert code == 0, f'up exited with {code}'
