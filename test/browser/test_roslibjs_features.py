# ruff: noqa: F811 (the fixtures imported from test_roslibjs are parameters here)
"""The real roslibjs (1.4.1 and 2.1.0, vendored) in Chromium against the rosbridge v2
features dashboards use beyond topics: rosapi (``ros.getTopics()``, filtered by each
tier's scope), a service one roslibjs page provides and another calls, a ROS 2 action
(roslibjs 2.x ``Action``: the simulator's NavigateToPose, with feedback and cancel), an
action one roslibjs 2.x page provides (``Action.advertise``) and another sends goals to, and
CBOR subscriptions (binary frames roslibjs decodes, byte arrays as ``Uint8Array``).
"""
from __future__ import annotations

from needs import needs

needs('zenoh', 'rosbags', 'playwright')

import pytest
import yaml

from .conftest import ROOT, TOKEN
from .test_roslibjs import _own_up, roslib, site, wait_js  # noqa: F401 (fixtures)

CLIENT_SERVICE = '/ops/switch'  # the ops_system's primary lets clients provide /ops/**
ACTION = '/navigate_to_pose'  # the simulator's action, in the primary's scope by default
ACTION_TYPE = 'nav2_msgs/action/NavigateToPose'
PROVIDED_ACTION = '/ops/fibonacci'  # an action a roslibjs page provides on the ops_system
FIB_TYPE = 'example_interfaces/action/Fibonacci'


@pytest.fixture(scope='module')
def ops_system(tmp_path_factory):
    """`up` whose primary also lets clients call and provide services under /ops/."""
    config = yaml.safe_load((ROOT / 'config' / 'redundancy.yaml').read_text())
    config['tiers']['primary']['services'].append('/ops/**')
    path = tmp_path_factory.mktemp('ops') / 'ops.yaml'
    path.write_text(yaml.safe_dump(config))
    with _own_up(str(path)) as ports:
        yield ports


@pytest.mark.parametrize('tier, listed, never', [
    ('primary', ['/odom', '/gps/fix', '/emergency_stop'], []),
    ('emergency', ['/gps/fix', '/battery_state', '/emergency_stop'],
     ['/cmd_vel', '/odom', '/imu/data', '/mission/command']),
])
def test_roslibjs_get_topics_lists_the_tier_scope(system, page, roslib, tier, listed, never):
    """When roslibjs calls ros.getTopics() (rosapi /rosapi/topics) on a tier, the
    callback gets {topics, types} with the tier's in-scope topics, never others."""
    page.evaluate("""(port) => {
        window.seen = {};
        wr.connect(port).getTopics((r) => { seen.result = r; },
                                   (e) => { seen.failed = wr.text(e); });
    }""", system[tier])
    wait_js(page, 'seen.result || seen.failed', 10,
            f'an answer to ros.getTopics() on the {tier} (a relative service name or a '
            'refused call gets no service_response at all)')
    assert page.evaluate('seen.failed') is None, page.evaluate('seen.failed')
    result = page.evaluate('seen.result')
    topics, types = result['topics'], result['types']
    assert len(topics) == len(types), result
    assert set(listed) <= set(topics), (tier, topics)
    assert not set(never) & set(topics), (tier, topics)
    assert types[topics.index('/gps/fix')] == 'sensor_msgs/msg/NavSatFix', result


def test_roslibjs_service_advertised_by_one_page_is_called_by_another(ops_system, browser,
                                                                      page, roslib):
    """When a roslibjs page authenticates and advertises a SetBool service, a roslibjs
    client in another page calls it and gets the answer the first page's callback gave;
    a callback returning false reaches the caller's failure callback."""
    provider = browser.new_context().new_page()
    try:
        provider.goto(page.url)
        provider.wait_for_function('!!(window.ROSLIB && ROSLIB.Ros)', timeout=10000)
        provider.evaluate("""([port, token, name]) => {
            window.calls = [];
            const ros = new ROSLIB.Ros({ url: `ws://127.0.0.1:${port}` });
            ros.authenticate(token);
            new ROSLIB.Service({ ros, name, serviceType: 'std_srvs/srv/SetBool' })
              .advertise((request, response) => {
                calls.push(request.data);
                response.success = request.data;
                response.message = `switched ${request.data ? 'on' : 'off'}`;
                return request.data;  // false: the call fails
              });
        }""", [ops_system['primary'], TOKEN, CLIENT_SERVICE])
        page.evaluate("""([port, token, name]) => {
            window.seen = { answers: [] };
            const ros = wr.connect(port);
            ros.authenticate(token);  // calling, like providing, needs a role here
            window.service = new ROSLIB.Service({ ros, name, serviceType: 'std_srvs/srv/SetBool' });
            const call = (data) => service.callService({ data },
              (r) => seen.answers.push(['ok', r]), (e) => seen.answers.push(['failed', wr.text(e)]));
            // the provider's advertise_service may land after this page's first call:
            // call again every 0.5 s until one succeeds
            const retry = setInterval(() => {
              if (seen.answers.some(([k]) => k === 'ok')) clearInterval(retry); else call(true);
            }, 500);
            call(true);
        }""", [ops_system['primary'], TOKEN, CLIENT_SERVICE])
        wait_js(page, 'seen.answers.some(([k]) => k === "ok")', 15,
                f'an answer from the roslibjs-provided {CLIENT_SERVICE}')
        ok = [r for k, r in page.evaluate('seen.answers') if k == 'ok'][0]
        assert ok == {'success': True, 'message': 'switched on'}, ok
        page.evaluate("""() => service.callService({ data: false },
            (r) => seen.answers.push(['ok-off', r]),
            (e) => seen.answers.push(['failed-off', wr.text(e)]))""")
        wait_js(page, 'seen.answers.some(([k]) => k.endsWith("-off"))', 10,
                'the answer to the call the provider fails')
        assert [k for k, _ in page.evaluate('seen.answers') if k.endswith('-off')] == ['failed-off']
        assert provider.evaluate('calls')[-1] is False
    finally:
        provider.context.close()


@pytest.mark.parametrize('roslib', ['2.1.0'], indirect=True)  # 1.4.1: ROS 1 actionlib only
def test_roslibjs_navigation_goal_gets_feedback_and_a_cancel_ends_it(system, page, roslib):
    """When mission control's roslibjs 2.x sends the rover a NavigateToPose goal through
    the primary, its feedback callback gets the distance remaining as the rover drives,
    and after cancelGoal the goal ends (the failure callback: canceled is not success)."""
    page.evaluate("""([port, token, name, type]) => {
        window.seen = { feedback: [], result: null, failed: null };
        const ros = wr.connect(port);
        ros.authenticate(token);
        window.action = new ROSLIB.Action({ ros, name, actionType: type });
        window.goal = action.sendGoal(
          { pose: { header: { frame_id: 'odom' }, pose: { position: { x: 500, y: 500 } } } },
          (r) => { seen.result = r; }, (f) => seen.feedback.push(f),
          (e) => { seen.failed = wr.text(e); });
    }""", [system['primary'], TOKEN, ACTION, ACTION_TYPE])
    wait_js(page, 'seen.feedback.length >= 3 || seen.failed || seen.result', 15,
            'three NavigateToPose feedback messages')
    assert page.evaluate('seen.failed') is None, page.evaluate('seen.failed')
    feedback = page.evaluate('seen.feedback')
    assert feedback[-1]['distance_remaining'] > 100, feedback[-1]
    assert 'current_pose' in feedback[-1] and 'navigation_time' in feedback[-1], feedback[-1]
    page.evaluate('action.cancelGoal(goal)')
    wait_js(page, 'seen.failed || seen.result', 10, 'the canceled goal to end')
    assert page.evaluate('seen.result') is None, 'a canceled goal was reported as succeeded'


def test_roslibjs_cbor_subscription_gets_binary_frames_it_decodes(system, page, roslib):
    """When roslibjs subscribes with compression 'cbor', the tier sends binary frames,
    roslibjs decodes them into the same messages (CompressedImage data as bytes), and a
    plain JSON subscription on the same socket keeps working."""
    page.evaluate("""(port) => {
        window.seen = { odom: [], image: [], gps: 0 };
        const ros = wr.connect(port);
        new ROSLIB.Topic({ ros, name: '/odom', messageType: 'nav_msgs/msg/Odometry',
                           compression: 'cbor' }).subscribe((m) => seen.odom.push(m));
        new ROSLIB.Topic({ ros, name: '/camera/front/image/compressed', compression: 'cbor',
                           messageType: 'sensor_msgs/msg/CompressedImage' })
          .subscribe((m) => seen.image.push({ format: m.format, bytes: m.data instanceof Uint8Array,
                                              size: m.data.length }));
        new ROSLIB.Topic({ ros, name: '/gps/fix', messageType: 'sensor_msgs/msg/NavSatFix' })
          .subscribe(() => { seen.gps += 1; });
    }""", system['primary'])
    wait_js(page, 'seen.odom.length >= 5 && seen.image.length >= 2 && seen.gps >= 2', 15,
            'CBOR /odom and camera frames and JSON /gps/fix')
    frames = page.evaluate('wr.frames')
    binary = [f for f in frames if f.get('binary')]
    assert binary, 'no binary frame: the tier sent CBOR subscriptions as JSON text'
    text_topics = {f.get('topic') for f in frames if not f.get('binary')}
    assert '/odom' not in text_topics, 'a cbor subscription got JSON frames'
    odom = page.evaluate('seen.odom')[-1]
    assert sorted(odom) == ['child_frame_id', 'header', 'pose', 'twist'], odom
    image = page.evaluate('seen.image')[-1]
    assert image['bytes'] and image['size'] > 1000, image


@pytest.mark.parametrize('roslib', ['2.1.0'], indirect=True)  # 1.4.1: ROS 1 actionlib only
def test_roslibjs_action_advertised_by_one_page_serves_another_pages_goals(ops_system, browser,
                                                                          page, roslib):
    """When a roslibjs 2.x page advertises a Fibonacci action (``Action.advertise``), a
    goal another page sends gets the provider's feedback (``sendFeedback``) and result
    (``setSucceeded``); a cancel reaches the provider's cancel callback, and its
    ``setCanceled`` ends the goal (the sender's failure callback: canceled)."""
    provider = browser.new_context().new_page()
    try:
        provider.goto(page.url)
        provider.wait_for_function('!!(window.ROSLIB && ROSLIB.Action)', timeout=10000)
        provider.evaluate("""([port, token, name, type]) => {
            window.goals = []; window.cancels = [];
            const ros = new ROSLIB.Ros({ url: `ws://127.0.0.1:${port}` });
            ros.authenticate(token);
            const action = new ROSLIB.Action({ ros, name, actionType: type });
            action.advertise((goal, id) => {
              goals.push(goal.order);
              if (goal.order > 20) return;  // runs until canceled
              const sequence = [0, 1];
              action.sendFeedback(id, { sequence: sequence.slice(0, 1) });
              action.sendFeedback(id, { sequence });
              while (sequence.length < goal.order) sequence.push(sequence.at(-1) + sequence.at(-2));
              action.setSucceeded(id, { sequence });
            }, (id) => { cancels.push(id); action.setCanceled(id, { sequence: [] }); });
        }""", [ops_system['primary'], TOKEN, PROVIDED_ACTION, FIB_TYPE])
        page.evaluate("""([port, token, name, type]) => {
            window.seen = { feedback: [], results: [], failed: [] };
            const ros = wr.connect(port);
            ros.authenticate(token);
            window.action = new ROSLIB.Action({ ros, name, actionType: type });
            window.send = (order, into) => action.sendGoal({ order },
              (r) => into.results.push(r), (f) => into.feedback.push(f),
              (e) => into.failed.push(wr.text(e)));
            // the provider's advertise_action may land after this page's first goal
            // (which then fails: no action server): send again until one succeeds
            const retry = setInterval(() => {
              if (seen.results.length) clearInterval(retry); else send(6, seen);
            }, 500);
            send(6, seen);
        }""", [ops_system['primary'], TOKEN, PROVIDED_ACTION, FIB_TYPE])
        wait_js(page, 'seen.results.length', 15,
                f'a result from the roslibjs-provided {PROVIDED_ACTION}')
        assert page.evaluate('seen.results[0]') == {'sequence': [0, 1, 1, 2, 3, 5]}
        assert page.evaluate('seen.feedback.slice(-2)') == [{'sequence': [0]},
                                                            {'sequence': [0, 1]}]
        page.evaluate("""() => {
            window.long = { feedback: [], results: [], failed: [] };
            window.longGoal = send(30, long);
        }""")
        wait_js(provider, 'goals.includes(30)', 10, 'the long goal to reach the provider')
        page.evaluate('action.cancelGoal(longGoal)')
        wait_js(page, 'long.failed.length || long.results.length', 10,
                'the canceled goal to end')
        assert page.evaluate('long.results') == [], 'a canceled goal was reported as succeeded'
        assert 'canceled' in page.evaluate('long.failed[0]'), page.evaluate('long.failed')
        assert len(provider.evaluate('cancels')) == 1
    finally:
        provider.context.close()
