"""The ROS 2 managed-node state machine as one table.

States and transitions carry the exact ids of ``lifecycle_msgs/msg/State`` and
``lifecycle_msgs/msg/Transition`` and the labels rcl gives them, so the embedded graph's
``change_state`` / ``get_state`` services answer what ``ros2 lifecycle`` expects.

``TABLE`` maps ``(state, transition) -> next state``; everything else is one lookup in
it. Each transition has a *name* (the ``lifecycle_msgs`` constant, lower case:
``unconfigured_shutdown``, ``on_configure_success``) and an rcl *label* (``shutdown``,
``transition_success``). Both are accepted wherever a transition is asked for; a label
is resolved against the current state, so ``shutdown`` from ``inactive`` is
``inactive_shutdown`` (id 6).
"""

from __future__ import annotations

from collections import deque
from enum import IntEnum

__all__ = [
    'LifecycleError', 'LifecycleMachine', 'Result', 'State', 'TABLE', 'Transition', 'WAIT',
    'as_state', 'available_transitions', 'resolve_transition', 'shortest_path',
]


class State(IntEnum):
    """``lifecycle_msgs/msg/State`` ids; ``label`` is rcl's label."""

    UNKNOWN = 0
    UNCONFIGURED = 1
    INACTIVE = 2
    ACTIVE = 3
    FINALIZED = 4
    CONFIGURING = 10
    CLEANINGUP = 11
    SHUTTINGDOWN = 12
    ACTIVATING = 13
    DEACTIVATING = 14
    ERRORPROCESSING = 15

    @property
    def label(self) -> str:
        return self.name.lower()

    @property
    def is_primary(self) -> bool:
        return self.value < 10


class Transition(IntEnum):
    """``lifecycle_msgs/msg/Transition`` ids; ``label`` is rcl's label."""

    CONFIGURE = 1
    CLEANUP = 2
    ACTIVATE = 3
    DEACTIVATE = 4
    UNCONFIGURED_SHUTDOWN = 5
    INACTIVE_SHUTDOWN = 6
    ACTIVE_SHUTDOWN = 7
    ON_CONFIGURE_SUCCESS = 10
    ON_CONFIGURE_FAILURE = 11
    ON_CONFIGURE_ERROR = 12
    ON_CLEANUP_SUCCESS = 20
    ON_CLEANUP_FAILURE = 21
    ON_CLEANUP_ERROR = 22
    ON_ACTIVATE_SUCCESS = 30
    ON_ACTIVATE_FAILURE = 31
    ON_ACTIVATE_ERROR = 32
    ON_DEACTIVATE_SUCCESS = 40
    ON_DEACTIVATE_FAILURE = 41
    ON_DEACTIVATE_ERROR = 42
    ON_SHUTDOWN_SUCCESS = 50
    ON_SHUTDOWN_FAILURE = 51
    ON_SHUTDOWN_ERROR = 52
    ON_ERROR_SUCCESS = 60
    ON_ERROR_FAILURE = 61
    ON_ERROR_ERROR = 62

    @property
    def label(self) -> str:
        if self.value >= 10:
            return ('transition_success', 'transition_failure', 'transition_error')[
                self.value % 10]
        return 'shutdown' if self.name.endswith('_SHUTDOWN') else self.name.lower()

    @property
    def is_callback_result(self) -> bool:
        return self.value >= 10


class Result(IntEnum):
    """A callback's outcome (``TRANSITION_CALLBACK_SUCCESS`` = 97 etc.)."""

    SUCCESS = 97
    FAILURE = 98
    ERROR = 99

    @property
    def label(self) -> str:
        return 'transition_' + self.name.lower()


S, T = State, Transition

#: Every legal ``(state, transition) -> next state``, as in rcl's default state machine.
TABLE: dict[tuple[State, Transition], State] = {
    (S.UNCONFIGURED, T.CONFIGURE): S.CONFIGURING,
    (S.UNCONFIGURED, T.UNCONFIGURED_SHUTDOWN): S.SHUTTINGDOWN,
    (S.INACTIVE, T.CLEANUP): S.CLEANINGUP,
    (S.INACTIVE, T.ACTIVATE): S.ACTIVATING,
    (S.INACTIVE, T.INACTIVE_SHUTDOWN): S.SHUTTINGDOWN,
    (S.ACTIVE, T.DEACTIVATE): S.DEACTIVATING,
    (S.ACTIVE, T.ACTIVE_SHUTDOWN): S.SHUTTINGDOWN,
    (S.CONFIGURING, T.ON_CONFIGURE_SUCCESS): S.INACTIVE,
    (S.CONFIGURING, T.ON_CONFIGURE_FAILURE): S.UNCONFIGURED,
    (S.CONFIGURING, T.ON_CONFIGURE_ERROR): S.ERRORPROCESSING,
    (S.CLEANINGUP, T.ON_CLEANUP_SUCCESS): S.UNCONFIGURED,
    (S.CLEANINGUP, T.ON_CLEANUP_FAILURE): S.INACTIVE,
    (S.CLEANINGUP, T.ON_CLEANUP_ERROR): S.ERRORPROCESSING,
    (S.ACTIVATING, T.ON_ACTIVATE_SUCCESS): S.ACTIVE,
    (S.ACTIVATING, T.ON_ACTIVATE_FAILURE): S.INACTIVE,
    (S.ACTIVATING, T.ON_ACTIVATE_ERROR): S.ERRORPROCESSING,
    (S.DEACTIVATING, T.ON_DEACTIVATE_SUCCESS): S.INACTIVE,
    (S.DEACTIVATING, T.ON_DEACTIVATE_FAILURE): S.ACTIVE,
    (S.DEACTIVATING, T.ON_DEACTIVATE_ERROR): S.ERRORPROCESSING,
    (S.SHUTTINGDOWN, T.ON_SHUTDOWN_SUCCESS): S.FINALIZED,
    (S.SHUTTINGDOWN, T.ON_SHUTDOWN_FAILURE): S.FINALIZED,
    (S.SHUTTINGDOWN, T.ON_SHUTDOWN_ERROR): S.ERRORPROCESSING,
    (S.ERRORPROCESSING, T.ON_ERROR_SUCCESS): S.UNCONFIGURED,
    (S.ERRORPROCESSING, T.ON_ERROR_FAILURE): S.FINALIZED,
    (S.ERRORPROCESSING, T.ON_ERROR_ERROR): S.FINALIZED,
}

#: What ``shortest_path`` answers for a node in a transition state: ask again later.
WAIT = 'wait'


class LifecycleError(ValueError):
    """An unknown or illegal transition; the message names it and the way out."""


def as_state(state: State | int | str) -> State:
    """When given an id, a label or a ``State``, return the ``State`` (or raise)."""
    if isinstance(state, str):
        try:
            return State[state.upper()]
        except KeyError:
            raise LifecycleError(f'{state!r} is not a lifecycle state label; use one of '
                                 f'{", ".join(s.label for s in State)}.') from None
    try:
        return State(state)
    except ValueError:
        raise LifecycleError(f'{state!r} is not a lifecycle_msgs/msg/State id.') from None


def available_transitions(state: State | int | str) -> list[Transition]:
    """When a node is in ``state``, these transitions are legal (in id order)."""
    here = as_state(state)
    return sorted(t for (s, t) in TABLE if s is here)


def resolve_transition(state: State | int | str,
                       transition: Transition | int | str) -> Transition:
    """When ``transition`` (id, name or rcl label) is legal from ``state``, return it.

    Otherwise raise ``LifecycleError`` saying what is legal from there.
    """
    here = as_state(state)
    legal = available_transitions(here)
    if isinstance(transition, str):
        key = transition.lower()
        found = [t for t in legal if key in (t.name.lower(), t.label)]
        known = any(key in (t.name.lower(), t.label) for t in Transition)
        if len(found) == 1:
            return found[0]
        what = f'transition {transition!r}'
        if not known:
            raise LifecycleError(f'{what} is not a lifecycle transition name or label.')
    else:
        try:
            found_t = Transition(transition)
        except ValueError:
            raise LifecycleError(
                f'{transition!r} is not a lifecycle_msgs/msg/Transition id.') from None
        if found_t in legal:
            return found_t
        what = f'transition {found_t.name.lower()} ({found_t.value})'
    choices = ', '.join(f'{t.label} ({t.value})' for t in legal) or 'none'
    raise LifecycleError(f'{what} is not legal from state {here.label}; legal: {choices}.')


def shortest_path(from_state: State | int | str,
                  to_state: State | int | str = State.ACTIVE) -> list[str] | str | None:
    """When a node sits in a primary state, the fewest requested transitions to the goal.

    Returns rcl labels (what ChangeState-by-label takes), ``[]`` when already there,
    ``None`` when the goal cannot be reached (from ``finalized``: respawn the process),
    and ``WAIT`` when the node is in a transition state (or unknown) and must be asked
    again.
    """
    start, goal = as_state(from_state), as_state(to_state)
    if start is goal:
        return []
    if not start.is_primary or start is State.UNKNOWN:
        return WAIT
    paths: dict[State, list[str]] = {start: []}
    queue = deque([start])
    while queue:
        here = queue.popleft()
        for t in available_transitions(here):
            # Assume the callback succeeds: land where on_<transition>_success goes.
            middle = TABLE[here, t]
            landed = next(TABLE[middle, r] for r in available_transitions(middle)
                          if r.label == 'transition_success')
            if landed not in paths:
                paths[landed] = [*paths[here], t.label]
                if landed is goal:
                    return paths[landed]
                queue.append(landed)
    return None


class LifecycleMachine:
    """One node's lifecycle, driven the way rcl drives it.

    When ``begin(t)`` is legal, the machine moves into the transition state and returns
    it; ``finish(result)`` then lands it in the goal, the previous state or
    errorprocessing. An illegal call raises ``LifecycleError`` and changes nothing.
    """

    def __init__(self, state: State | int | str = State.UNCONFIGURED) -> None:
        self.state = as_state(state)

    def available_transitions(self) -> list[Transition]:
        return available_transitions(self.state)

    def begin(self, transition: Transition | int | str) -> State:
        if not self.state.is_primary:
            raise LifecycleError(
                f'state {self.state.label} is a transition state; call finish() with the '
                'callback result before requesting another transition.')
        t = resolve_transition(self.state, transition)
        self.state = TABLE[self.state, t]
        return self.state

    def finish(self, result: Result | int | str) -> State:
        if self.state.is_primary:
            raise LifecycleError(
                f'state {self.state.label} is a primary state; there is no callback to '
                'finish (call begin() with a transition first).')
        r = _to_result(result)
        t = resolve_transition(self.state, r.label)
        self.state = TABLE[self.state, t]
        return self.state

    def __repr__(self) -> str:
        return f'LifecycleMachine(state={self.state.label!r})'


def _to_result(result: Result | int | str) -> Result:
    try:
        if isinstance(result, str):
            return Result[result.upper().removeprefix('TRANSITION_')]
        return Result(result)
    except (KeyError, ValueError):
        raise LifecycleError(f'{result!r} is not a callback result; use success, failure '
                             'or error.') from None
