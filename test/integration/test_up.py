"""`websocket-redundancy up`, end to end: real processes, real sockets on 127.0.0.1,
and roslibpy as the client a rover team would use."""
from __future__ import annotations

from needs import needs

needs('zenoh', 'rosbags', 'roslibpy')

import json
import os
import signal
import threading
import time

import pytest
import roslibpy

from .conftest import TIERS, TOKEN
from .harness import RawWebSocket, close_code, http_json, wait_for


class Client:
    """A roslibpy connection with the messages it received, per topic."""

    def __init__(self, port: int, token: str | None = None):
        headers = {'Authorization': f'Bearer {token}'} if token else None
        self.ros = roslibpy.Ros('127.0.0.1', port, headers=headers)
        self.ros.run(timeout=10)
        self.received: dict[str, list[dict]] = {}
        self.lock = threading.Lock()

    def subscribe(self, topic: str, type_name: str) -> None:
        def on_message(msg, topic=topic):
            with self.lock:
                self.received.setdefault(topic, []).append(msg)
        roslibpy.Topic(self.ros, topic, type_name).subscribe(on_message)

    def messages(self, topic: str) -> list[dict]:
        with self.lock:
            return list(self.received.get(topic, []))

    def close(self) -> None:
        self.ros.close()


@pytest.fixture
def client_factory():
    clients = []

    def make(port, token=None):
        clients.append(Client(port, token))
        return clients[-1]
    yield make
    for c in clients:
        c.close()


def test_up_serves_four_tiers_with_health(system):
    for name in TIERS:
        status, health = http_json(system[name], '/health')
        assert status == 200, (name, status, health)
        assert health['tier'] == name and health['state'] == 'active'
        assert {'pid', 'clients', 'session', 'uptime_s'} <= set(health)


def test_roslibpy_receives_odom_from_the_primary_and_its_values_change(system, client_factory):
    client = client_factory(system['primary'])
    client.subscribe('/odom', 'nav_msgs/msg/Odometry')
    msgs = wait_for(lambda: len(client.messages('/odom')) >= 5 and client.messages('/odom'),
                    15, 'five /odom messages on the primary')
    stamps = [(m['header']['stamp']['sec'], m['header']['stamp']['nanosec']) for m in msgs]
    assert len(set(stamps)) == len(stamps), 'odom stamps do not advance'
    assert msgs[0]['header']['frame_id'] == 'odom'


def test_the_emergency_tier_serves_gps_and_battery_but_never_odom(system, client_factory):
    client = client_factory(system['emergency'])
    client.subscribe('/odom', 'nav_msgs/msg/Odometry')
    client.subscribe('/gps/fix', 'sensor_msgs/msg/NavSatFix')
    client.subscribe('/battery_state', 'sensor_msgs/msg/BatteryState')
    wait_for(lambda: len(client.messages('/gps/fix')) >= 5, 15, 'five /gps/fix on emergency')
    wait_for(lambda: client.messages('/battery_state'), 15, '/battery_state on emergency')
    fix = client.messages('/gps/fix')[-1]
    assert 38.3 < fix['latitude'] < 38.5 and -110.9 < fix['longitude'] < -110.7
    assert client.messages('/odom') == []
    assert http_json(system['emergency'], '/health')[1]['refused'].get('scope', 0) >= 1


def _odom_speed(client: Client) -> float:
    msgs = client.messages('/odom')
    return msgs[-1]['twist']['twist']['linear']['x'] if msgs else 0.0


def _drive(port: int, token: str | None, seconds: float) -> None:
    ros = roslibpy.Ros('127.0.0.1', port,
                       headers={'Authorization': f'Bearer {token}'} if token else None)
    ros.run(timeout=10)
    topic = roslibpy.Topic(ros, '/cmd_vel', 'geometry_msgs/msg/Twist')
    topic.advertise()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        topic.publish(roslibpy.Message({'linear': {'x': 0.8, 'y': 0.0, 'z': 0.0},
                                        'angular': {'x': 0.0, 'y': 0.0, 'z': 0.1}}))
        time.sleep(0.1)
    ros.close()


def test_cmd_vel_is_refused_on_emergency_and_moves_the_rover_on_primary(system, client_factory):
    watcher = client_factory(system['primary'])
    watcher.subscribe('/odom', 'nav_msgs/msg/Odometry')
    wait_for(lambda: watcher.messages('/odom'), 15, '/odom on the primary')
    before = http_json(system['emergency'], '/health')[1]['refused'].get('scope', 0)
    _drive(system['emergency'], TOKEN, 1.0)
    assert abs(_odom_speed(watcher)) < 1e-6, 'a /cmd_vel sent to the emergency tier moved the rover'
    assert http_json(system['emergency'], '/health')[1]['refused'].get('scope', 0) > before
    _drive(system['primary'], None, 0.6)  # no token: refused
    assert abs(_odom_speed(watcher)) < 1e-6, 'an unauthenticated /cmd_vel moved the rover'
    first = watcher.messages('/odom')[-1]['pose']['pose']['position']
    _drive(system['primary'], TOKEN, 1.5)
    assert _odom_speed(watcher) > 0.3, 'the team /cmd_vel did not move the rover'
    last = watcher.messages('/odom')[-1]['pose']['pose']['position']
    assert (last['x'], last['y']) != (first['x'], first['y'])


def test_a_latched_topic_reaches_roslibpy_clients_that_subscribe_later(system, client_factory):
    """A team client advertises /mission/command with ``latch`` (roslibpy's Topic
    latch=True) on the primary and sends one command; roslibpy clients that subscribe
    afterwards, on the primary and on the secondary (which has /mission/** in scope),
    each get that command first, as rosbridge_server gives a transient-local topic."""
    team = roslibpy.Ros('127.0.0.1', system['primary'],
                        headers={'Authorization': f'Bearer {TOKEN}'})
    team.run(timeout=10)
    try:
        command = roslibpy.Topic(team, '/mission/command', 'std_msgs/msg/String', latch=True)
        command.advertise()
        time.sleep(0.5)
        command.publish(roslibpy.Message({'data': 'pause'}))
        time.sleep(1.5)  # the tiers see the latched publisher and track the topic
        for tier in ('primary', 'secondary'):
            late = client_factory(system[tier])
            late.subscribe('/mission/command', 'std_msgs/msg/String')
            wait_for(lambda late=late: late.messages('/mission/command'), 10,
                     f'the latched command on the {tier} tier')
            assert late.messages('/mission/command')[0] == {'data': 'pause'}
    finally:
        team.close()


def test_kill_9_of_a_tier_leaves_the_others_serving_and_up_restarts_it(system, client_factory):
    old_pid = http_json(system['secondary'], '/health')[1]['pid']
    os.kill(old_pid, signal.SIGKILL)
    for name in ('primary', 'tertiary', 'emergency'):
        status, health = http_json(system[name], '/health')
        assert status == 200 and health['state'] == 'active', name
    client = client_factory(system['emergency'])
    client.subscribe('/gps/fix', 'sensor_msgs/msg/NavSatFix')
    wait_for(lambda: client.messages('/gps/fix'), 15, '/gps/fix on emergency after the kill')

    def restarted():
        status, health = http_json(system['secondary'], '/health')
        return status == 200 and health['pid'] != old_pid
    wait_for(restarted, 30, 'the secondary tier to be restarted by up')
    system['up'].wait_line(f'secondary (pid {old_pid}) killed by signal 9', timeout=5)
    again = client_factory(system['secondary'])
    again.subscribe('/odom', 'nav_msgs/msg/Odometry')
    wait_for(lambda: again.messages('/odom'), 15, '/odom from the restarted secondary')


BAD_FRAMES = [
    ('malformed JSON', '{"op": "subscribe", '),
    ('unknown op', json.dumps({'op': 'launch_missiles'})),
    ('wrong field type', json.dumps({'op': 'subscribe', 'topic': 42})),
    ('binary frame', b'\x00\x01\x02'),
    ('invalid UTF-8', b'\xff\xfe\xfd'),
]


def test_bad_input_is_answered_counted_and_disturbs_no_one(system, client_factory):
    port = system['primary']
    bystander = client_factory(port)
    bystander.subscribe('/gps/fix', 'sensor_msgs/msg/NavSatFix')
    wait_for(lambda: bystander.messages('/gps/fix'), 15, '/gps/fix for the bystander')
    errors_before = http_json(port, '/health')[1]['errors']

    ws = RawWebSocket(port)
    ws.send_json({'op': 'set_level', 'level': 'error'})
    for what, frame in BAD_FRAMES:
        if what == 'invalid UTF-8':
            # a protocol error, not a rosbridge one: Autobahn fails the connection (a 1007
            # close frame, and the TCP connection dropped at once, so maybe only the drop)
            ws.send(frame, opcode=1)
            try:
                opcode, payload = ws.recv()
                assert (opcode, close_code(payload)) == (8, 1007), (what, opcode, payload[:80])
            except ConnectionError:  # reset or closed: failed either way (a timeout is not)
                pass
            break
        ws.send(frame, opcode=2 if isinstance(frame, bytes) else 1)
        reply = ws.recv_json()
        assert reply['op'] == 'status' and reply['level'] == 'error', (what, reply)
    else:
        raise AssertionError('the invalid UTF-8 case was not sent')
    ws.close()

    big = RawWebSocket(port)
    big.send('{"op":"publish","topic":"/x","msg":{"data":"' + 'x' * 1_200_000 + '"}}')
    opcode, payload = big.recv()
    assert opcode == 8 and close_code(payload) == 1009
    big.close()

    n = len(bystander.messages('/gps/fix'))
    wait_for(lambda: len(bystander.messages('/gps/fix')) > n + 2, 10, 'the bystander to keep receiving')
    health = http_json(port, '/health')[1]
    assert health['state'] == 'active'
    assert health['errors'] >= errors_before + 5, health['refused']
