"""Client-provided services end to end: roslibpy advertises a service on the primary
tier, another roslibpy client calls it through the secondary, over the embedded graph
between real tier processes. Both tiers' ``services`` scope includes ``/ops/**`` (by
default a tier's scope is only ``/websocket_redundancy/**``, so nothing else can be
provided or called)."""
from __future__ import annotations

from needs import needs

needs('zenoh', 'rosbags', 'roslibpy')

import threading

import pytest
import roslibpy
import yaml

from .harness import Process, RawWebSocket, child_env, cli, free_port_block, http_json, wait_for

pytestmark = pytest.mark.integration
TOKEN = 'provided-services-token'
SET_BOOL = 'std_srvs/srv/SetBool'
SCOPE = ['/websocket_redundancy/**', '/ops/**']


@pytest.fixture(scope='module')
def tiers(tmp_path_factory):
    """The primary and the secondary tier on one embedded graph; their ports by name."""
    config = {'tiers': {'primary': {'port': 8080, 'priority': 0, 'services': SCOPE,
                                    'publish': ['/cmd_vel']},
                        'secondary': {'port': 8081, 'priority': 1, 'services': SCOPE}}}
    path = tmp_path_factory.mktemp('provided') / 'config.yaml'
    path.write_text(yaml.safe_dump(config))
    base, graph = free_port_block(2), free_port_block(6)
    up = Process(cli('--config', str(path), 'up', '--no-sim', '--no-coordinator',
                     '--base-port', str(base), '--graph-base-port', str(graph),
                     '--domain', str(graph % 200)), child_env(WR_TOKEN_TEAM=TOKEN))
    try:
        up.wait_line('tiers ready', timeout=60)
        yield {'primary': base, 'secondary': base + 1, 'up': up}
    finally:
        assert up.stop() == 0, up.lines[-20:]


class Ros:
    """A roslibpy connection with the team's token."""

    def __init__(self, port: int):
        self.ros = roslibpy.Ros('127.0.0.1', port,
                                headers={'Authorization': f'Bearer {TOKEN}'})
        self.ros.run(timeout=10)

    def service(self, name: str) -> roslibpy.Service:
        return roslibpy.Service(self.ros, name, SET_BOOL, reconnect_on_close=False)

    def close(self) -> None:
        self.ros.close()


def call(ros: Ros, name: str, data: bool) -> tuple[bool, object]:
    """(True, response) or (False, the error the tier sent), within a deadline."""
    done = threading.Event()
    got: list = []

    def finish(ok, value):
        got.append((ok, value))
        done.set()

    ros.service(name).call(roslibpy.ServiceRequest({'data': data}),
                           lambda r: finish(True, dict(r)), lambda e: finish(False, e))
    assert done.wait(15), f'no service_response for {name} within 15 s'
    return got[0]


def provided(port: int) -> list[str]:
    return http_json(port, '/health')[1]['provided_services']


def test_a_service_roslibpy_provides_on_the_primary_is_called_through_the_secondary(tiers):
    provider, caller = Ros(tiers['primary']), Ros(tiers['secondary'])
    try:
        def arm(request, response):
            response['success'] = request['data']
            response['message'] = 'armed' if request['data'] else 'stowed'
            return True

        provider.service('/ops/arm').advertise(arm)
        wait_for(lambda: provided(tiers['primary']) == ['/ops/arm'], 10,
                 'the primary to serve /ops/arm')
        # the secondary learns of the server through graph discovery
        ok, response = wait_for(lambda: (r := call(caller, '/ops/arm', True))[0] and r, 15,
                                '/ops/arm to answer through the secondary')
        assert response == {'success': True, 'message': 'armed'}
        assert call(caller, '/ops/arm', False) == (True, {'success': False,
                                                         'message': 'stowed'})

        rival = Ros(tiers['secondary'])  # the name is taken on the graph: refused
        rival.service('/ops/arm').advertise(arm)
        wait_for(lambda: http_json(tiers['secondary'], '/health')[1]['refused'].get('conflict'),
                 10, 'the secondary to refuse a second provider of /ops/arm')
        assert provided(tiers['secondary']) == []
        rival.close()
    finally:
        provider.close()
    wait_for(lambda: provided(tiers['primary']) == [], 10, 'the primary to stop serving /ops/arm')
    ok, error = wait_for(lambda: (r := call(caller, '/ops/arm', True)) and not r[0] and r, 15,
                         'a call after the provider left to fail')
    # the name is no longer served anywhere: the secondary says so at once
    assert error in ('service /ops/arm is not available',
                     'no server for service /ops/arm on the graph'), error
    caller.close()


def test_a_call_in_flight_fails_with_a_clear_error_when_its_provider_disconnects(tiers):
    provider = RawWebSocket(tiers['primary'], headers={'Authorization': f'Bearer {TOKEN}'})
    provider.send_json({'op': 'advertise_service', 'service': '/ops/slow', 'type': SET_BOOL})
    wait_for(lambda: provided(tiers['primary']) == ['/ops/slow'], 10,
             'the primary to serve /ops/slow')
    caller = Ros(tiers['secondary'])
    try:
        done, got = threading.Event(), []
        request = roslibpy.ServiceRequest({'data': True})

        def send():
            caller.service('/ops/slow').call(
                request, lambda r: (got.append(('ok', r)), done.set()),
                lambda e: (got.append(('error', e)), done.set()))

        def reaches_the_provider() -> bool:
            send()
            if done.wait(1.0):  # the secondary does not know /ops/slow yet: at once
                assert 'not available' in got[0][1], got
                done.clear()
                got.clear()
                return False
            return True

        wait_for(reaches_the_provider, 15, 'the secondary to pass a call to /ops/slow')
        frame = provider.recv_json(timeout=10)
        assert frame['op'] == 'call_service' and frame['service'] == '/ops/slow' and frame['args'] == {'data': True}
        assert frame['id'].startswith('service_request:/ops/slow:')
        provider.close()  # never answers
        assert done.wait(10), 'the call in flight did not fail after its provider left'
        [(kind, error)] = got
        assert kind == 'error' and 'the client providing /ops/slow disconnected' in error, got
    finally:
        caller.close()
