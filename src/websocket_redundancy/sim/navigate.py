"""The simulated rover's ``/navigate_to_pose`` action (``nav2_msgs/action/NavigateToPose``).

The type is Nav2's, so a mission control written against the simulator works against
a rover running Nav2: on the embedded graph it is built into the type store (Nav2's
Jazzy definition); under ROS 2 it exists where ``nav2_msgs`` is installed, and the
simulator runs without the action (and says so) where it is not.

A goal is the point ``pose.pose.position`` (x, y) in the ``odom`` frame (an empty
``frame_id`` means ``odom``); the rover drives there and the goal succeeds within the
model's arrival radius. While it drives: feedback at ``FEEDBACK_HZ`` (current pose,
navigation time, estimated time remaining, distance remaining). A cancel stops the
rover and ends the goal canceled; a newer goal preempts the running one (aborted, as
Nav2's BT navigator does for a goal it replaces); the e-stop aborts it.

``tick(model, now, stamp)`` runs under the simulator's lock and returns what to do
outside it (publish feedback, finish goals), so a graph that delivers synchronously can
call back in. Goals arrive on graph threads through ``on_goal``.
"""
from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from typing import Any

from ..graph.port import GOAL_ABORTED, GOAL_CANCELED, GOAL_SUCCEEDED, ServerGoal
from .messages import ODOM_FRAME, header, stamp_of
from .model import RoverModel

log = logging.getLogger(__name__)
NAV_ACTION = "/navigate_to_pose"
NAV_TYPE = "nav2_msgs/action/NavigateToPose"
FEEDBACK_HZ = 5.0
UNKNOWN_ERROR = 9000  # nav2_msgs NavigateToPose Result.UNKNOWN (Nav2 >= Kilted names it)


def _duration(seconds: float) -> dict[str, int]:
    stamp = stamp_of(max(0.0, seconds))
    return {"sec": stamp["sec"], "nanosec": stamp["nanosec"]}


def _result(error_code: int = 0, error_msg: str = "") -> dict[str, Any]:
    return {"error_code": error_code, "error_msg": error_msg}


class NavigateAction:
    """The goal the rover drives to, between the graph's threads and the sim's loop."""

    def __init__(self, clock: Callable[[], float], wake: Callable[[], None]) -> None:
        self._clock, self._wake = clock, wake
        self._lock = threading.Lock()  # guards _incoming only; the rest is the sim's
        self._incoming: list[ServerGoal] = []
        self.goal: ServerGoal | None = None
        self._started = 0.0
        self._next_feedback = 0.0

    # ---- graph threads ---------------------------------------------------------
    def on_goal(self, goal: ServerGoal) -> None:
        goal.on_cancel = self._wake
        with self._lock:
            self._incoming.append(goal)
        self._wake()

    # ---- the sim's loop, under its lock ----------------------------------------
    def tick(self, model: RoverModel, now: float, stamp: float) -> list[Callable[[], None]]:
        """Advance the goal; the returned calls publish and finish, outside the lock."""
        out: list[Callable[[], None]] = []
        with self._lock:
            incoming, self._incoming = self._incoming, []
        for goal in incoming:
            target = self._target(goal)
            if isinstance(target, str):
                out.append(lambda g=goal, t=target: g.finish(GOAL_ABORTED, _result(UNKNOWN_ERROR, t)))
                continue
            if self.goal is not None:
                out.append(self._end(GOAL_ABORTED, _result(UNKNOWN_ERROR, "preempted by a newer goal")))
            self.goal, self._started, self._next_feedback = goal, now, now
            model.navigate_to(*target, now)
        goal = self.goal
        if goal is None:
            return out
        if goal.cancel_requested:
            model.stop_navigation(now)
            out.append(self._end(GOAL_CANCELED, _result(0, "canceled")))
        elif model.estop:
            model.stop_navigation(now)
            out.append(self._end(GOAL_ABORTED, _result(UNKNOWN_ERROR, "emergency stop")))
        elif model.nav_arrived():
            out.append(self._feedback(goal, model, now, stamp))
            model.stop_navigation(now)
            out.append(self._end(GOAL_SUCCEEDED, _result()))
        elif now >= self._next_feedback:
            self._next_feedback = max(self._next_feedback + 1.0 / FEEDBACK_HZ, now)
            out.append(self._feedback(goal, model, now, stamp))
        return out

    def next_deadline(self) -> float:
        return self._next_feedback if self.goal is not None else math.inf

    def close(self) -> list[Callable[[], None]]:
        return [self._end(GOAL_ABORTED, _result(UNKNOWN_ERROR, "the simulator stopped"))] \
            if self.goal is not None else []

    def _end(self, status: int, result: dict[str, Any]) -> Callable[[], None]:
        goal, self.goal = self.goal, None
        return lambda: goal.finish(status, result)

    def _feedback(self, goal: ServerGoal, model: RoverModel, now: float,
                  stamp: float) -> Callable[[], None]:
        distance = model.nav_distance()
        speed = model.params.max_speed * 0.6
        values = {
            "current_pose": {"header": header(stamp, ODOM_FRAME), "pose": {
                "position": {"x": model.x, "y": model.y, "z": 0.0},
                "orientation": {"x": 0.0, "y": 0.0, "z": math.sin(model.yaw / 2),
                                "w": math.cos(model.yaw / 2)}}},
            "navigation_time": _duration(now - self._started),
            "estimated_time_remaining": _duration(distance / speed),
            "number_of_recoveries": 0,
            "distance_remaining": distance,
        }
        return lambda: goal.publish_feedback(values)

    @staticmethod
    def _target(goal: ServerGoal) -> tuple[float, float] | str:
        """(x, y) in odom, or why the goal cannot be driven to."""
        pose = goal.request.get("pose") or {}
        frame = (pose.get("header") or {}).get("frame_id") or ODOM_FRAME
        if frame != ODOM_FRAME:
            return f"frame {frame!r} is unknown; the simulator navigates in {ODOM_FRAME!r}"
        position = (pose.get("pose") or {}).get("position") or {}
        x, y = position.get("x", 0.0), position.get("y", 0.0)
        if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in (x, y)):
            return "pose.pose.position needs finite x and y"
        return float(x), float(y)
