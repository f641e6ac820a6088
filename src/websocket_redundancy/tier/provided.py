"""The tier's side of client-provided services (``core/rosbridge_services.py``).

``ProvidedServices`` serves each service a client advertised on the graph, one client
per name on the graph: a name another client of this tier provides, or that some other
node (another tier's client, a ROS node) already serves, is refused. A graph call
arrives on a graph thread, where the handler only hands the reactor the request and
returns a ``concurrent.futures.Future`` (``Graph.serve``'s deferred answer); on the
reactor the providing client's session turns it into a ``call_service`` frame, and the
client's ``service_response``, the call's deadline, ``unadvertise_service`` or the
disconnect completes the future (``AnswerCall``), which the graph sends to its caller.

One timer (``reactor.callLater``) is armed for the earliest deadline of all calls in
flight; deadlines are on the tier's monotonic clock.
"""
from __future__ import annotations

import logging
from concurrent.futures import Future, InvalidStateError
from functools import partial
from typing import TYPE_CHECKING, Any

from ..core import commands as cmd
from ..core import rosbridge_services as provided
from ..graph.port import GraphError

if TYPE_CHECKING:
    from .service import TierService

log = logging.getLogger(__name__)
RELEASE_GRACE_S = 5.0  # the graph may still list a service this tier just stopped serving


class Provided:
    """Names this tier's clients provide on the graph (services, actions), by name: one
    client per name. Subclasses say how a name is served (``_serve``), how the graph
    lists it (``_listed``) and how the client's session forgets a refused one."""

    noun = 'service'  # in sentences and in the op names (advertise_service)

    def __init__(self, tier: TierService) -> None:
        self.tier = tier
        self.providers: dict[str, Any] = {}  # name -> the providing client's protocol
        self._handles: dict[str, Any] = {}  # name -> the graph's serve handle
        self._released: dict[str, float] = {}  # name -> when this tier stopped serving it

    def _serve(self, name: str, type_name: str) -> Any: ...

    def _listed(self, name: str) -> bool: ...

    def _refusal(self, session, name: str, kind: str, text: str) -> list[Any]: ...

    def _take(self, proto, name: str, type_name: str) -> None:
        """Serve ``name`` for ``proto``'s client unless someone else serves it."""
        tier, noun = self.tier, self.noun
        holder = self.providers.get(name)
        if holder is proto:
            return
        if holder is not None:
            self._refuse(proto, name, 'conflict', f'{name} is already provided by another '
                         f'client of the {tier.tier.name} tier; one client provides a {noun} '
                         '(rosbridge would let this one take it over silently): '
                         f'unadvertise_{noun} it there first, or choose another name')
            return
        if self._served_elsewhere(name):
            self._refuse(proto, name, 'conflict', f'{name} is already served on the graph by '
                         "another node (a ROS node, or another tier's client); choose "
                         'another name')
            return
        try:
            handle = self._serve(name, type_name)
        except GraphError as exc:
            self._refuse(proto, name, 'bad_field', f'cannot serve {name} as {type_name}: {exc}')
            return
        self.providers[name], self._handles[name] = proto, handle
        self._released.pop(name, None)
        log.info('%s: %s provides %s %s (%s)', tier.tier.name, proto.peer, noun, name, type_name)

    def _give_up(self, proto, name: str) -> bool:
        """Stop serving ``name`` for ``proto``'s client (False if it did not serve it)."""
        if self.providers.get(name) is not proto:
            return False
        del self.providers[name]
        self._handles.pop(name).close()
        self._released[name] = self.tier.clock()
        log.info('%s: %s no longer provides %s %s', self.tier.tier.name, proto.peer,
                 self.noun, name)
        return True

    def _served_elsewhere(self, name: str) -> bool:
        if not self._listed(name):
            return False
        released = self._released.get(name)  # our own server, not yet gone from the view
        return released is None or self.tier.clock() - released > RELEASE_GRACE_S

    def _refuse(self, proto, name: str, kind: str, text: str) -> None:
        session = self.tier.clients.get(proto)
        if session is not None:
            self.tier.execute(proto, self._refusal(session, name, kind, text))

    def _sessions(self):
        """(protocol, session) of every client that provides something here."""
        clients = self.tier.clients
        return [(p, clients[p]) for p in set(self.providers.values()) if p in clients]

    def _close_all(self) -> None:
        for handle in self._handles.values():
            handle.close()
        self._handles.clear()
        self.providers.clear()


class ProvidedServices(Provided):
    """Services this tier's clients provide, by name."""

    def __init__(self, tier: TierService) -> None:
        super().__init__(tier)
        self._timer: Any = None

    # ---- commands from the sessions (reactor thread) --------------------------------
    def advertise(self, proto, command: cmd.AdvertiseService) -> None:
        self._take(proto, command.service, command.type_name)

    def unadvertise(self, proto, command: cmd.UnadvertiseService) -> None:
        if self._give_up(proto, command.service):
            self._arm()

    def answer(self, command: cmd.AnswerCall) -> None:
        waiter: Future = command.waiter
        try:
            if command.ok:
                waiter.set_result(command.values)
            else:
                log.warning('%s: %s', self.tier.tier.name, command.values)
                waiter.set_exception(GraphError(command.values))
        except InvalidStateError:  # the graph gave up on the call already
            pass
        self._arm()

    # ---- graph calls ------------------------------------------------------------------
    def _on_call(self, name: str, request: dict[str, Any]) -> Future:
        """On a graph thread: hand the call to the reactor; answer later."""
        waiter: Future = Future()
        self.tier.reactor.callFromThread(self._arrive, name, request, waiter)
        return waiter

    def _arrive(self, name: str, request: dict[str, Any], waiter: Future) -> None:
        proto = self.providers.get(name)
        session = self.tier.clients.get(proto)
        if session is None:
            self.answer(cmd.AnswerCall(waiter, False, f'the client providing {name} '
                                       'disconnected'))
            return
        self.tier.execute(proto, provided.request(session, name, request, waiter,
                                                  self.tier.clock()))
        self._arm()

    # ---- deadlines --------------------------------------------------------------------
    def _arm(self) -> None:
        """One timer for the earliest deadline of every call in flight (none if none)."""
        deadlines = [d for _, s in self._sessions()
                     if (d := s.provider.next_deadline()) is not None]
        timer, self._timer = self._timer, None
        if timer is not None and timer.active():
            timer.cancel()
        if deadlines:
            delay = max(0.0, min(deadlines) - self.tier.clock())
            self._timer = self.tier.reactor.callLater(delay, self._expire)

    def _expire(self) -> None:
        self._timer = None
        now = self.tier.clock()
        for proto, session in self._sessions():
            self.tier.execute(proto, provided.expire(session, now))
        self._arm()

    # ---- the graph ------------------------------------------------------------------
    def _serve(self, name: str, type_name: str) -> Any:
        return self.tier.graph.serve(name, type_name, partial(self._on_call, name))

    def _listed(self, name: str) -> bool:
        return name in self.tier.graph.services()

    def _refusal(self, session, name: str, kind: str, text: str) -> list[Any]:
        return provided.refuse_advertise(session, name, kind, text)

    def release(self) -> None:
        """The tier stops serving: stop every provided service (their clients are being
        closed): their calls in flight fail now."""
        for proto, session in self._sessions():
            self.tier.execute(proto, provided.closed(session))
        self._close_all()
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
