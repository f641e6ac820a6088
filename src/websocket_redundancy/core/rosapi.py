"""rosapi, answered by the tier itself and filtered by the tier's scope.

roslibjs and roslibpy dashboards call ``/rosapi/*`` services when they start
(``getTopics``, ``getMessageDetails`` ...). No rosapi node has to run: the tier answers
``call_service`` to any ``/rosapi/<name>`` from ``answer(service, args, tier, view)``,
given a ``GraphView`` (what the graph knows right now, and the time), with the response
dict a rosapi 2.x node (``rosapi_msgs``) would send, or ``(False, sentence)``.

What a tier reveals (it must never name what is outside its scope):

* a topic, if the tier's subscribe scope or its publish scope allows it (so a client
  sees the type of what it may publish), ``/websocket_redundancy/**`` included;
* a service, if the tier's services scope allows it, and the rosapi services the tier
  answers (``SERVICES``);
* a node, if it publishes, subscribes or serves something visible; its details list
  only the visible names;
* a message or service type's details (``message_details``, ``service_*_details``,
  ``topics_and_raw_types``), if the type belongs to a standard interface package
  (``STANDARD_PACKAGES``), or is the type of a visible topic or service, or is nested
  in one of those;
* no parameters (values can name anything; an embedded graph has none).

A name outside the scope is answered as rosapi answers an unknown name (an empty
string or list), never with an error that would confirm it exists. As in rosapi,
hidden names (a segment starting with ``_``) are left out of lists, except the
``/_action/`` topics ``action_servers`` looks at. ``set_param`` and ``delete_param``
are refused on every tier with a failed ``service_response``.

Standard library only; time is an argument (``GraphView.now``).
"""
from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .settings import TierSettings
from .typedefs import ATOMICS, MessageFields, full_text, typedef, typedefs

PREFIX = '/rosapi/'
_SRV = 'rosapi_msgs/srv/'
SERVICES: dict[str, str] = {PREFIX + name: _SRV + kind for name, kind in (
    ('topics', 'Topics'), ('topics_for_type', 'TopicsForType'),
    ('topics_and_raw_types', 'TopicsAndRawTypes'), ('topic_type', 'TopicType'),
    ('services', 'Services'), ('services_for_type', 'ServicesForType'),
    ('service_type', 'ServiceType'), ('nodes', 'Nodes'), ('node_details', 'NodeDetails'),
    ('publishers', 'Publishers'), ('subscribers', 'Subscribers'),
    ('service_providers', 'ServiceProviders'), ('service_node', 'ServiceNode'),
    ('message_details', 'MessageDetails'),
    ('service_request_details', 'ServiceRequestDetails'),
    ('service_response_details', 'ServiceResponseDetails'),
    ('action_servers', 'GetActionServers'), ('action_type', 'ActionType'),
    ('interfaces', 'Interfaces'), ('get_param_names', 'GetParamNames'),
    ('get_param', 'GetParam'), ('has_param', 'HasParam'), ('set_param', 'SetParam'),
    ('delete_param', 'DeleteParam'), ('get_time', 'GetTime'),
    ('get_ros_version', 'GetROSVersion'),
)}
REFUSED = ('set_param', 'delete_param')
# Interface packages of ROS 2 itself (common_interfaces, rcl_interfaces, ...): their
# types are public knowledge, so any tier describes them.
STANDARD_PACKAGES = frozenset((
    'action_msgs', 'actionlib_msgs', 'builtin_interfaces', 'diagnostic_msgs',
    'geometry_msgs', 'lifecycle_msgs', 'nav_msgs', 'rcl_interfaces', 'rosapi_msgs',
    'rosgraph_msgs', 'sensor_msgs', 'service_msgs', 'shape_msgs', 'statistics_msgs',
    'std_msgs', 'std_srvs', 'stereo_msgs', 'tf2_msgs', 'trajectory_msgs',
    'type_description_interfaces', 'unique_identifier_msgs', 'visualization_msgs',
))


def is_rosapi(service: str) -> bool:
    """When ``service`` is under ``/rosapi/``, True: the tier answers it itself."""
    return service.startswith(PREFIX)


@dataclass(frozen=True)
class NodeInfo:
    """A node on the graph: what it publishes, subscribes to and serves (name -> type)."""

    name: str  # fully qualified: '/sim', '/ns/name'
    publishing: Mapping[str, str] = field(default_factory=dict)
    subscribing: Mapping[str, str] = field(default_factory=dict)
    services: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class GraphView:
    """What the graph knows at one moment, and that moment (wall time, seconds)."""

    topics: Mapping[str, str]  # topic -> type, topics with publishers
    services: Mapping[str, str]  # service -> type
    nodes: Mapping[str, NodeInfo]
    fields: Callable[[str], MessageFields | None]  # 'pkg/msg/Name' -> its fields, or None
    now: float = 0.0
    distro: str = ''


def answer(service: str, args: Mapping[str, Any], tier: TierSettings,
           view: GraphView) -> tuple[bool, dict[str, Any] | str]:
    """The rosapi response to ``service`` with ``args`` on ``tier``: ``(True, values)``,
    or ``(False, sentence)`` for a refused call, an unknown service or bad arguments."""
    name = service[len(PREFIX):]
    handler = _ANSWERS.get(name)
    if service not in SERVICES or (handler is None and name not in REFUSED):
        return False, (f'{service} is not a rosapi service this tier answers; it answers '
                       f'{", ".join(sorted(SERVICES))}')
    if name in REFUSED:
        return False, (f'{service} is refused: the {tier.name} tier does not change '
                       'parameters; set them on the node itself (ros2 param set/delete)')
    for key, value in args.items():
        if not isinstance(value, str):
            return False, (f"{service}: '{key}' must be a string, got {value!r}")
    return True, handler(_Scope(tier, view), {k: str(v) for k, v in args.items()})


# ---- what the tier may name ----------------------------------------------------------
def _normalize(type_name: str, kind: str) -> str | None:
    from .rosbridge import normalize_type  # here: the session imports this module
    return normalize_type(type_name, kind)


def _hidden(name: str) -> bool:
    return any(part.startswith('_') for part in name.split('/'))


class _Scope:
    """The graph as one tier sees it."""

    def __init__(self, tier: TierSettings, view: GraphView) -> None:
        self.tier, self.view = tier, view
        topics: dict[str, str] = {}
        services: dict[str, str] = {}
        for node in view.nodes.values():
            for group in (node.publishing, node.subscribing):
                for topic, type_name in group.items():
                    if type_name:
                        topics.setdefault(topic, type_name)
            services.update(node.services)
        topics.update(view.topics)
        services.update(view.services)
        services.update(SERVICES)
        self.all_topics = {t: k for t, k in topics.items() if self.topic_ok(t)}
        self.topics = {t: k for t, k in sorted(self.all_topics.items()) if not _hidden(t)}
        self.services = {s: k for s, k in sorted(services.items())
                         if self.service_ok(s) and not _hidden(s)}
        self._types: set[str] | None = None

    def topic_ok(self, topic: str) -> bool:
        return self.tier.allows_subscribe(topic) or self.tier.publish.allows(topic)

    def service_ok(self, service: str) -> bool:
        return service in SERVICES or self.tier.services.allows(service)

    def nodes(self) -> dict[str, NodeInfo]:
        """Nodes with something in scope, their details cut to visible names."""
        out = {}
        for name, node in sorted(self.view.nodes.items()):
            if _hidden(name):
                continue
            if not (any(t in self.all_topics for t in (*node.publishing, *node.subscribing))
                    or any(self.service_ok(s) for s in node.services)):
                continue  # nothing of it is in scope (hidden names count here)
            out[name] = NodeInfo(
                name,
                {t: k for t, k in sorted(node.publishing.items()) if t in self.topics},
                {t: k for t, k in sorted(node.subscribing.items()) if t in self.topics},
                {s: k for s, k in sorted(node.services.items()) if s in self.services})
        return out

    def type_ok(self, type_name: str) -> bool:
        """A standard type, or one a visible topic or service uses (nested ones too)."""
        if type_name.split('/')[0] in STANDARD_PACKAGES:
            return True
        if self._types is None:
            roots = set(self.all_topics.values())
            for kind in self.services.values():
                roots.update((kind + '_Request', kind + '_Response'))
            self._types = set()
            stack = list(roots)
            while stack:
                current = stack.pop()
                if current in self._types:
                    continue
                self._types.add(current)
                described = self.view.fields(current)
                for item in described.fields if described else ():
                    if item.type not in ATOMICS:
                        stack.append(item.type)
        return type_name in self._types

    def fields(self, type_name: str) -> MessageFields | None:
        return self.view.fields(type_name) if self.type_ok(type_name) else None


# ---- answers -------------------------------------------------------------------------
def _topics(scope: _Scope, args) -> dict[str, Any]:
    return {'topics': list(scope.topics), 'types': list(scope.topics.values())}


def _topics_for_type(scope: _Scope, args) -> dict[str, Any]:
    wanted = args.get('type', '')
    return {'topics': [t for t, k in scope.topics.items() if k == wanted]}


def _topic_type(scope: _Scope, args) -> dict[str, Any]:
    return {'type': scope.topics.get(args.get('topic', ''), '')}


def _topics_and_raw_types(scope: _Scope, args) -> dict[str, Any]:
    out = _topics(scope, args)
    out['typedefs_full_text'] = [full_text(scope.fields, k) for k in out['types']]
    return out


def _services(scope: _Scope, args) -> dict[str, Any]:
    return {'services': list(scope.services)}


def _services_for_type(scope: _Scope, args) -> dict[str, Any]:
    wanted = args.get('type', '')
    return {'services': [s for s, k in scope.services.items() if k == wanted]}


def _service_type(scope: _Scope, args) -> dict[str, Any]:
    return {'type': scope.services.get(args.get('service', ''), '')}


def _nodes(scope: _Scope, args) -> dict[str, Any]:
    return {'nodes': list(scope.nodes())}


def _node_details(scope: _Scope, args) -> dict[str, Any]:
    node = scope.nodes().get(args.get('node', ''))
    if node is None:  # rosapi itself fails on an unknown node; empty is what it means
        return {'subscribing': [], 'publishing': [], 'services': []}
    return {'subscribing': list(node.subscribing), 'publishing': list(node.publishing),
            'services': list(node.services)}


def _who(scope: _Scope, what: str, name: str) -> list[str]:
    return [n for n, node in scope.nodes().items() if name in getattr(node, what)]


def _publishers(scope: _Scope, args) -> dict[str, Any]:
    return {'publishers': _who(scope, 'publishing', args.get('topic', ''))}


def _subscribers(scope: _Scope, args) -> dict[str, Any]:
    return {'subscribers': _who(scope, 'subscribing', args.get('topic', ''))}


def _service_providers(scope: _Scope, args) -> dict[str, Any]:
    wanted = args.get('service', '')  # rosapi: a service *type*, despite the field's name
    return {'providers': [n for n, node in scope.nodes().items()
                          if wanted in node.services.values()]}


def _service_node(scope: _Scope, args) -> dict[str, Any]:
    found = _who(scope, 'services', args.get('service', ''))
    return {'node': found[0] if found else ''}


def _action_servers(scope: _Scope, args) -> dict[str, Any]:
    """Namespaces with both ``<ns>/_action/feedback`` and ``<ns>/_action/status``."""
    found: dict[str, set[str]] = {}
    for topic in scope.all_topics:
        namespace, _, tail = topic.rpartition('/_action/')
        if namespace and tail in ('feedback', 'status'):
            found.setdefault(namespace, set()).add(tail)
    return {'action_servers': sorted(ns for ns, tails in found.items() if len(tails) == 2)}


def _action_type(scope: _Scope, args) -> dict[str, Any]:
    kind = scope.all_topics.get(args.get('action', '') + '/_action/feedback', '')
    suffix = '_FeedbackMessage'
    return {'type': kind[:-len(suffix)] if kind.endswith(suffix) else ''}


def _interfaces(scope: _Scope, args) -> dict[str, Any]:
    return {'interfaces': sorted(set(scope.topics.values()) | set(scope.services.values()))}


def _message_details(scope: _Scope, args) -> dict[str, Any]:
    type_name = _normalize(args.get('type', ''), 'msg')
    if type_name is None or '/srv/' in type_name:
        return {'typedefs': []}
    return {'typedefs': typedefs(scope.fields, type_name, set())}


def _service_details(part: str):
    def details(scope: _Scope, args) -> dict[str, Any]:
        type_name = _normalize(args.get('type', ''), 'srv')
        if type_name is None or '/srv/' not in type_name:
            return {'typedefs': []}
        described = scope.fields(type_name + part)
        if described is None:
            return {'typedefs': []}
        out = [typedef(described)]
        seen: set[str] = set()
        for item in described.fields:
            out += typedefs(scope.fields, item.type, seen)
        return {'typedefs': out}
    return details


def _get_param_names(scope: _Scope, args) -> dict[str, Any]:
    return {'names': []}


def _get_param(scope: _Scope, args) -> dict[str, Any]:
    try:
        default = json.loads(args['default_value']) if args.get('default_value') else ''
    except ValueError:
        default = ''  # rosapi logs the bad default and uses ''
    return {'value': json.dumps(default), 'successful': False,
            'reason': f'no parameter {args.get("name", "")!r} is visible through the '
                      f'{scope.tier.name} tier'}


def _has_param(scope: _Scope, args) -> dict[str, Any]:
    return {'exists': False}


def _get_time(scope: _Scope, args) -> dict[str, Any]:
    sec = math.floor(scope.view.now)
    nanosec = min(999_999_999, round((scope.view.now - sec) * 1e9))
    return {'time': {'sec': sec, 'nanosec': nanosec}}


def _get_ros_version(scope: _Scope, args) -> dict[str, Any]:
    return {'version': 2, 'distro': scope.view.distro}


_ANSWERS: dict[str, Callable[[_Scope, dict[str, str]], dict[str, Any]]] = {
    'topics': _topics, 'topics_for_type': _topics_for_type,
    'topics_and_raw_types': _topics_and_raw_types, 'topic_type': _topic_type,
    'services': _services, 'services_for_type': _services_for_type,
    'service_type': _service_type, 'nodes': _nodes, 'node_details': _node_details,
    'publishers': _publishers, 'subscribers': _subscribers,
    'service_providers': _service_providers, 'service_node': _service_node,
    'message_details': _message_details,
    'service_request_details': _service_details('_Request'),
    'service_response_details': _service_details('_Response'),
    'action_servers': _action_servers, 'action_type': _action_type,
    'interfaces': _interfaces, 'get_param_names': _get_param_names,
    'get_param': _get_param, 'has_param': _has_param, 'get_time': _get_time,
    'get_ros_version': _get_ros_version,
}
