"""The WebSocket probe against a small real Autobahn server on port 0.

Both run on one real reactor in a child process (the test process keeps no global
reactor running); the child prints what the probe reported at each step as JSON.
"""
from needs import needs

needs('zenoh', 'rosbags')

import json
import subprocess
import sys
import textwrap

import pytest

from .harness import child_env

pytestmark = pytest.mark.integration

SCRIPT = textwrap.dedent('''
    import json, sys, time
    from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
    from twisted.internet import reactor
    from websocket_redundancy.coordinator.probe import WebSocketProbe

    MODE = {'mode': 'beat'}
    report = []

    class Tier(WebSocketServerProtocol):
        def onOpen(self):
            if MODE['mode'] == 'full':
                self.sendCloseFrame(code=1013, reasonUtf8=b'full', isReply=False)
                return
            self.subscribed = False
            self.seq = 0
            self.beat()

        def onMessage(self, payload, isBinary):
            frame = json.loads(payload)
            report.append(('subscribe', frame.get('op'), frame.get('topic')))
            self.subscribed = frame.get('op') == 'subscribe'

        def beat(self):
            if self.state != self.STATE_OPEN:
                return
            if self.subscribed and MODE['mode'] == 'beat':
                self.seq += 1
                data = json.dumps({'tier': 't', 'session': 's1', 'seq': self.seq,
                                   'sent': time.time() - 0.002})
                self.sendMessage(json.dumps({'op': 'publish',
                    'topic': '/websocket_redundancy/heartbeat', 'msg': {'data': data},
                    'epoch': 's1', 'seq': self.seq}).encode())
            reactor.callLater(0.05, self.beat)

    factory = WebSocketServerFactory()
    factory.protocol = Tier
    port = reactor.listenTCP(0, factory, interface='127.0.0.1')
    url = f'ws://127.0.0.1:{port.getHost().port}'
    probe = WebSocketProbe(reactor, url, interval=0.3)

    def take(label):
        ok, latency = probe.take()
        report.append((label, ok, latency))

    def mode(m):
        MODE['mode'] = m
        if m != 'beat':  # drop current clients so the next connect sees the new mode
            for proto in list(getattr(factory, 'live', [])):
                proto.dropConnection()

    orig_open = Tier.onOpen
    def tracking_open(self):
        factory.live = getattr(factory, 'live', set()) | {self}
        orig_open(self)
    Tier.onOpen = tracking_open

    steps = [(1.0, take, 'warm'), (1.3, take, 'beating'),
             (1.4, mode, 'silent'), (1.8, take, 'flush'), (2.4, take, 'silent'),
             (2.5, mode, 'full'), (3.2, take, 'full1'), (3.8, take, 'full2'),
             (3.9, mode, 'beat'), (7.0, take, 'back')]
    for at, fn, arg in steps:
        reactor.callLater(at, fn, arg)

    def done():
        d = probe.stop()
        d.addBoth(lambda _: (print(json.dumps(report)), reactor.stop()))
    reactor.callLater(7.2, done)
    reactor.callLater(20, reactor.stop)
    reactor.run()
''')


def test_probe_reports_frames_silence_refusal_and_reconnect():
    """When the tier beats, the probe is ok with a small latency; when it goes silent
    or refuses (1013), the probe is not ok; when it beats again, the probe reconnects
    by itself and is ok again."""
    proc = subprocess.run([sys.executable, '-c', SCRIPT], env=child_env(),
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    takes = {row[0]: row[1:] for row in report if row[0] != 'subscribe'}
    subscribes = [row for row in report if row[0] == 'subscribe']
    assert subscribes[0] == ['subscribe', 'subscribe', '/websocket_redundancy/heartbeat']
    ok, latency = takes['beating']
    assert ok is True and 0.0 <= latency < 0.5
    assert takes['silent'] == [False, None]
    assert takes['full2'] == [False, None]
    assert takes['back'][0] is True, report
    assert len(subscribes) >= 2  # it reconnected and subscribed again
