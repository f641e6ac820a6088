"""The rover simulator's shell: a ``RoverModel`` publishing into a ``Graph``.

One scheduler thread runs a deadline loop (``Schedule``) that steps the model and
publishes each topic at the rates the README lists ("The simulated rover publishes").
Subscription callbacks (``/cmd_vel``, ``/emergency_stop``, ``/mission/command``) arrive on the
graph's thread; they only update the model under a lock and wake the loop, which
publishes an e-stop change at once. Messages are built under the lock and published
outside it, so a graph that delivers synchronously can call back in safely.

The sim publishes ``/emergency_stop`` itself; samples carrying its own publisher's
epoch are ignored, and only ``true`` acts (it latches), so its own state can never
re-trigger the stop after a ``reset_estop``.

It serves the ``/navigate_to_pose`` action (``sim.navigate``) where the graph knows
its type.

``tick(now)`` is the whole loop body and takes time as an argument, so tests drive
it with a fake clock and no thread.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..graph.port import Graph, GraphError, Publisher, Sample
from . import messages
from .model import MISSION_COMMANDS, RoverModel, RoverParams
from .navigate import NAV_ACTION, NAV_TYPE, NavigateAction
from .schedule import Schedule

logger = logging.getLogger(__name__)

ESTOP_TOPIC = "/emergency_stop"
CAMERA_TOPIC = "/camera/front/image/compressed"


@dataclass(frozen=True)
class TopicSpec:
    topic: str
    type_name: str
    rate_hz: float


TOPICS = (
    TopicSpec("/odom", "nav_msgs/msg/Odometry", 20.0),
    TopicSpec("/imu/data", "sensor_msgs/msg/Imu", 50.0),
    TopicSpec("/gps/fix", "sensor_msgs/msg/NavSatFix", 5.0),
    TopicSpec("/battery_state", "sensor_msgs/msg/BatteryState", 1.0),
    TopicSpec(ESTOP_TOPIC, "std_msgs/msg/Bool", 1.0),
    TopicSpec("/rover/state", "std_msgs/msg/String", 2.0),
    TopicSpec("/mission/state", "std_msgs/msg/String", 1.0),
    TopicSpec("/diagnostics", "diagnostic_msgs/msg/DiagnosticArray", 1.0),
    TopicSpec(CAMERA_TOPIC, "sensor_msgs/msg/CompressedImage", 5.0),
)

_BUILDERS: dict[str, messages.Builder] = {
    "/odom": messages.odometry,
    "/imu/data": messages.imu,
    "/gps/fix": messages.nav_sat_fix,
    "/battery_state": messages.battery_state,
    ESTOP_TOPIC: messages.emergency_stop,
    "/rover/state": messages.rover_state,
    "/mission/state": messages.mission_state,
    "/diagnostics": messages.diagnostics,
}


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"expected a number, got {value!r}")
    return float(value)


class RoverSim:
    """Publishes the simulated rover into ``graph`` and obeys its command topics."""

    def __init__(
        self,
        graph: Graph,
        clock: Callable[[], float] = time.monotonic,
        *,
        rate_factor: float = 1.0,
        wall_clock: Callable[[], float] = time.time,
        params: RoverParams | None = None,
        seed: int = 0,
    ) -> None:
        if not rate_factor > 0:
            raise ValueError(f"rate_factor must be positive, got {rate_factor!r}")
        self._clock = clock
        now = clock()
        self._wall_offset = wall_clock() - now  # header stamps: wall time, monotonic steps
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.model = RoverModel(now, params, seed)
        self._camera = messages.CameraFrames(seed)
        self._builders = dict(_BUILDERS, **{CAMERA_TOPIC: self._camera.message})
        self.schedule = Schedule({t.topic: 1.0 / (t.rate_hz * rate_factor) for t in TOPICS}, now)
        self._publishers: dict[str, Publisher] = {
            t.topic: graph.advertise(t.topic, t.type_name) for t in TOPICS
        }
        self._estop_epoch = self._publishers[ESTOP_TOPIC].epoch
        self._estop_published: bool | None = None
        self._handles = [
            graph.subscribe("/cmd_vel", self._on_cmd_vel, "geometry_msgs/msg/Twist"),
            graph.subscribe(ESTOP_TOPIC, self._on_estop, "std_msgs/msg/Bool"),
            graph.subscribe("/mission/command", self._on_mission_command, "std_msgs/msg/String"),
        ]
        self.navigate = NavigateAction(clock, self._wake.set)
        try:
            self._handles.append(graph.serve_action(NAV_ACTION, NAV_TYPE, self.navigate.on_goal))
        except GraphError as exc:
            logger.warning("the simulator serves no %s action: %s", NAV_ACTION, exc)

    # --------------------------------------------------------------- the loop

    def tick(self, now: float) -> float:
        """Step the model to ``now``, publish what is due; returns the next deadline."""
        with self._lock:
            self.model.step(now)
            due = self.schedule.due(now)
            if self.model.estop != self._estop_published and ESTOP_TOPIC not in due:
                due.append(ESTOP_TOPIC)  # on change, at once
            if ESTOP_TOPIC in due:
                self._estop_published = self.model.estop
            stamp = now + self._wall_offset
            navigation = self.navigate.tick(self.model, now, stamp)
            outgoing = [(topic, self._builders[topic](self.model, stamp)) for topic in due]
        for topic, msg in outgoing:
            try:
                self._publishers[topic].publish(msg)
            except GraphError:
                logger.exception("could not publish the simulated %s", topic)
        for step in navigation:  # feedback and goal ends of /navigate_to_pose
            step()
        return min(self.schedule.next_deadline(), self.navigate.next_deadline())

    def run(self) -> None:
        """The scheduler loop, on the calling thread, until ``stop()``."""
        logger.info("rover simulator running")
        while not self._stopping:
            next_deadline = self.tick(self._clock())
            self._wake.wait(max(0.0, next_deadline - self._clock()))
            self._wake.clear()

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the rover simulator is already started")
        self._thread = threading.Thread(target=self.run, name="rover-sim", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the loop, then drop subscriptions and publishers."""
        self._stopping = True
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        with self._lock:
            ending = self.navigate.close()
        for step in ending:
            step()
        for handle in self._handles:
            handle.close()
        for publisher in self._publishers.values():
            publisher.close()
        self._handles, self._publishers = [], {}

    # -------------------------------------------------------- command topics

    def _on_cmd_vel(self, sample: Sample) -> None:
        try:
            linear = _number(sample.msg.get("linear", {}).get("x", 0.0))
            angular = _number(sample.msg.get("angular", {}).get("z", 0.0))
        except (AttributeError, ValueError) as exc:
            logger.warning("ignoring a /cmd_vel that is not a Twist with numbers: %s", exc)
            return
        with self._lock:
            self.model.command_velocity(linear, angular, self._clock())

    def _on_estop(self, sample: Sample) -> None:
        if sample.epoch == self._estop_epoch:
            return  # our own state, not a request
        if sample.msg.get("data") is not True:
            return  # false does not release a latched stop; reset_estop does
        with self._lock:
            changed = self.model.engage_estop(self._clock())
        if changed:
            logger.warning("emergency stop latched by a /emergency_stop from %s", sample.epoch)
            self._wake.set()

    def _on_mission_command(self, sample: Sample) -> None:
        command = str(sample.msg.get("data", "")).strip().lower()
        with self._lock:
            known = self.model.mission_command(command, self._clock())
        if not known:
            logger.warning("ignoring mission command %r; expected one of %s",
                           command, ", ".join(MISSION_COMMANDS))
            return
        logger.info("mission command %r", command)
        self._wake.set()


def run_sim(
    graph: Graph,
    rate_factor: float = 1.0,
    stop_event: threading.Event | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Run the simulator until ``stop_event`` is set (forever without one)."""
    sim = RoverSim(graph, clock, rate_factor=rate_factor)
    sim.start()
    try:
        (stop_event or threading.Event()).wait()
    finally:
        sim.stop()
