"""The coordinator's model: the health, recovery and endpoint models wired together.

As magic-wormhole's boss wires its machines, this routes each input to the models that
take it and gathers what they decide; the coordinator shell only feeds it events, arms
one timer at ``next_deadline()`` and carries out the outputs, in order:

    handle(event, now, known) -> [Report(item, follow) ..., Forget(left) ..., command ...]

* ``ProcessExited``/``ProcessStarted``/``TransitionEvent`` go to recovery and health;
  ``GetStateResult``/``ChangeStateResult`` to recovery; any other witness (heartbeat,
  probe result) to health; ``TimerFired`` runs health's checks, recovery's timers and
  the registry's expiry.
* every health change goes to recovery; the change is reported with what recovery
  decided about it (so "DOWN -> recovering" is one line);
* an endpoint the registry dropped (DOWN and gone) is a ``Forget``;
* the commands are recovery's (``GetState``, ``ChangeState``, ``Respawn``,
  ``MarkFailed``, records); the shell drops those about an endpoint no longer known.

An event about an endpoint not in ``known`` (it has left) is ignored. Time is an
argument; nothing here does I/O.
"""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from . import endpoints as e
from . import health as h
from . import recovery as r


@dataclass(frozen=True)
class TimerFired:
    """The one timer the shell arms at ``next_deadline()`` went off."""


@dataclass(frozen=True)
class Report:
    """Record and tell ``item`` (a health change, a join or leave, a recovery record);
    ``follow`` is what recovery decided in response."""

    item: object
    follow: tuple[object, ...] = field(default=())


@dataclass(frozen=True)
class Forget:
    """The endpoint left the directory (DOWN and gone for ``forget_after``)."""

    left: e.Left


_LIFECYCLE = (h.ProcessExited, h.ProcessStarted, h.TransitionEvent)
_ANSWERS = (r.GetStateResult, r.ChangeStateResult)


class CoordinatorModel:
    def __init__(self, health: h.HealthModel, recovery: r.RecoveryModel,
                 registry: e.Registry) -> None:
        self.health, self.recovery, self.registry = health, recovery, registry

    def handle(self, event: object, now: float, known: Collection[str]) -> list[object]:
        """What the shell does about ``event``, in order (see the module docstring)."""
        name = getattr(event, 'tier', None)
        if name is not None and name not in known:
            return []
        commands: list[object] = []
        if isinstance(event, _LIFECYCLE + _ANSWERS):
            commands += self.recovery.handle(event, now)
        if isinstance(event, _ANSWERS):
            changes: list[object] = []
        elif isinstance(event, TimerFired):
            changes = self.health.check(now)
        else:
            changes = self.health.handle(event, now)
        out: list[object] = []
        for change in changes:
            follow = self.recovery.handle(change, now)
            out.append(Report(change, tuple(commands + follow)))
            commands += follow
        if isinstance(event, TimerFired):
            commands += self.recovery.tick(now)
            out += [Forget(left) for left in self.registry.expire(now, self.health.health)]
        return out + commands

    def next_deadline(self) -> float | None:
        """When the shell must feed ``TimerFired`` next (None: nothing is pending)."""
        deadlines = [d for d in (self.health.next_deadline(), self.recovery.next_deadline(),
                                 self.registry.next_deadline()) if d is not None]
        return min(deadlines) if deadlines else None
