"""Helpers of the rclpy graph: message conversion, QoS choice and source keys.

Conversion uses rosbridge_library's ``message_conversion`` (outgoing messages through
``ros_extract``, its rules compiled once per type) so that a tier under ROS 2 emits
exactly the JSON a stock rosbridge server would (``uint8[]`` as base64 text,
``Time`` as ``{sec, nanosec}``, NaN/Inf as ``None``). Checked identical on
RobotWebTools/rosbridge_suite branches ``humble`` (2.0.0) and ``ros2`` (2.1.0):
``rosbridge_library/internal/message_conversion.py`` ``extract_values(inst)`` and
``populate_instance(msg, inst)``. It imports ``bson`` (pymongo; rosdep
``python3-bson``); a missing piece is reported as one sentence naming the fix.

Source keys (``Sample.epoch``/``Sample.seq``) -- see docs/ros2.md, "Resume keys":

* ``w<gid>`` + ``publication_sequence_number`` -- Jazzy, an rmw that reports sequence
  numbers (Fast DDS, Connext), one publisher on the topic: identical on every tier
  and dense, so resume and hole detection are exact.
* ``core.streamkeys.sparse_key(source_timestamp)`` -- every other sample with message
  info (Cyclone DDS; Humble, whose executor hands it on through ``InfoExecutor``;
  several publishers on one topic): the writer's timestamp, identical on every tier,
  one sparse stream per topic shared by its publishers; resume is exact, holes are
  never reported (``core.streamkeys``).
* ``r<graph>`` + arrival count -- no message info at all (a callback run by an
  executor that drops it): the epoch names the receiving graph instance, so keys from
  two tiers never compare equal; a failover to another tier is reported as ``epoch
  changed``.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from ..core.streamkeys import sparse_key
from .port import GraphError
from .ros_extract import Extractor

LOOK_AGAIN_S = 0.2  # at most this often while a topic's samples cannot be attributed
_INSTALL_HINT = (
    "the ROS 2 graph needs rosbridge_library and bson: on ROS 2 run `rosdep install "
    "--from-paths src -y --ignore-src` (keys rosbridge_library, python3-bson)"
)


def conversion():
    """rosbridge_library's ``message_conversion`` module, or ``GraphError`` naming the fix."""
    try:
        from rosbridge_library.internal import message_conversion
    except ImportError as exc:  # rosbridge_library itself, or bson (pymongo) under it
        raise GraphError(f"{_INSTALL_HINT} ({exc.name or exc} is missing)") from exc
    configure = getattr(message_conversion, "configure", None)
    if configure is not None:  # rosbridge_library 2.x: base64 for uint8[] unless told
        configure()  # otherwise; without it every uint8[] field fails ("not configured")
    return message_conversion


_extractor = None


def to_rosbridge(msg: Any) -> dict[str, Any]:
    """``message_conversion.extract_values(msg)``, compiled per type (``ros_extract``)."""
    global _extractor
    if _extractor is None:
        mc = conversion()
        _extractor = (Extractor(mc).extract if Extractor.usable(mc) else mc.extract_values)
    return _extractor(msg)


def to_cbor(msg: Any) -> dict[str, Any]:
    """A ROS message in rosbridge's CBOR form (rosbridge_library's own rule: byte
    sequences as bytes, numeric sequences as typed arrays)."""
    from rosbridge_library.internal.cbor_conversion import extract_cbor_values
    return extract_cbor_values(msg)


def decode_raw(cls: type, raw: bytes, topic: str,
               convert: Callable[[Any], dict[str, Any]] | None = None) -> dict[str, Any]:
    """A raw (serialized) sample of ``cls`` as rosbridge JSON (or ``convert``'s form);
    ``GraphError`` if it is not one."""
    from rclpy.serialization import deserialize_message
    try:
        return (convert or to_rosbridge)(deserialize_message(raw, cls))
    except GraphError:
        raise
    except Exception as exc:
        raise GraphError(f"{topic}: cannot decode a {cls.__module__}.{cls.__name__} sample: "
                         f"{exc}") from exc


def from_rosbridge(cls: type, msg: dict[str, Any], what: str) -> Any:
    """An instance of ``cls`` filled from ``msg``; ``GraphError`` naming the field."""
    mc = conversion()
    if not isinstance(msg, dict):
        raise GraphError(f"{what} must be a JSON object, got {type(msg).__name__}")
    try:
        return mc.populate_instance(msg, cls())
    except (mc.InvalidMessageException, mc.NonexistentFieldException,
            mc.FieldTypeMismatchException, TypeError, ValueError, AttributeError) as exc:
        raise GraphError(f"{what} does not fit {cls.__module__}.{cls.__name__}: {exc}") from None


def type_class(type_name: str, kind: str = "msg") -> type:
    """The generated class for ``pkg/msg/Name`` (``pkg/srv/Name``), or ``GraphError``."""
    from rosidl_runtime_py.utilities import get_message, get_service

    parts = type_name.split("/") if isinstance(type_name, str) else []
    if len(parts) != 3 or parts[1] != kind or not all(parts):
        raise GraphError(f"type name {type_name!r} must look like 'pkg/{kind}/Name'")
    try:
        return (get_message if kind == "msg" else get_service)(type_name)
    except (AttributeError, ModuleNotFoundError, ValueError) as exc:
        raise GraphError(f"unknown {kind} type {type_name!r}: {exc}; build and source the "
                         "package that defines it") from None


class SourceKeys:
    """Assigns ``(epoch, seq)`` to the samples of one topic (see the module docstring).

    ``publishers()`` returns the topic's publisher gids (hex); it is asked again when a
    key would go backwards, so a restarted publisher is noticed even when discovery
    lags behind its first samples.
    """

    def __init__(self, graph_id: str, publishers) -> None:
        self._graph_id = graph_id
        self._publishers = publishers
        self._gids: list[str] | None = None
        self._looked = 0.0  # monotonic time of the last look at the publishers
        self._last: dict[str, int] = {}
        self._arrivals = 0
        self._lock = threading.Lock()

    def key(self, info: dict[str, Any] | None) -> tuple[str, int]:
        with self._lock:
            if info:
                seq = info.get("publication_sequence_number")
                if isinstance(seq, int) and seq > 0:
                    key = self._attributed("w", seq)
                    if key is not None:
                        return key
                stamp = info.get("source_timestamp")
                if isinstance(stamp, int) and stamp > 0:
                    return sparse_key(stamp)
            self._arrivals += 1
            return "r" + self._graph_id, self._arrivals

    def _attributed(self, prefix: str, value: int) -> tuple[str, int] | None:
        if self._gids is None:
            self._look()
        for attempt in (0, 1):
            if len(self._gids) == 1:
                epoch = prefix + self._gids[0]
                if value > self._last.get(epoch, 0):
                    self._last[epoch] = value
                    return epoch, value
            if attempt == 0 and time.monotonic() - self._looked > LOOK_AGAIN_S:
                self._look()  # a publisher came or went (or discovery lagged): look again
        return None

    def _look(self) -> None:
        self._gids, self._looked = self._publishers(), time.monotonic()

    def forget_publishers(self) -> None:
        with self._lock:
            self._gids = None
