"""The simulated rover's physics and state, with time as an argument.

A unicycle that follows either a recent ``/cmd_vel`` (manual), a navigation goal
(``navigate_to``: pursuit of one point, the ``/navigate_to_pose`` action) or, while a
mission runs, a simple pursuit of the current leg's waypoint (auto). An e-stop latches: the
rover halts and ignores commands until ``reset_estop``. The battery drains, faster
when driving. No clocks, threads or sleeps: every input and ``step`` takes ``now``
(seconds, any monotonic origin), so tests drive it deterministically.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass

EARTH_RADIUS_M = 6_371_000.0


@dataclass(frozen=True)
class RoverParams:
    """Fixed characteristics of the simulated rover and its site."""

    origin_lat: float = 38.406  # Mars Desert Research Station area, Utah
    origin_lon: float = -110.792
    origin_alt: float = 1380.0
    max_speed: float = 1.5  # m/s
    max_turn_rate: float = 1.5  # rad/s
    max_accel: float = 1.0  # m/s^2
    max_turn_accel: float = 3.0  # rad/s^2
    cmd_timeout: float = 0.5  # s without /cmd_vel -> stop
    capacity_ah: float = 20.0
    idle_current_a: float = 2.0
    drive_current_a: float = 12.0  # extra amps at max speed
    waypoints: tuple[tuple[float, float], ...] = ((25.0, 0.0), (25.0, 20.0), (0.0, 20.0), (0.0, 0.0))
    arrive_radius: float = 1.0  # m
    max_step: float = 0.05  # s; longer gaps are integrated in substeps


MISSION_COMMANDS = ("start", "pause", "next_leg", "reset_estop")


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def _approach(value: float, target: float, max_delta: float) -> float:
    return value + _clamp(target - value, -max_delta, max_delta)


def _wrap_angle(angle: float) -> float:
    return math.atan2(math.sin(angle), math.cos(angle))


class RoverModel:
    """Rover state advanced by ``step(now)``; inputs are methods taking ``now``."""

    def __init__(self, now: float, params: RoverParams | None = None, seed: int = 0) -> None:
        self.params = params or RoverParams()
        self.rng = random.Random(seed)  # sensor noise, deterministic per seed
        self.now = now
        self.x = self.y = self.yaw = 0.0  # odom frame: x east, y north, yaw from east
        self.speed = self.turn_rate = 0.0  # actual
        self.accel = 0.0  # longitudinal, last step
        self.cmd_linear = self.cmd_angular = 0.0
        self.cmd_time: float | None = None
        self.estop = False
        self.mission_running = False
        self.leg = 0
        self.mission_done = False
        self.mission_started = False
        self.charge_ah = self.params.capacity_ah * 0.95
        self.current_a = -self.params.idle_current_a
        self.distance_m = 0.0
        self.nav_goal: tuple[float, float] | None = None  # odom x, y of a navigation goal

    # ----------------------------------------------------------------- inputs

    def command_velocity(self, linear: float, angular: float, now: float) -> None:
        """A ``/cmd_vel``; ignored while the e-stop is latched."""
        self.step(now)
        if self.estop:
            return
        p = self.params
        self.cmd_linear = _clamp(linear, -p.max_speed, p.max_speed)
        self.cmd_angular = _clamp(angular, -p.max_turn_rate, p.max_turn_rate)
        self.cmd_time = now

    def engage_estop(self, now: float) -> bool:
        """Latch the e-stop and halt; returns whether this changed anything."""
        self.step(now)
        changed = not self.estop
        self.estop = True
        self.speed = self.turn_rate = self.accel = 0.0
        self.cmd_time = None
        return changed

    def navigate_to(self, x: float, y: float, now: float) -> None:
        """Drive to odom point (x, y) (it takes over from a running mission's legs)."""
        self.step(now)
        self.nav_goal = (x, y)

    def stop_navigation(self, now: float) -> None:
        self.step(now)
        self.nav_goal = None

    def mission_command(self, command: str, now: float) -> bool:
        """Apply one of ``MISSION_COMMANDS``; returns False for an unknown command."""
        self.step(now)
        if command == "start":
            if self.mission_done:
                self.leg, self.mission_done = 0, False
            self.mission_running = self.mission_started = True
        elif command == "pause":
            self.mission_running = False
        elif command == "next_leg":
            self._advance_leg()
        elif command == "reset_estop":
            self.estop = False
        else:
            return False
        return True

    # ------------------------------------------------------------------ physics

    def step(self, now: float) -> None:
        """Advance the state to ``now``; earlier times are ignored."""
        while now > self.now:
            dt = min(self.params.max_step, now - self.now)
            self._integrate(dt)
            self.now += dt

    def _integrate(self, dt: float) -> None:
        p = self.params
        target_v, target_w = self._targets()
        old_speed = self.speed
        self.speed = _approach(self.speed, target_v, p.max_accel * dt)
        self.turn_rate = _approach(self.turn_rate, target_w, p.max_turn_accel * dt)
        self.accel = (self.speed - old_speed) / dt
        self.yaw = _wrap_angle(self.yaw + self.turn_rate * dt)
        self.x += self.speed * math.cos(self.yaw) * dt
        self.y += self.speed * math.sin(self.yaw) * dt
        self.distance_m += abs(self.speed) * dt
        self.current_a = -(p.idle_current_a + p.drive_current_a * abs(self.speed) / p.max_speed)
        self.charge_ah = max(0.0, self.charge_ah + self.current_a * dt / 3600.0)
        if (self.mission_running and self.nav_goal is None
                and self.distance_to_target() < p.arrive_radius):
            self._advance_leg()

    def _targets(self) -> tuple[float, float]:
        if self.estop:
            return 0.0, 0.0
        if self.manual_active():
            return self.cmd_linear, self.cmd_angular
        if self.nav_goal is not None:
            if self.nav_distance() < self.params.arrive_radius:
                return 0.0, 0.0
            return self._pursuit(self.nav_goal)
        if self.mission_running:
            return self._pursuit(self.target())
        return 0.0, 0.0

    def _pursuit(self, target: tuple[float, float]) -> tuple[float, float]:
        p = self.params
        tx, ty = target
        heading_error = _wrap_angle(math.atan2(ty - self.y, tx - self.x) - self.yaw)
        turn = _clamp(2.0 * heading_error, -p.max_turn_rate, p.max_turn_rate)
        speed = p.max_speed * 0.6 * max(0.0, math.cos(heading_error))
        return min(speed, math.hypot(tx - self.x, ty - self.y)), turn

    def _advance_leg(self) -> None:
        if self.leg + 1 < len(self.params.waypoints):
            self.leg += 1
        else:
            self.mission_running, self.mission_done = False, True

    # ----------------------------------------------------------------- readouts

    def manual_active(self) -> bool:
        return self.cmd_time is not None and self.now - self.cmd_time <= self.params.cmd_timeout

    def target(self) -> tuple[float, float]:
        return self.params.waypoints[self.leg]

    def nav_distance(self) -> float:
        """Metres to the navigation goal (0 without one)."""
        if self.nav_goal is None:
            return 0.0
        return math.hypot(self.nav_goal[0] - self.x, self.nav_goal[1] - self.y)

    def nav_arrived(self) -> bool:
        return self.nav_goal is not None and self.nav_distance() < self.params.arrive_radius

    def distance_to_target(self) -> float:
        tx, ty = self.target()
        return math.hypot(tx - self.x, ty - self.y)

    def leg_progress(self) -> float:
        """Fraction of the current leg covered, 0..1 (1 once the mission is done)."""
        if self.mission_done:
            return 1.0
        start = self.params.waypoints[self.leg - 1] if self.leg else (0.0, 0.0)
        length = math.dist(start, self.target())
        return 1.0 if length == 0 else _clamp(1.0 - self.distance_to_target() / length, 0.0, 1.0)

    def mode(self) -> str:
        if self.estop:
            return "estop"
        if self.manual_active():
            return "manual"
        return "auto" if self.mission_running or self.nav_goal is not None else "idle"

    def nav_status(self) -> str:
        if self.estop:
            return "stopped"
        if self.nav_goal is not None:
            return "navigating"
        if self.mission_done:
            return "succeeded"
        if self.mission_running:
            return "navigating"
        return "paused" if self.mission_started else "idle"

    def battery_fraction(self) -> float:
        return self.charge_ah / self.params.capacity_ah

    def battery_voltage(self) -> float:
        """A 6S Li-ion pack: about 19.8 V empty, 25.2 V full, sagging under load."""
        return 19.8 + 5.4 * self.battery_fraction() + 0.02 * self.current_a

    def geodetic(self) -> tuple[float, float, float]:
        """Latitude, longitude (degrees) and altitude of the odom position."""
        p = self.params
        lat = p.origin_lat + math.degrees(self.y / EARTH_RADIUS_M)
        lon = p.origin_lon + math.degrees(
            self.x / (EARTH_RADIUS_M * math.cos(math.radians(p.origin_lat)))
        )
        return lat, lon, p.origin_alt
