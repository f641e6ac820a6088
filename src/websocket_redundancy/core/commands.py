"""Commands the rosbridge session asks its shell to carry out (frozen dataclasses)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Reply:
    """Send ``frame`` to this client (control traffic)."""
    frame: dict[str, Any]


@dataclass(frozen=True)
class Subscribe:
    topic: str
    type_name: str | None
    resume: tuple[str, int] | None = None  # the client's most recent (epoch, seq)
    streams: tuple[tuple[str, int], ...] = ()  # its last seq of every epoch it has seen


@dataclass(frozen=True)
class Unsubscribe:
    topic: str


@dataclass(frozen=True)
class Advertise:
    topic: str
    type_name: str
    latched: bool = False  # rosbridge's ``latch``: transient local, the last sample kept


@dataclass(frozen=True)
class Unadvertise:
    """The client no longer publishes ``topic`` (its last advertisement id is gone, or it
    disconnected); the shell closes the publisher once no client uses it."""
    topic: str


@dataclass(frozen=True)
class Publish:
    topic: str
    type_name: str
    msg: dict[str, Any]


@dataclass(frozen=True)
class CallService:
    call_id: str | None
    service: str
    type_name: str | None
    args: dict[str, Any]
    timeout: float = 5.0  # seconds; the client's ``timeout`` or rosbridge's default


@dataclass(frozen=True)
class Refused:
    """Bad or forbidden input: the shell logs ``detail`` and counts ``kind``."""
    kind: str  # malformed | unknown_op | bad_field | scope | auth | limit | binary | conflict
    detail: str


@dataclass(frozen=True)
class Close:
    code: int
    reason: str


@dataclass(frozen=True)
class SendGoal:
    """Send an action goal for this client (``send_action_goal``); ``key`` names it on
    this connection (the client's ``id``, or one the session made up)."""
    key: str
    call_id: str | int | None
    action: str
    type_name: str
    args: dict[str, Any]
    feedback: bool = False  # forward the goal's feedback as ``action_feedback``
    goal_id: str | None = None  # the client's UUID for the goal (base64): it re-attaches by it


@dataclass(frozen=True)
class AttachGoal:
    """Follow goal ``goal_id`` of ``action`` for this client (``attach_action_goal``):
    its feedback after ``resume`` (the last sample the client saw, or from the start),
    then live, and its result; ``key`` names it on this connection."""
    key: str
    call_id: str | int | None
    action: str
    type_name: str
    goal_id: str
    feedback: bool = True
    resume: tuple[str, int] | None = None


@dataclass(frozen=True)
class CancelGoal:
    """Ask the action server to cancel this client's goal ``key``."""
    key: str
    action: str


@dataclass(frozen=True)
class DetachGoals:
    """The connection is gone: its goals run on, nothing of them is forwarded to it."""


@dataclass(frozen=True)
class AdvertiseService:
    """Serve ``service`` on the graph for this client (its ``advertise_service``); the
    shell refuses it when another client or node already serves the name."""
    service: str
    type_name: str


@dataclass(frozen=True)
class UnadvertiseService:
    """Stop serving ``service`` for this client (``unadvertise_service``, disconnect)."""
    service: str


@dataclass(frozen=True)
class AnswerCall:
    """Complete a graph call of a client-provided service: ``values`` is the response
    when ``ok``, else the sentence the caller gets as its error. ``waiter`` is the
    shell's handle of the call (a ``concurrent.futures.Future``)."""
    waiter: Any
    ok: bool
    values: Any


@dataclass(frozen=True)
class AdvertiseAction:
    """Serve ``action`` on the graph for this client (its ``advertise_action``); the
    shell refuses it when another client or node already serves the name."""
    action: str
    type_name: str  # 'pkg/action/Name'


@dataclass(frozen=True)
class UnadvertiseAction:
    """Stop serving ``action`` for this client (``unadvertise_action``, disconnect)."""
    action: str


@dataclass(frozen=True)
class ServedFeedback:
    """Publish feedback of a goal a client-provided action runs; ``goal`` is the
    shell's handle of it (a ``graph.port.ServerGoal``)."""
    goal: Any
    values: dict[str, Any]


@dataclass(frozen=True)
class EndServedGoal:
    """End a goal a client-provided action runs with ``status`` (4 succeeded, 5
    canceled, 6 aborted) and ``result``; ``reason`` says why the tier aborted it ('' when
    the client ended it)."""
    goal: Any
    status: int
    result: dict[str, Any]
    reason: str = ''
