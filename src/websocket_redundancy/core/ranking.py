"""Which tier a failover client should prefer, and how long it waits when none answers.

Small pure functions over :class:`TierInfo` (one entry of the status document's
``tiers`` list, or a bare bootstrap URL). The order is, most significant first:

1. health: UP, then UNKNOWN, then SUSPECT, then DOWN;
2. not full before full (a full tier refuses with 1013);
3. more of the application's topics in the tier's subscribe scope;
4. configured priority (0 is the most preferred);
5. lower load (clients / capacity);
6. name, then URL, so that the order is total and stable.

A tier whose scope is unknown (bootstrap URL, no directory yet) is assumed to cover
everything; one whose capacity is unknown is assumed empty.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .backoff import backoff
from .scope import Scope

HEALTH_ORDER = {'UP': 0, 'UNKNOWN': 1, 'SUSPECT': 2, 'DOWN': 3}


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

    @property
    def label(self) -> str:
        """The tier's name, or its URL when the directory has not named it."""
        return self.name or self.url

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


def rank_key(tier: TierInfo, topics: Iterable[str]) -> tuple:
    """The sort key of the module's order; smaller is better."""
    return (
        HEALTH_ORDER.get(tier.health, HEALTH_ORDER['UNKNOWN']),
        is_full(tier),
        -coverage(tier, topics),
        tier.priority,
        load(tier),
        tier.name,
        tier.url,
    )


def rank(tiers: Iterable[TierInfo], topics: Iterable[str]) -> list[TierInfo]:
    """The tiers, best first, for an application subscribed to ``topics``."""
    topics = tuple(topics)
    return sorted(tiers, key=lambda tier: rank_key(tier, topics))


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
            ))
        except (TypeError, ValueError) as exc:
            if str(exc).startswith('status document'):
                raise
            raise ValueError(f'status document: {where} has a non-numeric priority, '
                             f'clients or capacity ({exc}).') from exc
    return tiers
