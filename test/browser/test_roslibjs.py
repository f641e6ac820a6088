"""The real roslibjs in Chromium against the tiers of `websocket-redundancy up`.

Both releases users have: 1.4.1, the UMD ``roslib.min.js`` most dashboards load with a
script tag, and 2.1.0, the ES module (bundled with its npm dependencies). Both are
vendored under test/browser/vendor/ (README there) and served, with a page per version,
by a static server on 127.0.0.1 as a team's own dashboard would be (a port the tiers'
default ``security.allowed_origins`` admit); nothing is fetched from the network.
The last test gives roslib 2.1.0 the failover transport of roslib-adapter.js, as the
README shows, and kills the primary.
"""
from __future__ import annotations

from needs import needs

needs('zenoh', 'rosbags', 'playwright')

import json
import threading
import uuid
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from .conftest import (
    TIERS,
    TOKEN,
    Process,
    child_env,
    cli,
    free_port_block,
    kill_primary,
    wait_primary_back,
)

VENDOR = Path(__file__).resolve().parent / 'vendor'
# version -> the vendored file; vendor/roslib-<version>/page.html loads it as window.ROSLIB
VERSIONS = {'1.4.1': 'roslib.min.js', '2.1.0': 'roslib.min.mjs'}
# The ops roslibjs (1.4.1 and 2.1.0) handles in a server frame.
ROSLIB_OPS = {'publish', 'service_response', 'call_service', 'status', 'fragment', 'png',
              'send_action_goal', 'cancel_action_goal', 'action_feedback', 'action_result'}

# Before any page script: every WebSocket roslibjs opens records the frames it receives
# (window.wr.frames), and wr.connect(port) opens a ROSLIB.Ros that notes its events.
RECORDER = """
window.wr = { frames: [], errors: [], closed: [] };
const NativeWebSocket = window.WebSocket;
window.WebSocket = class extends NativeWebSocket {
  constructor(url, ...rest) {
    super(url, ...rest);
    const port = Number(new URL(url).port);
    this.addEventListener('message', (e) => {
      if (typeof e.data !== 'string') {
        wr.frames.push({ port, binary: true });
        return;
      }
      const f = JSON.parse(e.data);
      wr.frames.push({ port, op: f.op, topic: f.topic, service: f.service, id: f.id });
      if (wr.frames.length > 5000) wr.frames.splice(0, 1000);
    });
  }
};
wr.connect = (port) => {
  const ros = new ROSLIB.Ros({ url: `ws://127.0.0.1:${port}` });
  ros.connected = false;
  ros.on('connection', () => { ros.connected = true; });
  ros.on('error', (e) => wr.errors.push(`${port}: ${e && (e.message || e.type) || e}`));
  ros.on('close', () => wr.closed.push(port));
  return ros;
};
wr.text = (e) => (typeof e === 'string' ? e : JSON.stringify(e));  // a failure callback's reason
"""


def wait_js(page, expression: str, timeout_s: float, what: str, arg=None):
    """Wait until ``expression`` (a function of ``arg``, or an expression) is truthy in
    the page; on timeout fail naming ``what``, with the page's state and console."""
    try:
        return page.wait_for_function(expression, arg=arg, timeout=timeout_s * 1000, polling=50)
    except Exception as exc:
        state = page.evaluate('JSON.stringify({seen: window.seen, recorded: window.wr && {errors: '
                              'wr.errors, closed: wr.closed, frames: wr.frames.slice(-8)}})')
        raise AssertionError(f'timed out after {timeout_s:g} s waiting for {what}; page state: '
                             f'{state[:1500]}; console: {page.console_lines[-10:]}') from exc


@pytest.fixture(scope='module')
def site():
    """A static web server on 127.0.0.1 (a free port, as a user's own dashboard server
    would be) serving test/browser/vendor/; its base URL. A page fulfilled by
    Playwright's page.route instead would not count as local, and Chromium's local
    network access checks would block its WebSockets to 127.0.0.1."""
    handler = partial(_QuietHandler, directory=str(VENDOR))
    server = ThreadingHTTPServer(('127.0.0.1', 0), handler)
    thread = threading.Thread(target=server.serve_forever, name='vendor-site', daemon=True)
    thread.start()
    try:
        yield f'http://127.0.0.1:{server.server_address[1]}'
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class _QuietHandler(SimpleHTTPRequestHandler):
    # a module script needs a JavaScript type; Python < 3.12 may not know .mjs
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map,
                      '.js': 'text/javascript', '.mjs': 'text/javascript'}

    def end_headers(self):
        # a page on a tier's origin imports roslib from here (test of roslib-adapter.js)
        self.send_header('Access-Control-Allow-Origin', '*')
        super().end_headers()

    def log_message(self, format, *args):
        pass


@pytest.fixture(params=list(VERSIONS))
def roslib(request, site, page):
    """``page`` on the vendor site with the vendored roslibjs of the parameter's version
    loaded as window.ROSLIB; the version."""
    version = request.param
    script = VERSIONS[version]
    page.add_init_script(RECORDER)
    page.goto(f'{site}/roslib-{version}/page.html')
    wait_js(page, 'window.ROSLIB && typeof ROSLIB.Ros === "function"', 10,
            f'roslibjs {version} to load from test/browser/vendor/roslib-{version}/{script}')
    assert page.evaluate('ROSLIB.REVISION') == version
    return version


def test_roslibjs_subscribes_to_odom_and_receives_standard_frames(system, page, roslib):
    """When roslibjs subscribes to /odom on the primary, its callback gets Odometry
    messages (the ROS 2 fields, nothing else), and every frame its socket receives is an
    op roslibjs handles, for the topic it asked for."""
    page.evaluate("""(port) => {
        window.seen = { odom: [] };
        const ros = wr.connect(port);
        new ROSLIB.Topic({ ros, name: '/odom', messageType: 'nav_msgs/msg/Odometry' })
          .subscribe((m) => seen.odom.push(m));
    }""", system['primary'])
    wait_js(page, 'seen.odom.length >= 5', 10, '5 /odom messages in the roslibjs callback')
    odom = page.evaluate('seen.odom')
    for msg in odom:
        assert sorted(msg) == ['child_frame_id', 'header', 'pose', 'twist'], msg
        assert sorted(msg['header']['stamp']) == ['nanosec', 'sec'], msg['header']
        position = msg['pose']['pose']['position']
        assert all(isinstance(position[k], (int, float)) for k in 'xyz'), position
        assert len(msg['pose']['covariance']) == 36, msg['pose']
    frames = page.evaluate('wr.frames')
    assert frames, 'the recorder saw no frame'
    assert not [f for f in frames if f.get('binary')], 'binary frames nobody asked for'
    odd = [f for f in frames if f['op'] not in ROSLIB_OPS]
    assert not odd, f'ops roslibjs does not handle: {odd[:5]}'
    assert {f['topic'] for f in frames} == {'/odom'}, {f['topic'] for f in frames}


def test_roslibjs_authenticates_and_publishes_a_mission_command(system, page, roslib):
    """When roslibjs publishes /mission/command without a token, the tier refuses it;
    after ros.authenticate(team token) on the same connection, a second Topic's publish
    reaches roslibjs subscribers on the primary and on the secondary (/mission/** is in
    its scope), and only that one."""
    command = f'roslibjs-{roslib}-{uuid.uuid4().hex[:8]}'  # the simulator ignores it
    page.evaluate("""([ports, token, data]) => {
        window.seen = { primary: [], secondary: [], odom: 0 };
        for (const tier of ['primary', 'secondary']) {
          const ros = wr.connect(ports[tier]);
          new ROSLIB.Topic({ ros, name: '/mission/command', messageType: 'std_msgs/msg/String' })
            .subscribe((m) => seen[tier].push(m.data));
          // /odom after /mission/command on the same socket: once it arrives, the
          // tier has taken the subscription
          new ROSLIB.Topic({ ros, name: '/odom', messageType: 'nav_msgs/msg/Odometry' })
            .subscribe(() => { seen.odom |= tier === 'primary' ? 1 : 2; });
        }
        window.publish = (ros, data) => new ROSLIB.Topic(
          { ros, name: '/mission/command', messageType: 'std_msgs/msg/String' })
          .publish({ data });
    }""", [{t: system[t] for t in ('primary', 'secondary')}, TOKEN, command])
    wait_js(page, 'seen.odom === 3', 10, '/odom on both subscriber connections')
    page.evaluate("""([port, token, data]) => {
        const team = wr.connect(port);
        publish(team, `${data}-before-auth`);
        team.authenticate(token);
        publish(team, data);
    }""", [system['primary'], TOKEN, command])
    for tier in ('primary', 'secondary'):
        wait_js(page, '([t, c]) => seen[t].includes(c)', 10,
                f'the authenticated command at the subscriber on the {tier} (was the auth '
                'refused? the up log says why)', arg=[tier, command])
        assert page.evaluate(f'seen.{tier}') == [command], 'the publish before auth got through'


@contextmanager
def _own_up(config: str | None = None):
    """A new `up` (the shared one's tiers remember what earlier tests did with
    /mission/command), with ``config`` if given; its ports by tier name."""
    base, graph = free_port_block(4), free_port_block(6)
    options = ('--config', config) if config else ()
    up = Process(cli(*options, 'up', '--base-port', str(base), '--graph-base-port', str(graph),
                     '--domain', str(graph % 200)), child_env(WR_TOKEN_TEAM=TOKEN))
    try:
        up.wait_line('tiers ready', timeout=60)
        yield {name: base + i for i, name in enumerate(TIERS)}
    finally:
        up.stop()


@pytest.fixture(scope='module')
def latch_system():
    """`up` for the latched-command test: the first version's command is the first
    sample of /mission/command its tiers see; the second's, a new latched publisher's."""
    with _own_up() as ports:
        yield ports


@pytest.fixture
def fresh_system():
    with _own_up() as ports:
        yield ports


def test_roslibjs_latched_command_reaches_later_subscribers(latch_system, page, roslib):
    """When the team's roslibjs publishes one /mission/command on a latched Topic
    (publish() advertises and publishes at once, as roslibjs code does), roslibjs clients
    that subscribe afterwards on the primary and on the secondary get that command, as
    rosbridge_server's transient-local topic gives it."""
    _latched_command(latch_system, page, roslib, already_shown=False)


def test_roslibjs_latched_command_reaches_later_subscribers_while_one_is_shown(
        fresh_system, page, roslib):
    """As above, when a dashboard already subscribes to /mission/command on the primary
    before the command is published."""
    _latched_command(fresh_system, page, roslib, already_shown=True)


def _latched_command(system, page, version: str, already_shown: bool) -> None:
    command = f'roslibjs-{version}-{uuid.uuid4().hex[:8]}'
    page.evaluate("""([port, token, early]) => {
        window.seen = { early: [], odom: !early, late: {} };
        window.subscribe = (ros, sink) => new ROSLIB.Topic(
          { ros, name: '/mission/command', messageType: 'std_msgs/msg/String' })
          .subscribe((m) => sink.push(m.data));
        if (early) {
          const viewer = wr.connect(port);
          subscribe(viewer, seen.early);
          new ROSLIB.Topic({ ros: viewer, name: '/odom', messageType: 'nav_msgs/msg/Odometry' })
            .subscribe(() => { seen.odom = true; });  // so /mission/command is taken too
        }
        window.team = wr.connect(port);
        team.authenticate(token);
    }""", [system['primary'], TOKEN, already_shown])
    wait_js(page, 'seen.odom && team.connected', 10, 'the team connected (and the viewer)')
    page.evaluate("""(data) => new ROSLIB.Topic({ ros: team, name: '/mission/command',
        messageType: 'std_msgs/msg/String', latch: true }).publish({ data })""", command)
    if already_shown:
        wait_js(page, '(c) => seen.early.includes(c)', 10,
                'the command at the subscriber that was there', arg=command)
    for tier in ('primary', 'secondary'):
        page.evaluate("""([tier, port]) => {
            seen.late[tier] = [];
            subscribe(wr.connect(port), seen.late[tier]);
        }""", [tier, system[tier]])
        wait_js(page, '([t, c]) => seen.late[t].includes(c)', 10,
                f'the latched command at a roslibjs client subscribing later on the {tier}',
                arg=[tier, command])


def test_roslibjs_calls_the_status_service(system, page, roslib):
    """When roslibjs calls /websocket_redundancy/status (std_srvs/srv/Trigger), its
    callback gets success and the status document in message, listing the four tiers."""
    page.evaluate("""(port) => {
        window.seen = {};
        const status = new ROSLIB.Service({ ros: wr.connect(port),
          name: '/websocket_redundancy/status', serviceType: 'std_srvs/srv/Trigger' });
        status.callService({}, (r) => { seen.response = r; }, (e) => { seen.failed = wr.text(e); });
    }""", system['primary'])
    wait_js(page, 'seen.response || seen.failed', 10, 'the status service to answer')
    assert page.evaluate('seen.failed') is None, page.evaluate('seen.failed')
    response = page.evaluate('seen.response')
    assert response['success'] is True, response
    doc = json.loads(response['message'])
    assert [t['name'] for t in doc['tiers']] == list(TIERS), doc['tiers']


def test_roslibjs_call_outside_the_emergency_scope_fails(system, page, roslib):
    """When roslibjs calls a service outside the emergency tier's service scope (the
    primary's lifecycle get_state), the failure callback fires with the reason, the
    success callback does not, and a status call on the same connection still works."""
    page.evaluate("""(port) => {
        window.seen = {};
        const ros = wr.connect(port);
        new ROSLIB.Service({ ros, name: '/primary/get_state',
                             serviceType: 'lifecycle_msgs/srv/GetState' })
          .callService({}, (r) => { seen.response = r; }, (e) => { seen.failed = wr.text(e); });
        new ROSLIB.Service({ ros, name: '/websocket_redundancy/status',
                             serviceType: 'std_srvs/srv/Trigger' })
          .callService({}, (r) => { seen.status = r.success; }, (e) => { seen.status = e; });
    }""", system['emergency'])
    wait_js(page, 'seen.failed || seen.response', 10,
            'an answer to the out-of-scope call on the emergency tier')
    assert page.evaluate('seen.response') is None, page.evaluate('seen.response')
    failed = page.evaluate('seen.failed')
    assert 'outside the emergency tier' in failed and '/primary/get_state' in failed, failed
    wait_js(page, 'seen.status !== undefined', 10, 'the status call after the refusal')
    assert page.evaluate('seen.status') is True, page.evaluate('seen.status')


FAILOVER_PAGE = """<!doctype html><meta charset="utf-8"><title>roslib 2.x + failoverTransport</title>
<script type="module">
import * as ROSLIB from '%(site)s/roslib-2.1.0/roslib.min.mjs';
import { failoverTransport } from './roslib-adapter.js';

window.seen = { connections: 0, gps: 0, failover: [], status: null };
const ros = new ROSLIB.Ros({ url: 'ws://127.0.0.1:%(port)d',
                             transportFactory: failoverTransport({ token: '%(token)s' }) });
ros.on('connection', () => {
  seen.connections += 1;
  if (seen.connections === 1) ros.transport.on('failover', (e) => seen.failover.push(e));
});
new ROSLIB.Topic({ ros, name: '/gps/fix', messageType: 'sensor_msgs/msg/NavSatFix' })
  .subscribe((fix) => { seen.gps += 1; seen.latitude = fix.latitude; });
new ROSLIB.Service({ ros, name: '/websocket_redundancy/status', serviceType: 'std_srvs/srv/Trigger' })
  .callService({}, (r) => { seen.status = r.success; }, (e) => { seen.status = String(e); });
</script>"""


def test_roslib_2_with_the_failover_transport_follows_a_killed_primary(system, site, page):
    """When the real roslib 2.1.0's Ros is given roslib-adapter.js's failoverTransport (as
    the README shows), its Topic receives /gps/fix, its Service gets the status answer,
    and /gps/fix keeps coming through a kill -9 of the primary; the page is back on the
    primary after up restarts it."""
    port = system['primary']
    wait_primary_back(system, old_pid=-1)
    page.goto(f'http://127.0.0.1:{port}/health')  # the adapter is served by every tier
    page.set_content(FAILOVER_PAGE % {'site': site, 'port': port, 'token': TOKEN})
    wait_js(page, 'window.seen && seen.gps >= 3 && seen.connections >= 1', 10,
            '/gps/fix through roslib 2.1.0 on the failover transport')
    wait_js(page, 'seen.status !== null', 5, 'the status service answer')
    assert page.evaluate('seen.status') is True, page.evaluate('seen.status')
    old_pid = kill_primary(system)
    gps = page.evaluate('seen.gps')
    wait_js(page, "seen.failover.some((e) => e.kind === 'tier_changed' && e.current === 'secondary')",
            5, 'the switch to the secondary (a tier_changed event of the transport)')
    wait_js(page, f'seen.gps >= {gps + 5}', 10, '/gps/fix through the secondary after the kill')
    wait_primary_back(system, old_pid)
    wait_js(page, "seen.failover.filter((e) => e.kind === 'tier_changed').at(-1).current === "
            "'primary'", 15, 'the failback to the primary')
    assert page.evaluate('seen.connections') == 1, 'roslib saw the transport close and reopen'
