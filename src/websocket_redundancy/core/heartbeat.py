"""The heartbeat format, in one place: what a tier says about itself, built and read here.

Two heartbeats, both ``std_msgs/msg/String`` with JSON in ``data``:

* the **client heartbeat** on ``/websocket_redundancy/heartbeat`` (``HEARTBEAT_TOPIC``),
  sent by a tier to its own WebSocket clients from its event loop (>= 10 Hz): ``tier``,
  ``session``, ``seq``, ``sent`` -- a hung tier goes quiet at once;
* the **graph heartbeat** on ``/websocket_redundancy/heartbeat/<node>``, 20 Hz, in every
  lifecycle state, from the embedded tier and the ROS tier alike: the endpoint's
  directory entry (tier, endpoint, node, url, port, scope, priority, clients without the
  coordinator's probes, capacity, host, pid, session, tick, state) and, in its last
  message, ``leaving: true``. The coordinator watches it and registers endpoints by it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .endpoints import node_name
from .settings import HEARTBEAT_TOPIC, TierSettings

HEARTBEAT_TYPE = 'std_msgs/msg/String'
GRAPH_HEARTBEAT = HEARTBEAT_TOPIC + '/'  # + the node name
GRAPH_HEARTBEAT_HZ = 20.0
CLIENT_TOPIC = HEARTBEAT_TOPIC

_COMPACT = (',', ':')


def client_heartbeat(tier: str, session: str, seq: int, sent: float) -> dict[str, Any]:
    """The message a tier sends its clients on ``/websocket_redundancy/heartbeat``."""
    return {'data': json.dumps({'tier': tier, 'session': session, 'seq': seq,
                                'sent': round(sent, 6)}, separators=_COMPACT)}


@dataclass(frozen=True)
class Presence:
    """What a running tier process knows about itself at one heartbeat."""

    endpoint: str
    session: str
    pid: int
    host: str
    tick: int
    seq: int
    state: str  # lifecycle label
    port: int | None  # bound port, or the one it will bind
    clients: int  # WebSocket clients, the coordinator's probes not counted
    tls: bool
    sent: float
    leaving: bool = False


def graph_heartbeat(tier: TierSettings, me: Presence) -> dict[str, Any]:
    """The message on ``GRAPH_HEARTBEAT + node_name(me.endpoint)``."""
    beat = {
        'tier': tier.name, 'endpoint': me.endpoint, 'node': node_name(me.endpoint),
        'session': me.session, 'pid': me.pid, 'host': me.host, 'tick': me.tick,
        'seq': me.seq, 'state': me.state, 'port': me.port or tier.port or None,
        'priority': tier.priority, 'clients': me.clients, 'capacity': tier.capacity,
        'scope': {'subscribe': list(tier.subscribe.patterns),
                  'publish': list(tier.publish.patterns)},
        'sent': me.sent,
    }
    if beat['port']:  # on "any free port" (0) there is no URL until it listens
        beat['url'] = tier.public_url(beat['port'], me.tls)
    if me.leaving:
        beat['leaving'] = True
    return {'data': json.dumps(beat, separators=_COMPACT)}


@dataclass(frozen=True)
class Beat:
    """A graph heartbeat as the coordinator reads it."""

    tier: str
    session: str
    tick: int
    seq: int
    state: str
    pid: int | None
    raw: dict[str, Any]
    endpoint: str = ''
    leaving: bool = False


def parse_graph_heartbeat(node: str, msg: dict[str, Any]) -> Beat | None:
    """When a heartbeat arrives on ``GRAPH_HEARTBEAT + node``: its fields, or None if
    malformed. A heartbeat without ``endpoint`` (an older tier) is the endpoint named
    after its node; one whose endpoint is not ``node`` as a ROS name is malformed."""
    try:
        beat = json.loads(msg.get('data', ''))
    except (ValueError, TypeError, AttributeError):
        return None
    if not isinstance(beat, dict):
        return None
    tier, endpoint = beat.get('tier', node), beat.get('endpoint', node)
    session, tick, seq = beat.get('session'), beat.get('tick'), beat.get('seq', 0)
    if not isinstance(session, str) or not is_int(tick) or not is_int(seq):
        return None
    if not (isinstance(tier, str) and tier and isinstance(endpoint, str) and endpoint
            and node_name(endpoint) == node):
        return None
    state = beat.get('state')
    state = state if isinstance(state, str) else ''
    pid = beat.get('pid')
    return Beat(tier, session, tick, seq, state, pid if is_int(pid) else None, beat,
                endpoint, beat.get('leaving') is True or state == 'finalized')


def is_int(value: object) -> bool:
    """An int that is not a bool (JSON true is not a count)."""
    return isinstance(value, int) and not isinstance(value, bool)
