"""The supervisor behind ``up`` restarts what crashes and gives up on what cannot start."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from twisted.internet.task import Clock

from websocket_redundancy.app.supervisor import START_FAILURES, ChildSpec, Supervisor


class FakeReactor(Clock):
    """A clock that also 'spawns' processes: it records them and lets the test end them."""

    def __init__(self):
        super().__init__()
        self.spawned = []

    def spawnProcess(self, proto, executable, argv, env, childFDs):
        transport = SimpleNamespace(pid=1000 + len(self.spawned), proto=proto)
        self.spawned.append(transport)
        return transport


def run(supervisor: Supervisor, reactor: FakeReactor, *, stderr: str = '', code=1,
        signal=None, ready=False) -> None:
    """The newest child writes ``stderr`` (and READY if asked), then ends."""
    proto = reactor.spawned[-1].proto
    if ready:
        proto.childDataReceived(1, b'READY x pid=1\n')
    if stderr:
        proto.childDataReceived(2, stderr.encode() + b'\n')
    proto.processEnded(SimpleNamespace(value=SimpleNamespace(exitCode=code, signal=signal)))
    reactor.advance(10)  # past any restart delay


@pytest.fixture
def harness():
    reactor, lines, fatal = FakeReactor(), [], []
    supervisor = Supervisor(reactor, [ChildSpec('coordinator', ['python3'])], out=lines.append,
                            clock=reactor.seconds)
    supervisor.on_fatal = fatal.append
    supervisor.start()
    return supervisor, reactor, lines, fatal


def test_when_a_child_fails_the_same_way_at_start_up_n_times_up_stops_naming_it(harness):
    supervisor, reactor, lines, fatal = harness
    for _ in range(START_FAILURES):
        assert fatal == []
        run(supervisor, reactor, stderr="error: the coordinator could not configure: "
            "configuring raised ModuleNotFoundError(\"No module named 'OpenSSL'\")")
    assert fatal == ['coordinator']
    assert len(reactor.spawned) == START_FAILURES, 'restarted after giving up'
    assert lines[-1].startswith(f'coordinator failed to start {START_FAILURES} times in a row '
                                '(exit 1): the coordinator could not configure')
    assert "No module named 'OpenSSL'" in lines[-1]
    assert reactor.getDelayedCalls() == []


def test_when_start_up_failures_differ_or_a_run_got_ready_the_count_starts_again(harness):
    supervisor, reactor, lines, fatal = harness
    run(supervisor, reactor, stderr='error: first cause')
    run(supervisor, reactor, stderr='error: another cause')
    run(supervisor, reactor, stderr='error: first cause')
    run(supervisor, reactor, ready=True)  # it started once: a later crash is a crash
    for _ in range(START_FAILURES - 1):
        run(supervisor, reactor, stderr='error: first cause')
    run(supervisor, reactor, code=None, signal=9)  # kill -9 is not a start-up failure
    assert fatal == []
    assert len(reactor.spawned) == 1 + 4 + (START_FAILURES - 1) + 1  # every end restarted
    assert any('restarting in' in line for line in lines)


def test_when_a_child_exits_with_the_usage_code_up_stops_at_once_with_its_sentence(harness):
    supervisor, reactor, lines, fatal = harness
    run(supervisor, reactor, code=2, stderr='error: coordinator cannot join the embedded graph')
    assert fatal == ['coordinator']
    assert lines[-1] == ('coordinator cannot start: coordinator cannot join the embedded graph; '
                         'not restarting it')
    assert len(reactor.spawned) == 1
