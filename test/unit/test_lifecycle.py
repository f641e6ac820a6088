"""The lifecycle table mirrors lifecycle_msgs and rcl's default state machine."""

import pytest

from websocket_redundancy.core.lifecycle import (
    TABLE,
    WAIT,
    LifecycleError,
    LifecycleMachine,
    Result,
    State,
    Transition,
    as_state,
    available_transitions,
    resolve_transition,
    shortest_path,
)

STATE_IDS = [
    ('unknown', 0), ('unconfigured', 1), ('inactive', 2), ('active', 3), ('finalized', 4),
    ('configuring', 10), ('cleaningup', 11), ('shuttingdown', 12), ('activating', 13),
    ('deactivating', 14), ('errorprocessing', 15),
]

TRANSITION_IDS = [
    ('configure', 1, 'configure'), ('cleanup', 2, 'cleanup'), ('activate', 3, 'activate'),
    ('deactivate', 4, 'deactivate'), ('unconfigured_shutdown', 5, 'shutdown'),
    ('inactive_shutdown', 6, 'shutdown'), ('active_shutdown', 7, 'shutdown'),
    ('on_configure_success', 10, 'transition_success'),
    ('on_configure_failure', 11, 'transition_failure'),
    ('on_configure_error', 12, 'transition_error'),
    ('on_cleanup_success', 20, 'transition_success'),
    ('on_activate_success', 30, 'transition_success'),
    ('on_deactivate_failure', 41, 'transition_failure'),
    ('on_shutdown_error', 52, 'transition_error'),
    ('on_error_success', 60, 'transition_success'),
    ('on_error_error', 62, 'transition_error'),
]

# (source, requested transition, transition state, success, failure, error)
REQUESTED = [
    ('unconfigured', 'configure', 'configuring', 'inactive', 'unconfigured', 'errorprocessing'),
    ('inactive', 'cleanup', 'cleaningup', 'unconfigured', 'inactive', 'errorprocessing'),
    ('inactive', 'activate', 'activating', 'active', 'inactive', 'errorprocessing'),
    ('active', 'deactivate', 'deactivating', 'inactive', 'active', 'errorprocessing'),
    ('unconfigured', 'shutdown', 'shuttingdown', 'finalized', 'finalized', 'errorprocessing'),
    ('inactive', 'shutdown', 'shuttingdown', 'finalized', 'finalized', 'errorprocessing'),
    ('active', 'shutdown', 'shuttingdown', 'finalized', 'finalized', 'errorprocessing'),
]

ILLEGAL = [
    ('unconfigured', 'activate'), ('unconfigured', 3), ('unconfigured', 'cleanup'),
    ('unconfigured', 'deactivate'), ('unconfigured', 6), ('inactive', 'configure'),
    ('inactive', 'deactivate'), ('inactive', 5), ('active', 'activate'),
    ('active', 'configure'), ('active', 'cleanup'), ('active', 6), ('finalized', 'configure'),
    ('finalized', 'shutdown'), ('finalized', 1), ('unconfigured', 'transition_success'),
    ('active', 10), ('active', 99), ('active', 'reboot'), ('active', 'on_activate_success'),
]


@pytest.mark.parametrize(('label', 'ident'), STATE_IDS)
def test_state_ids_and_labels(label, ident):
    """When a state is named by id or label, both give the lifecycle_msgs constant."""
    assert as_state(label) is as_state(ident)
    assert as_state(ident).label == label


@pytest.mark.parametrize(('name', 'ident', 'label'), TRANSITION_IDS)
def test_transition_ids_and_labels(name, ident, label):
    """When a transition is looked up by id, its name and rcl label match lifecycle_msgs."""
    t = Transition(ident)
    assert (t.name.lower(), t.label) == (name, label)


def test_table_covers_every_callback_result_once():
    """When a node is in a transition state, each result has exactly one way out."""
    for state in State:
        outs = available_transitions(state)
        if state.is_primary:
            assert all(not t.is_callback_result for t in outs)
        else:
            assert sorted(t.label for t in outs) == sorted(r.label for r in Result)
    assert len(TABLE) == 7 + 6 * 3


@pytest.mark.parametrize(('source', 'request_', 'middle', 'ok', 'failed', 'errored'), REQUESTED)
def test_every_legal_transition(source, request_, middle, ok, failed, errored):
    """When a legal transition is begun and finished, the node lands where rcl puts it."""
    for result, landing in (('success', ok), ('failure', failed), ('error', errored)):
        machine = LifecycleMachine(source)
        assert machine.begin(request_).label == middle
        assert machine.finish(result).label == landing


@pytest.mark.parametrize('source', ['unconfigured', 'inactive', 'active'])
def test_transition_by_id_name_and_label_agree(source):
    """When a transition is asked for by id, by name or by label, the same one is chosen."""
    for t in available_transitions(source):
        assert resolve_transition(source, t.value) is t
        assert resolve_transition(source, t.name.lower()) is t
        assert resolve_transition(source, t.label) is t


def test_shutdown_label_depends_on_source():
    """When 'shutdown' is requested, the *_shutdown id matching the source is used."""
    assert resolve_transition('unconfigured', 'shutdown') is Transition.UNCONFIGURED_SHUTDOWN
    assert resolve_transition('inactive', 'shutdown') is Transition.INACTIVE_SHUTDOWN
    assert resolve_transition('active', 'shutdown') is Transition.ACTIVE_SHUTDOWN


@pytest.mark.parametrize(('source', 'request_'), ILLEGAL)
def test_illegal_transition_raises_and_leaves_state(source, request_):
    """When an illegal transition is begun, LifecycleError says so and nothing changes."""
    machine = LifecycleMachine(source)
    with pytest.raises(LifecycleError) as info:
        machine.begin(request_)
    assert machine.state is as_state(source)
    assert str(info.value).endswith('.')


def test_illegal_message_names_state_and_choices():
    """When activate is asked of an unconfigured node, the message lists what is legal."""
    with pytest.raises(LifecycleError, match=r'activate \(3\) is not legal from state '
                                             r'unconfigured; legal: configure \(1\), '
                                             r'shutdown \(5\)\.'):
        LifecycleMachine().begin(3)


@pytest.mark.parametrize('middle', ['configuring', 'activating', 'errorprocessing'])
def test_begin_during_transition_raises_and_leaves_state(middle):
    """When a node is mid-transition, another begin() raises and leaves it there."""
    machine = LifecycleMachine(middle)
    with pytest.raises(LifecycleError, match='transition state'):
        machine.begin('activate')
    assert machine.state.label == middle


@pytest.mark.parametrize('result', ['success', 'bogus', 97])
def test_finish_in_primary_state_raises(result):
    """When no transition is in progress, finish() raises and leaves the state."""
    machine = LifecycleMachine('inactive')
    with pytest.raises(LifecycleError):
        machine.finish(result)
    assert machine.state is State.INACTIVE


def test_bad_result_raises_and_leaves_state():
    """When finish() gets something that is not a result, it raises; state unchanged."""
    machine = LifecycleMachine('configuring')
    with pytest.raises(LifecycleError, match='success, failure or error'):
        machine.finish('maybe')
    assert machine.state is State.CONFIGURING


@pytest.mark.parametrize(('bad', 'message'), [('sleeping', 'not a lifecycle state label'),
                                              (7, 'not a lifecycle_msgs/msg/State id')])
def test_unknown_state_raises(bad, message):
    """When a state is unknown, the error names it."""
    with pytest.raises(LifecycleError, match=message):
        as_state(bad)


def test_error_processing_outcomes():
    """When on_error succeeds the node is unconfigured; otherwise it is finalized."""
    assert LifecycleMachine('errorprocessing').finish('success') is State.UNCONFIGURED
    assert LifecycleMachine('errorprocessing').finish(Result.FAILURE) is State.FINALIZED
    assert LifecycleMachine('errorprocessing').finish(99) is State.FINALIZED


@pytest.mark.parametrize(('source', 'goal', 'path'), [
    ('unconfigured', 'active', ['configure', 'activate']),
    ('inactive', 'active', ['activate']),
    ('active', 'active', []),
    ('finalized', 'active', None),
    ('errorprocessing', 'active', WAIT),
    ('activating', 'active', WAIT),
    ('unknown', 'active', WAIT),
    ('active', 'unconfigured', ['deactivate', 'cleanup']),
    ('active', 'inactive', ['deactivate']),
    ('inactive', 'finalized', ['shutdown']),
    ('unconfigured', 'finalized', ['shutdown']),
    (1, 3, ['configure', 'activate']),
])
def test_shortest_path(source, goal, path):
    """When a node must reach a state, the path is the fewest requested transitions."""
    assert shortest_path(source, goal) == path


@pytest.mark.parametrize('source', ['unconfigured', 'inactive', 'active'])
def test_shortest_path_is_executable(source):
    """When each step of the path is begun and succeeds, the node ends up active."""
    machine = LifecycleMachine(source)
    for label in shortest_path(source):
        machine.begin(label)
        machine.finish('success')
    assert machine.state is State.ACTIVE
