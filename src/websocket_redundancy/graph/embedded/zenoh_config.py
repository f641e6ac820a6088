"""Zenoh session configuration for the embedded graph: loopback peers, no broker.

Every process runs Zenoh in peer mode, listens on its own TCP endpoint and connects to
the endpoints of the others, retrying forever, so any process may die and restart
without the others losing each other. Gossip scouting lets a peer that knows only one
seed learn the rest. Multicast scouting is off: it is unreliable on loopback and would
touch non-loopback interfaces.

Without explicit endpoints a process uses the default port set
``tcp/127.0.0.1:7450`` .. ``:7457`` (``DEFAULT_PORTS``): it listens on the first port
of the set it can bind and connects to all the others, so up to eight processes on
one host find each other with no configuration. Nothing binds beyond 127.0.0.1.
With ``listen`` given and ``connect`` None, the process dials nobody and waits to be
dialled (a seed); with ``connect`` given and ``listen`` None, it claims a default port
and dials only ``connect``.
"""
from __future__ import annotations

import json
import logging

import zenoh

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORTS = tuple(range(7450, 7458))
DATA_QUEUE_BATCHES = 16  # of up to 64 KiB each, per link
RETRY = {"period_init_ms": 250, "period_max_ms": 2000, "period_increase_factor": 2}


def endpoint(port: int, host: str = DEFAULT_HOST) -> str:
    """The Zenoh TCP endpoint text for ``host:port``."""
    return f"tcp/{host}:{port}"


def default_endpoints() -> list[str]:
    """The default port set as endpoints, in the order processes claim them."""
    return [endpoint(port) for port in DEFAULT_PORTS]


def make_config(listen: list[str], connect: list[str]) -> zenoh.Config:
    """A peer-mode config that listens on ``listen`` and dials ``connect`` forever."""
    config = zenoh.Config()
    settings = {
        "mode": "peer",
        "listen/endpoints": listen,
        "listen/exit_on_failure": True,
        "connect/endpoints": connect,
        "connect/timeout_ms": 0 if not connect else -1,
        "connect/exit_on_failure": False,
        "connect/retry": RETRY,
        "scouting/multicast/enabled": False,
        "scouting/gossip/enabled": True,
        "scouting/gossip/autoconnect": ["peer"],
        "adminspace/enabled": False,
        "transport/shared_memory/enabled": False,
        "open/return_conditions/connect_scouted": False,
        # Zenoh's defaults (2 batches per link, drop after 1 ms) drop samples whenever
        # its sending thread is late by a millisecond, which a loaded 2-core rover
        # computer does all the time. A deeper queue absorbs that; the wait stays short
        # so that a hung peer (SIGSTOP) costs a publisher little until its lease ends.
        "transport/link/tx/queue/size/data": DATA_QUEUE_BATCHES,
        "transport/link/tx/queue/congestion_control/drop/wait_before_drop": 2000,
    }
    for key, value in settings.items():
        config.insert_json5(key, json.dumps(value))
    return config


def open_session(listen: list[str] | None, connect: list[str] | None) -> zenoh.Session:
    """Open a peer session; with ``listen`` None, claim the first free default port."""
    if listen is not None:
        return zenoh.open(make_config(listen, connect or []))
    candidates = default_endpoints()
    last_error: Exception | None = None
    for own in candidates:
        others = [e for e in candidates if e != own] if connect is None else connect
        try:
            session = zenoh.open(make_config([own], others))
        except zenoh.ZError as exc:  # port taken: try the next one
            last_error = exc
            continue
        log.info("embedded graph listening on %s", own)
        return session
    raise OSError(
        f"no free port among the default Zenoh endpoints {candidates[0]} .. {candidates[-1]};"
        f" pass listen=[...] explicitly ({last_error})"
    )
