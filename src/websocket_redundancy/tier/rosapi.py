"""The tier answers ``/rosapi/*`` itself: the graph's view in, ``core.rosapi`` decides.

A call first asks the graph for its nodes (``Graph.nodes``, a future: the embedded
graph asks its peers, rclpy reads its graph cache), then, on the reactor thread, takes
the graph's topics, services and type descriptions as they are at that moment and
answers with ``core.rosapi.answer`` under the tier's scope. Nothing is forwarded to the
graph, so no rosapi node has to run (and one that does is not asked).
"""
from __future__ import annotations

import os
import time
from typing import Any

from ..core import rosapi
from ..core.commands import CallService

NODES_TIMEOUT_S = 1.0  # peers that have not said what they hold by then are left out


def answer_call(service: Any, proto: Any, command: CallService) -> None:
    """Answer ``command`` (a call to ``/rosapi/<name>``) for ``proto`` on ``service``
    (the ``TierService``)."""
    session = service.clients[proto]
    graph = service.graph

    def finish(nodes_future) -> None:
        try:
            nodes = nodes_future.result()
        except Exception:  # noqa: BLE001 - without the nodes, answer from the rest
            nodes = {}
        view = rosapi.GraphView(
            topics={name: info.type_name for name, info in graph.topics().items()},
            services=graph.services(), nodes=nodes, fields=graph.message_fields,
            now=time.time(), distro=os.environ.get('ROS_DISTRO', ''))
        ok, values = rosapi.answer(command.service, command.args, service.tier, view)
        service._reply_if_connected(proto, session.service_response(command, ok, values))

    future = graph.nodes(min(command.timeout, NODES_TIMEOUT_S))
    future.add_done_callback(lambda fut: service.reactor.callFromThread(finish, fut))
