"""Endpoints: several processes may serve one tier; each is an *endpoint* with an id.

An endpoint id names one running tier process in the directory. The configured
endpoint of a tier (the one ``up`` starts, or ``tier NAME`` on its configured port) is
called after the tier (``primary``); a replica started elsewhere defaults to
``<tier>@<host>:<port>`` (``primary@relay:9090``) or takes ``--endpoint NAME``.

On the graph an endpoint is a node: its lifecycle services are
``/<node>/get_state`` etc. and its heartbeat ``/websocket_redundancy/heartbeat/<node>``,
where ``node = node_name(endpoint)`` (the id with every character a ROS name cannot
hold replaced by ``_``: ``primary@relay:9090`` -> ``primary_relay_9090``). Two ids
that map to the same node name cannot run on one graph; give one ``--endpoint``.

``Registry`` decides when an endpoint enters and leaves the directory: on its first
heartbeat it is added; it is removed at once when it says it is leaving (its last
heartbeat has ``leaving: true`` or its state is ``finalized``), or when it has been
DOWN with its heartbeat publisher gone from the graph for ``forget_after`` seconds.
Configured endpoints are never removed (they are the configuration). Sans-IO.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

__all__ = ['Joined', 'Left', 'Registry', 'default_endpoint', 'node_name']

_LOCAL_HOSTS = ('', '0.0.0.0', '::', '127.0.0.1', 'localhost', '::1')


def node_name(endpoint: str) -> str:
    """The ROS node name of an endpoint id: ``[A-Za-z0-9_]``, not starting with a digit."""
    name = re.sub(r'[^A-Za-z0-9_]', '_', endpoint.strip()) or 'endpoint'
    return '_' + name if name[0].isdigit() else name


def default_endpoint(tier: str, configured_port: int, port: int | None, host: str,
                     hostname: str) -> str:
    """The endpoint id of a tier started without ``--endpoint``.

    On its configured port (or port 0, any free port, which is not known in advance)
    the endpoint is the tier's own (``primary``); elsewhere ``<tier>@<host>:<port>``,
    with the machine's name when ``host`` is a loopback or wildcard address (so two
    hosts do not clash).
    """
    if not port or port == configured_port:
        return tier
    where = hostname if host in _LOCAL_HOSTS else host
    return f'{tier}@{where}:{port}'


@dataclass(frozen=True)
class Joined:
    endpoint: str
    tier: str
    at: float


@dataclass(frozen=True)
class Left:
    endpoint: str
    reason: str  # 'left' (graceful) or 'gone' (DOWN and absent for forget_after)
    at: float


@dataclass
class _Entry:
    tier: str
    session: str
    absent_since: float | None = None


class Registry:
    """Which endpoints are in the directory; feed it heartbeats and presence."""

    def __init__(self, configured: Iterable[str] = (), forget_after: float = 10.0) -> None:
        if forget_after <= 0:
            raise ValueError(f'forget_after must be a positive number of seconds, '
                             f'got {forget_after!r}.')
        self.configured = frozenset(configured)
        self.forget_after = forget_after
        self._entries: dict[str, _Entry] = {}
        self._departed: dict[str, str] = {}  # endpoint -> session that said goodbye

    def known(self, endpoint: str) -> bool:
        return endpoint in self.configured or endpoint in self._entries

    def beat(self, endpoint: str, tier: str, session: str, now: float,
             leaving: bool = False) -> list[Joined | Left]:
        """When a heartbeat arrives: a new endpoint joins; a leaving one is removed."""
        if self._departed.get(endpoint) == session:
            return []  # in flight after its goodbye: not a sign of a new life
        self._departed.pop(endpoint, None)
        out: list[Joined | Left] = []
        entry = self._entries.get(endpoint)
        if entry is None:
            entry = self._entries[endpoint] = _Entry(tier, session)
            if endpoint not in self.configured:
                out.append(Joined(endpoint, tier, now))
        entry.session, entry.absent_since = session, None
        if leaving and endpoint not in self.configured:
            del self._entries[endpoint]
            self._departed[endpoint] = session
            out.append(Left(endpoint, 'left', now))
        return out

    def presence(self, endpoint: str, present: bool, now: float) -> None:
        """When the endpoint's heartbeat publisher appears on or vanishes from the graph."""
        entry = self._entries.get(endpoint)
        if entry is not None:
            if present:
                entry.absent_since = None
            elif entry.absent_since is None:
                entry.absent_since = now

    def expire(self, now: float, health: Callable[[str], str]) -> list[Left]:
        """When time passes: endpoints DOWN and absent for ``forget_after`` are removed."""
        out = []
        for endpoint, entry in list(self._entries.items()):
            if (endpoint not in self.configured and entry.absent_since is not None
                    and now >= entry.absent_since + self.forget_after
                    and health(endpoint) == 'DOWN'):
                del self._entries[endpoint]
                out.append(Left(endpoint, 'gone', now))
        return out

    def next_deadline(self) -> float | None:
        times = [e.absent_since + self.forget_after for name, e in self._entries.items()
                 if e.absent_since is not None and name not in self.configured]
        return min(times, default=None)
