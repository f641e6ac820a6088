"""Nodes and type descriptions of the embedded graph (what rosapi answers from).

Every graph instance is one node, ``/<name>``. It keeps what it publishes, subscribes
and serves (``LocalNode``) and answers a query on ``wr/<domain>/node/<id>`` with it as
JSON; ``gather`` asks every node at once and completes a future with the nodes that
answered before the timeout (so a node that is gone is simply absent).

``fields_of`` describes a type of the rosbags type store the way rosidl does (field
types ``double``/``boolean``/``octet``..., ``pkg/msg/Name`` for nested ones, array
lengths -1/0/N, the default of each primitive field); rosbags keeps no default values
from the definitions, so a field with a non-zero default (``Quaternion.w``) shows zero.
"""
from __future__ import annotations

import json
import logging
import secrets
import threading
from collections import Counter
from concurrent.futures import Future, InvalidStateError
from typing import Any

import zenoh
from rosbags.interfaces import Nodetype
from zenoh.handlers import Callback

from ..port import FieldDef, MessageFields, NodeInfo
from .typestore import msgdef_of

log = logging.getLogger(__name__)
_GROUPS = {'pub': 'publishing', 'sub': 'subscribing', 'srv': 'services'}
_IDL = {'float64': 'double', 'float32': 'float', 'bool': 'boolean', 'byte': 'octet',
        'char': 'uint8'}
_DEFAULTS = {'boolean': 'False', 'double': '0.0', 'float': '0.0', 'string': '',
             'wstring': '', 'octet': "b'\\x00'"}
_PLACEHOLDER = 'structure_needs_at_least_one_member'  # rosidl's Python types have none
_RULE = '\n' + '=' * 80 + '\n'


def node_key(prefix: str, node_id: str) -> str:
    return f'{prefix}/node/{node_id}'


class LocalNode:
    """This graph instance as a node: its entities, counted (two subscriptions of one
    topic are one line in rosapi's answer until both are closed)."""

    def __init__(self, name: str) -> None:
        self.name = '/' + (name.strip('/') or 'graph')
        self.node_id = secrets.token_hex(8)
        self._lock = threading.Lock()
        self._entities: Counter[tuple[str, str, str]] = Counter()

    def add(self, kind: str, name: str, type_name: str) -> tuple[str, str, str]:
        entry = (kind, name, type_name or '')
        with self._lock:
            self._entities[entry] += 1
        return entry

    def remove(self, entry: tuple[str, str, str]) -> None:
        with self._lock:
            self._entities[entry] -= 1
            if self._entities[entry] <= 0:
                del self._entities[entry]

    def info(self) -> NodeInfo:
        groups: dict[str, dict[str, str]] = {group: {} for group in _GROUPS.values()}
        with self._lock:
            entries = sorted(self._entities)
        for kind, name, type_name in entries:
            group = groups[_GROUPS[kind]]
            if type_name or name not in group:
                group[name] = type_name
        return NodeInfo(self.name, **groups)

    def on_query(self, query: zenoh.Query) -> None:
        info = self.info()
        query.reply(query.key_expr, json.dumps({
            'id': self.node_id, 'name': info.name, 'publishing': info.publishing,
            'subscribing': info.subscribing, 'services': info.services}))


def gather(session: Any, prefix: str, local: LocalNode,
           timeout: float) -> Future[dict[str, NodeInfo]]:
    """Every node's ``NodeInfo`` by name; this one's without asking."""
    future: Future[dict[str, NodeInfo]] = Future()
    found = {local.name: local.info()}
    lock = threading.Lock()

    def on_reply(reply: zenoh.Reply) -> None:
        if reply.ok is None:
            return
        try:
            data = json.loads(reply.ok.payload.to_string())
            if data['id'] == local.node_id:
                return
            info = NodeInfo(str(data['name']), dict(data['publishing']),
                            dict(data['subscribing']), dict(data['services']))
        except (ValueError, KeyError, TypeError) as exc:
            log.warning('a node answered the node query with %s; ignored', exc)
            return
        with lock:
            found.setdefault(info.name, info)

    def on_done() -> None:
        with lock:
            result = dict(found)
        try:
            future.set_result(result)
        except InvalidStateError:
            pass

    try:
        session.get(node_key(prefix, '*'), Callback(on_reply, on_done), timeout=timeout,
                    consolidation=zenoh.ConsolidationMode.NONE)
    except zenoh.ZError as exc:  # a closed session: this node is all we know
        log.warning('cannot ask the graph for its nodes: %s', exc)
        on_done()
    return future


def _field(name: str, node: tuple[Any, Any]) -> FieldDef:
    kind, detail = node
    array_len = -1
    if kind in (Nodetype.ARRAY, Nodetype.SEQUENCE):
        (kind, detail), length = detail
        array_len = length if node[0] == Nodetype.ARRAY else 0
    if kind == Nodetype.NAME:
        return FieldDef(name, detail, array_len)
    base = _IDL.get(detail[0], detail[0])
    return FieldDef(name, base, array_len, _DEFAULTS.get(base, '0'))


def fields_of(typestore: Any, type_name: str) -> MessageFields | None:
    """``type_name`` as rosidl would describe it, or None if the store lacks it."""
    found = typestore.fielddefs.get(type_name)
    if found is None:
        return None
    constants, fields = found
    try:
        text = msgdef_of(typestore, type_name).split(_RULE)[0]
    except Exception:  # noqa: BLE001 - the text is optional; fields still answer
        text = ''
    return MessageFields(
        type_name,
        tuple(_field(name, node) for name, node in fields if name != _PLACEHOLDER),
        tuple((name, str(value)) for name, _, value in constants),
        text)
