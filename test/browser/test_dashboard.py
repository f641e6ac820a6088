"""The dashboard in Chromium: live telemetry, kill -9 of the primary, failover, failback.

Also a page written against the roslibjs API (Ros, Topic, Service) that imports
./roslib-adapter.js instead of roslib: the same kill, the same switch and return.
"""
from __future__ import annotations

from needs import needs

needs('zenoh', 'rosbags', 'playwright')

import os
import shutil
import time

from .conftest import ARTIFACTS, ROOT, TOKEN, kill_primary, wait_primary_back


def js_wait(page, expression: str, timeout_s: float, what: str):
    """Wait until ``expression`` is truthy in the page; fail with ``what`` and the state."""
    try:
        return page.wait_for_function(expression, timeout=timeout_s * 1000, polling=50)
    except Exception as exc:
        state = page.evaluate('window.dashboard ? JSON.stringify({active: dashboard.client.active,'
                              ' roles: dashboard.client.machine.roles(), timeline: dashboard.timeline'
                              '.map((e) => [e.kind, e.text, e.duration])}) : JSON.stringify(window.seen || null)')
        raise AssertionError(f'timed out after {timeout_s:.0f} s waiting for {what}; page state: '
                             f'{state}; console: {page.console_lines[-10:]}') from exc


def count(page, topic: str) -> int:
    return page.evaluate(f"dashboard.stats.get('{topic}').count")


def test_dashboard_follows_a_killed_primary_and_fails_back(system, page):
    """When the primary tier is killed with kill -9, the page switches to the secondary,
    telemetry keeps coming with no duplicate, the timeline shows the failover with its
    measured gap, and when up has restarted the primary the page fails back to it."""
    page.goto(f"http://127.0.0.1:{system['primary']}/?token={TOKEN}")
    js_wait(page, "document.querySelector('#active-tier').dataset.tier === 'primary'", 10,
            'the page to go live via the primary')
    js_wait(page, "dashboard.stats.get('/gps/fix').count >= 3 && "
            "dashboard.stats.get('/odom').count >= 5", 10, 'live /gps/fix and /odom')
    page.click('button[data-command="start"]')  # a moving rover draws a track
    js_wait(page, "document.querySelector('#endpoints tbody tr[data-role=standby]')", 5,
            'a warm standby in the endpoint table')
    time.sleep(1.5)

    old_pid = kill_primary(system)
    js_wait(page, "document.querySelector('#active-tier').dataset.tier === 'secondary'", 5,
            'the page to switch to the secondary')
    gps = count(page, '/gps/fix')
    js_wait(page, f"dashboard.stats.get('/gps/fix').count >= {gps + 5}", 5,
            'telemetry to continue through the secondary')
    js_wait(page, "document.querySelector('#timeline li[data-kind=failover] .dur')", 5,
            'the failover (with its switch time) in the timeline')
    text = page.inner_text('#timeline li[data-kind=failover]')
    assert 'primary → secondary' in text and 'switch' in text, text
    js_wait(page, "/telemetry gap/.test(document.querySelector('#timeline li[data-kind=failover]')"
            ".textContent)", 3, 'the measured telemetry gap')
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / 'dashboard-failover.png'
    page.screenshot(path=str(shot), full_page=True)
    if os.environ.get('WR_UPDATE_SCREENSHOT') == '1':
        shutil.copy(shot, ROOT / 'docs' / 'dashboard-failover.png')

    wait_primary_back(system, old_pid)
    js_wait(page, "document.querySelector('#active-tier').dataset.tier === 'primary'", 15,
            'the page to fail back to the restarted primary')
    js_wait(page, "document.querySelector('#timeline li[data-kind=failback]')", 2,
            'the failback in the timeline')
    odom = count(page, '/odom')
    js_wait(page, f"dashboard.stats.get('/odom').count >= {odom + 10}", 5, '/odom after failback')
    dups = page.evaluate("[...dashboard.stats].map(([t, s]) => [t, s.duplicates])")
    assert all(n == 0 for _, n in dups), f'duplicates delivered: {dups}'

    page.click('#estop')
    js_wait(page, "document.querySelector('#estop-state').textContent === 'ENGAGED'", 5,
            'the e-stop to show ENGAGED after the button published it')
    page.click('button[data-command="reset_estop"]')


ROSLIB_PAGE = """<!doctype html><meta charset="utf-8"><title>roslibjs-style page</title>
<pre id="log"></pre>
<script type="module">
// Written against roslibjs 2.x; the one changed line is the import.
import { Ros, Topic, Service } from './roslib-adapter.js';

const ros = new Ros({ url: 'ws://127.0.0.1:%(port)d' });
const seen = window.seen = { connections: 0, gps: 0, tiers: [], service: null };
ros.on('connection', () => { seen.connections += 1; });
ros.on('tier_changed', (d) => seen.tiers.push(d.current));
const gps = new Topic({ ros, name: '/gps/fix', messageType: 'sensor_msgs/msg/NavSatFix' });
gps.subscribe((fix) => { seen.gps += 1; seen.latitude = fix.latitude; });
const status = new Service({ ros, name: '/websocket_redundancy/status',
                             serviceType: 'std_srvs/srv/Trigger' });
status.callService({}, (r) => { seen.service = r.success; }, (e) => { seen.service = 'failed: ' + e; });
</script>"""


def test_roslib_style_page_follows_the_tiers(system, page):
    """When code written for roslibjs imports Ros/Topic/Service from roslib-adapter.js, it
    receives /gps/fix, keeps receiving it through a kill -9 of the primary (on the
    secondary) and is back on the primary after the restart."""
    port = system['primary']
    wait_primary_back(system, old_pid=-1)
    # The tier serves only its own page, so this one is written into a document of the
    # tier's origin (a route-fulfilled page would be outside the local network and
    # Chromium would block its WebSockets to 127.0.0.1).
    page.goto(f'http://127.0.0.1:{port}/health')
    page.set_content(ROSLIB_PAGE % {'port': port})
    js_wait(page, 'window.seen && seen.gps >= 3 && seen.connections >= 1', 10,
            '/gps/fix through the adapter')
    js_wait(page, 'seen.service !== null', 5, 'the status service answer')
    assert page.evaluate('seen.service') is True, page.evaluate('seen.service')
    time.sleep(1.0)

    old_pid = kill_primary(system)
    js_wait(page, "seen.tiers.at(-1) === 'secondary'", 5, 'the switch to the secondary')
    gps = page.evaluate('seen.gps')
    js_wait(page, f'seen.gps >= {gps + 5}', 5, '/gps/fix through the secondary')
    wait_primary_back(system, old_pid)
    js_wait(page, "seen.tiers.at(-1) === 'primary'", 15, 'the failback to the primary')
