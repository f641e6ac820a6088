"""A process that cannot start says why in one sentence and exits non-zero, and `up`
stops instead of restarting it forever."""
from __future__ import annotations

from needs import needs

needs('zenoh', 'rosbags')

import subprocess
import sys
import textwrap

from .harness import ROOT, Process, child_env, free_port_block

# The coordinator's configure callback fails as it did on a machine without pyOpenSSL.
BROKEN_COORDINATOR = textwrap.dedent('''
    import sys
    import websocket_redundancy.coordinator.shell as coordinator

    def missing(*args, **kwargs):
        raise ModuleNotFoundError("No module named 'OpenSSL'", name='OpenSSL')

    coordinator.Coordinator.__init__ = missing
    from websocket_redundancy.cli import main
    sys.exit(main(sys.argv[1:]))
''')


def test_when_the_coordinator_cannot_configure_it_says_why_and_exits_non_zero():
    port = free_port_block(1)
    done = subprocess.run(
        [sys.executable, '-c', BROKEN_COORDINATOR, 'coordinator', '--domain', str(port % 200),
         '--graph-listen', f'tcp/127.0.0.1:{port}'],
        env=child_env(), capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 1, done.stdout + done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith('error: ')]
    assert errors == ['error: the coordinator could not configure: configuring raised '
                      'ModuleNotFoundError("No module named \'OpenSSL\'")'], done.stderr
    assert 'Traceback' not in done.stderr, 'a missing module is a sentence, not a traceback'
    assert 'READY' not in done.stdout


def test_when_a_tier_cannot_start_up_stops_with_one_sentence_naming_it(tmp_path):
    """(A tier that autostarts with a TLS certificate it cannot read fails its configure.)"""
    config = tmp_path / 'tls.yaml'
    config.write_text(f'security:\n  tls_cert: {tmp_path}/missing.pem\n'
                      f'  tls_key: {tmp_path}/missing.key\n')
    base, graph = free_port_block(1), free_port_block(2)
    up = Process([sys.executable, '-m', 'websocket_redundancy', '--config', str(config), 'up',
                  '--no-coordinator', '--tiers', 'emergency', '--base-port', str(base),
                  '--graph-base-port', str(graph), '--domain', str(graph % 200)],
                 child_env())
    try:
        line = up.wait_line('not restarting it', timeout=60)
        assert line == (f'emergency cannot start: tier emergency could not configure: '
                        f'security.tls_cert {tmp_path}/missing.pem cannot be read: no such '
                        'file; not restarting it'), line
        assert up.proc.wait(timeout=30) != 0
    finally:
        up.stop()
