"""Which endpoints' heartbeats the coordinator listens to, found on the graph.

Every endpoint publishes ``/websocket_redundancy/heartbeat/<node>`` and
``/<node>/transition_event``. The configured tiers' nodes are watched from the start;
``look()`` (called every presence period) lists the heartbeat topics whose publisher is
live on the graph, subscribes to the ones not yet watched (a tier started anywhere
registers itself this way) and drops the subscriptions of non-configured nodes whose
publisher is gone. It decides nothing about health or the directory.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

from ..core.heartbeat import GRAPH_HEARTBEAT, HEARTBEAT_TYPE
from ..graph.port import Graph

Handler = Callable[[str, object], None]  # (node, sample)


class HeartbeatWatch:
    def __init__(self, graph: Graph, fixed: Iterable[str], on_heartbeat: Handler,
                 on_transition: Handler) -> None:
        self.graph = graph
        self._fixed = frozenset(fixed)
        self._on_heartbeat, self._on_transition = on_heartbeat, on_transition
        self._subs: dict[str, list] = {}
        for node in sorted(self._fixed):
            self._watch(node)

    def _watch(self, node: str) -> None:
        self._subs[node] = [
            self.graph.subscribe(GRAPH_HEARTBEAT + node,
                                 lambda sample: self._on_heartbeat(node, sample),
                                 HEARTBEAT_TYPE),
            self.graph.subscribe(f'/{node}/transition_event',
                                 lambda sample: self._on_transition(node, sample),
                                 'lifecycle_msgs/msg/TransitionEvent'),
        ]

    def look(self) -> set[str]:
        """The nodes whose heartbeat publisher is live now; new ones are watched."""
        live = {topic[len(GRAPH_HEARTBEAT):] for topic in self.graph.topics()
                if topic.startswith(GRAPH_HEARTBEAT) and len(topic) > len(GRAPH_HEARTBEAT)}
        for node in sorted(live - self._subs.keys()):
            self._watch(node)
        for node in list(self._subs.keys() - live - self._fixed):
            for handle in self._subs.pop(node):
                handle.close()
        return live

    def close(self) -> None:
        for handles in self._subs.values():
            for handle in handles:
                handle.close()
        self._subs = {}
