"""Which endpoint a failover client should prefer, and how long it waits when none answers.

Small pure functions over :class:`TierInfo` (one endpoint of the status document's
``tiers`` list, or a bare bootstrap URL). The order is, most significant first:

1. health: UP or SUSPECT, then UNKNOWN, then DOWN;
2. not full before full (a full endpoint refuses with 1013, so it is skipped);
3. more of the application's topics in the tier's subscribe scope;
4. configured priority (0 is the most preferred);
5. the *spread score*: load (clients / capacity) plus probe latency above a LAN noise
   floor (``(latency_ms - LATENCY_FLOOR_MS) / LATENCY_FULL_MS``), plus ``SPREAD_BAND`` times the client's own
   tie-breaker in [0, 1): replicas within ``SPREAD_BAND`` of each other are ordered by
   each client's random draw, so clients that start together spread over them, while
   a clearly less loaded or faster replica is always preferred;
6. name, endpoint, then URL, so that the order is total and stable.

Items 1-4 are the endpoint's *class* (``class_key``): a client moves to an endpoint of
a better class (failback) but never to a sibling replica of the same class just
because it is less loaded now; replicas share out *new* connections and take over a
failed sibling's clients first (the next in rank is the warm standby).

A tier whose scope is unknown (bootstrap URL, no directory yet) is assumed to cover
everything; one whose capacity is unknown is assumed empty.
"""
from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .backoff import backoff
from .scope import Scope

# SUSPECT ranks with UP: it is one witness's doubt (a late heartbeat on a busy host),
# not a failure. A client leaves a tier on its own evidence (close, missed heartbeats)
# or on a DOWN verdict, never because the coordinator hesitates; otherwise a CPU spike
# would move every client (a false failover).
HEALTH_ORDER = {'UP': 0, 'SUSPECT': 0, 'UNKNOWN': 1, 'DOWN': 2}
SPREAD_BAND = 0.02  # load difference (2 % of capacity) within which replicas are "tied"
LATENCY_FLOOR_MS = 10.0  # latency below this is noise (a busy host, a LAN) and counts 0
LATENCY_FULL_MS = 1000.0  # latency above the floor that weighs as much as a full endpoint


@dataclass(frozen=True)
class TierInfo:
    """What the client knows about one endpoint."""

    url: str
    name: str = ''
    priority: int = 0
    health: str = 'UNKNOWN'
    clients: int = 0
    capacity: int = 0  # 0: unknown
    subscribe: Scope | None = None  # None: unknown, assumed to allow everything
    publish: Scope | None = None
    lifecycle: str = ''
    endpoint: str = ''  # unique id from the directory ('' before it is known)
    latency_ms: float | None = None  # the coordinator's probe latency

    @property
    def label(self) -> str:
        """The endpoint id, else the tier's name, else its URL."""
        return self.endpoint or self.name or self.url

    def allows_subscribe(self, topic: str) -> bool:
        return self.subscribe is None or self.subscribe.allows(topic)

    def allows_publish(self, topic: str) -> bool:
        return self.publish is None or self.publish.allows(topic)


def load(tier: TierInfo) -> float:
    """Fraction of capacity in use; 0.0 when the capacity is unknown."""
    return tier.clients / tier.capacity if tier.capacity > 0 else 0.0


def is_full(tier: TierInfo) -> bool:
    """When the tier has as many clients as its capacity, True."""
    return tier.capacity > 0 and tier.clients >= tier.capacity


def coverage(tier: TierInfo, topics: Iterable[str]) -> int:
    """How many of ``topics`` the tier lets a client subscribe to."""
    return sum(1 for topic in topics if tier.allows_subscribe(topic))


def class_key(tier: TierInfo, topics: Iterable[str]) -> tuple:
    """Health, fullness, coverage, priority: what makes an endpoint *better*, not just
    less busy; smaller is better."""
    return (HEALTH_ORDER.get(tier.health, HEALTH_ORDER['UNKNOWN']), is_full(tier),
            -coverage(tier, topics), tier.priority)


def spread_score(tier: TierInfo) -> float:
    """Load plus probe latency above the floor (unknown latency counts as none)."""
    latency = tier.latency_ms if tier.latency_ms is not None else 0.0
    return load(tier) + max(0.0, latency - LATENCY_FLOOR_MS) / LATENCY_FULL_MS


def rank_key(tier: TierInfo, topics: Iterable[str], tiebreak: float = 0.0) -> tuple:
    """The sort key of the module's order with this client's ``tiebreak`` in [0, 1)
    for ``tier``; smaller is better."""
    return (*class_key(tier, topics), spread_score(tier) + SPREAD_BAND * tiebreak,
            tier.name, tier.endpoint, tier.url)


def tiebreaker(seed: float) -> Callable[[TierInfo], float]:
    """A client's stable random draw per endpoint URL, in [0, 1): the same client always
    orders tied replicas the same way (no flapping), two clients most likely not."""
    salt = repr(seed).encode()
    return lambda tier: zlib.crc32(salt + tier.url.encode()) / 2 ** 32


def rank(tiers: Iterable[TierInfo], topics: Iterable[str],
         tiebreak: Callable[[TierInfo], float] | None = None) -> list[TierInfo]:
    """The endpoints, best first, for an application subscribed to ``topics``."""
    topics = tuple(topics)
    draw = tiebreak or (lambda tier: 0.0)
    return sorted(tiers, key=lambda tier: rank_key(tier, topics, draw(tier)))


def bootstrap_tiers(urls: Sequence[str]) -> list[TierInfo]:
    """When only URLs are known, their order is their priority."""
    return [TierInfo(url=url, priority=index) for index, url in enumerate(urls)]


def backoff_delay(attempt: int, jitter: float, base_s: float = 0.1, cap_s: float = 5.0) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based), with ``jitter`` in [0, 1].

    Exponential, capped, with "equal jitter": between half and all of the step.
    """
    if not 0.0 <= jitter <= 1.0:
        raise ValueError(f'backoff jitter must be within [0, 1], got {jitter!r}.')
    return backoff(attempt, base_s, cap_s, 0.5, 1.0 - jitter)


def _scope(where: str, value: Any) -> Scope | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        raise ValueError(f'status document: {where} must be a list of glob strings, '
                         f'got {value!r}.')
    return Scope(tuple(value))


def _latency(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return None
    return float(value)


def tiers_from_status(doc: Mapping[str, Any]) -> list[TierInfo]:
    """The ``tiers`` of a status document (``GET /status``) as :class:`TierInfo`.

    A malformed entry raises ValueError naming the entry and the field.
    """
    entries = doc.get('tiers') if isinstance(doc, Mapping) else None
    if not isinstance(entries, list):
        raise ValueError("status document has no 'tiers' list; is the URL a tier's /status?")
    tiers = []
    for index, entry in enumerate(entries):
        where = f'tiers[{index}]'
        if not isinstance(entry, Mapping) or not isinstance(entry.get('url'), str):
            raise ValueError(f"status document: {where} needs a 'url' string.")
        scope = entry.get('scope') or {}
        if not isinstance(scope, Mapping):
            raise ValueError(f"status document: {where}.scope must be an object.")
        try:
            tiers.append(TierInfo(
                url=entry['url'],
                name=str(entry.get('name') or ''),
                priority=int(entry.get('priority', 0)),
                health=str(entry.get('health') or 'UNKNOWN'),
                clients=int(entry.get('clients') or 0),
                capacity=int(entry.get('capacity') or 0),
                subscribe=_scope(f'{where}.scope.subscribe', scope.get('subscribe')),
                publish=_scope(f'{where}.scope.publish', scope.get('publish')),
                lifecycle=str(entry.get('lifecycle') or ''),
                endpoint=str(entry.get('endpoint') or ''),
                latency_ms=_latency(entry.get('probe_latency_ms')),
            ))
        except (TypeError, ValueError) as exc:
            if str(exc).startswith('status document'):
                raise
            raise ValueError(f'status document: {where} has a non-numeric priority, '
                             f'clients or capacity ({exc}).') from exc
    return tiers
