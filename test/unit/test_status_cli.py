"""``websocket-redundancy status`` against real local HTTP servers on port 0."""
import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from needs import needs
from websocket_redundancy.app.status import base_url, default_urls, run_status
from websocket_redundancy.cli import main
from websocket_redundancy.core.health import HealthModel, Heartbeat
from websocket_redundancy.core.recovery import RecoveryModel
from websocket_redundancy.core.settings import settings_from_dict
from websocket_redundancy.core.status import CoordinatorInfo, TierView, build_status

SCHEMA = (Path(__file__).resolve().parents[2] / 'src' / 'websocket_redundancy' / 'schema'
          / 'status.schema.json')


def document():
    health = HealthModel(tiers=('primary',), now=0.0)
    for i in range(3):
        health.handle(Heartbeat('primary', 's', i, i), now=0.05 * i)
    return build_status(generated_at=1_700_000_000.0, now=1.0,
                        coordinator=CoordinatorInfo('abc', 1_699_999_990.0, 'host'),
                        tiers=[TierView('primary', 0, 'ws://127.0.0.1:1', 200)],
                        health=health, recovery=RecoveryModel())


@pytest.fixture
def serve():
    servers = []

    def start(code, body):
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                payload = json.dumps(body).encode()
                self.send_response(code if self.path == '/status' else 404)
                self.send_header('content-type', 'application/json')
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass
        server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f'http://127.0.0.1:{server.server_address[1]}'
    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def closed_url():
    server = ThreadingHTTPServer(('127.0.0.1', 0), BaseHTTPRequestHandler)
    url = f'http://127.0.0.1:{server.server_address[1]}'
    server.server_close()
    return url


def test_document_validates_against_the_schema():
    """When built from the models, the document the CLI prints validates."""
    needs('jsonschema')
    import jsonschema

    jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text())).validate(document())


def test_first_tier_with_a_document_is_printed_as_a_table(serve):
    """When the first tier is down and the second serves a document, the table is shown."""
    settings = settings_from_dict(None)
    out = io.StringIO()
    good = serve(200, document())
    assert run_status(settings, urls=[closed_url(), good], out=out) == 0
    text = out.getvalue()
    assert text.startswith('coordinator abc (embedded) on host')
    assert 'primary' in text and 'UP' in text


def test_json_output_is_the_document(serve, capsys):
    """When --json is given, stdout is the document itself."""
    url = serve(200, document())
    assert main(['status', '--url', url, '--json']) == 0
    assert json.loads(capsys.readouterr().out) == document()


def test_no_tier_answers(capsys):
    """When nothing answers, one sentence names every URL tried, exit 1."""
    a, b = closed_url(), closed_url()
    assert main(['status', '--url', a, '--url', b]) == 1
    err = capsys.readouterr().err
    assert f'no tier answered at {a}, {b}' in err and err.count('\n') == 1


def test_tier_without_a_document_means_no_coordinator(serve, capsys):
    """When tiers answer 503 (no document yet), the sentence says the coordinator is not
    running or not yet reporting, exit 1."""
    url = serve(503, {'error': 'no status from the coordinator yet'})
    assert main(['status', '--url', url]) == 1
    assert 'coordinator is not running or not yet reporting' in capsys.readouterr().err


@pytest.mark.parametrize(('given', 'base'), [
    ('ws://127.0.0.1:8080', 'http://127.0.0.1:8080'),
    ('wss://rover:443/', 'https://rover:443'),
    ('127.0.0.1:8081', 'http://127.0.0.1:8081'),
    ('http://h:1/status', 'http://h:1'),
])
def test_base_url(given, base):
    """When a URL is given in any common form, the status is asked of its HTTP base."""
    assert base_url(given) == base


def test_default_urls_are_the_configured_tiers():
    """When no --url is given, every configured tier is asked, in priority order."""
    assert default_urls(settings_from_dict(None)) == [
        f'http://127.0.0.1:{p}' for p in (8080, 8081, 8082, 8083)]
