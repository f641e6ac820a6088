"""Hardening at the edge, against real tier processes: browser origins, TLS, tokens
that are never logged, half-open connections and connection storms."""
from __future__ import annotations

from needs import needs

needs('zenoh', 'rosbags')

import datetime
import socket
import ssl
import time
import urllib.request

import pytest
import yaml

from .harness import (
    Process,
    RawWebSocket,
    child_env,
    cli,
    close_code,
    free_port_block,
    http_json,
    wait_for,
)

pytestmark = pytest.mark.integration
TOKEN = 'never-print-this-token-4f1b'


def self_signed(directory):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, '127.0.0.1')])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    (directory / 'cert.pem').write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / 'key.pem').write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return str(directory / 'cert.pem'), str(directory / 'key.pem')


def start_tier(config: dict, tmp_path, name='primary'):
    path = tmp_path / f'{name}.yaml'
    path.write_text(yaml.safe_dump(config))
    port, graph = free_port_block(1), free_port_block(1)
    tier = Process(cli('--config', str(path), '--log-level', 'INFO', 'tier', name,
                       '--port', str(port), '--domain', str(graph % 200),
                       '--graph-listen', f'tcp/127.0.0.1:{graph}'),
                   child_env(WR_TOKEN_TEAM=TOKEN))
    tier.wait_line('READY', 30)
    return tier, port


@pytest.fixture(scope='module')
def plain(tmp_path_factory):
    tier, port = start_tier({'tiers': {'primary': {'port': 8080, 'priority': 0,
                                                   'capacity': 50}},
                             'limits': {'handshake_timeout_s': 1}},
                            tmp_path_factory.mktemp('plain'))
    yield tier, port
    tier.stop()


def test_a_browser_page_from_an_unknown_origin_is_refused(plain):
    tier, port = plain
    with pytest.raises(ConnectionError, match='403'):
        RawWebSocket(port, headers={'Origin': 'https://evil.example'})
    assert http_json(port, '/health')[1]['refused'].get('origin') == 1
    for origin in (f'http://127.0.0.1:{port}', 'http://localhost:5173'):
        ws = RawWebSocket(port, headers={'Origin': origin})
        ws.send_json({'op': 'subscribe', 'topic': '/websocket_redundancy/heartbeat'})
        assert ws.recv_json()['topic'] == '/websocket_redundancy/heartbeat'
        ws.close()


def test_tokens_work_and_are_never_logged(plain):
    tier, port = plain
    ws = RawWebSocket(port)
    ws.send_json({'op': 'set_level', 'level': 'error'})
    ws.send_json({'op': 'auth', 'mac': 'wrong-' + TOKEN})
    assert 'matches no role' in ws.recv_json()['msg']
    ws.send_json({'op': 'auth', 'mac': TOKEN})
    ws.send_json({'op': 'advertise', 'topic': '/cmd_vel', 'type': 'geometry_msgs/msg/Twist'})
    ws.send_json({'op': 'publish', 'topic': '/cmd_vel', 'msg': {'linear': {'x': 'fast'}}})
    reply = ws.recv_json()  # the role was accepted: the refusal is about the message
    assert 'expects a number' in reply['msg'], reply
    ws.close()
    bearer = RawWebSocket(port, headers={'Authorization': 'Bearer nope-' + TOKEN})
    bearer.close()
    time.sleep(0.3)  # let the tier write its log lines
    assert not any(TOKEN in line for line in tier.lines), 'a token reached the log'
    assert any('matches no role' in line for line in tier.lines)


def test_half_open_connections_are_dropped_and_others_are_served(plain):
    tier, port = plain
    idle = []
    for _ in range(30):
        s = socket.create_connection(('127.0.0.1', port), timeout=5)
        s.sendall(b'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n')  # never finished
        idle.append(s)
    ws = RawWebSocket(port)
    ws.send_json({'op': 'subscribe', 'topic': '/websocket_redundancy/heartbeat'})
    assert ws.recv_json()['op'] == 'publish'
    ws.close()

    def all_dropped():
        for s in idle:
            s.settimeout(0.05)
            try:
                if s.recv(1024) != b'':
                    continue
            except TimeoutError:
                return False
            except OSError:
                pass
        return True
    wait_for(all_dropped, 20, 'the tier to drop 30 half-open connections')
    for s in idle:
        s.close()
    assert http_json(port, '/health')[0] == 200


def test_a_connection_storm_fills_the_tier_and_the_rest_get_1013(plain):
    tier, port = plain
    storm = [RawWebSocket(port) for _ in range(80)]  # as fast as the handshakes go
    time.sleep(0.5)  # let the refusals arrive
    opened, refused = [], 0
    for ws in storm:
        ws.sock.settimeout(0.05)
        try:
            opcode, payload = ws.recv()
        except (TimeoutError, ConnectionError):
            opened.append(ws)
            continue
        assert opcode == 8 and close_code(payload) == 1013, (opcode, payload)
        refused += 1
        ws.close()
    try:
        assert len(opened) == 50 and refused == 30, (len(opened), refused)
        assert http_json(port, '/health')[1]['clients'] == 50
    finally:
        for ws in opened:
            ws.close()
    wait_for(lambda: http_json(port, '/health')[1]['clients'] == 0, 15, 'the storm to leave')


def test_tls_serves_wss_and_https(tmp_path):
    cert, key = self_signed(tmp_path)
    tier, port = start_tier({'security': {'tls_cert': cert, 'tls_key': key}}, tmp_path)
    try:
        assert f'url=wss://127.0.0.1:{port}' in tier.wait_line('READY', 5)
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        with urllib.request.urlopen(f'https://127.0.0.1:{port}/health', context=context,
                                    timeout=5) as response:
            assert response.status == 200
        ws = RawWebSocket(port, tls=True)
        ws.send_json({'op': 'subscribe', 'topic': '/websocket_redundancy/heartbeat'})
        assert ws.recv_json()['op'] == 'publish'
        ws.close()
        with pytest.raises(OSError):  # plain ws:// is not served on a TLS port
            RawWebSocket(port, timeout=2)
    finally:
        tier.stop()
