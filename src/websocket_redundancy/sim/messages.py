"""The simulated rover's messages, built from a ``RoverModel`` in rosbridge JSON form.

One pure function per topic: ``(model, stamp) -> dict``. ``stamp`` is wall-clock
seconds for the header. Sensor noise comes from the model's seeded RNG, so a given
seed yields the same messages. The camera frames are a few pre-generated JPEG-shaped
buffers (SOI, a comment with the frame number, random payload, EOI): realistic size
and varying bytes without spending CPU on encoding.
"""
from __future__ import annotations

import base64
import json
import math
import random
import struct
from collections.abc import Callable
from typing import Any

from .model import RoverModel

Builder = Callable[[RoverModel, float], dict[str, Any]]

ODOM_FRAME, BASE_FRAME = "odom", "base_link"
_ZERO3 = {"x": 0.0, "y": 0.0, "z": 0.0}


def stamp_of(seconds: float) -> dict[str, int]:
    """A ``builtin_interfaces/Time``, rounded to the microsecond (a float holding epoch
    seconds is not finer than that)."""
    micros = round(seconds * 1e6)
    return {"sec": micros // 1_000_000, "nanosec": micros % 1_000_000 * 1000}


def header(stamp: float, frame_id: str) -> dict[str, Any]:
    return {"stamp": stamp_of(stamp), "frame_id": frame_id}


def _quaternion(yaw: float) -> dict[str, float]:
    return {"x": 0.0, "y": 0.0, "z": math.sin(yaw / 2), "w": math.cos(yaw / 2)}


def _diagonal(size: int, value: float) -> list[float]:
    return [value if i % (size + 1) == 0 else 0.0 for i in range(size * size)]


def odometry(m: RoverModel, stamp: float) -> dict[str, Any]:
    return {
        "header": header(stamp, ODOM_FRAME),
        "child_frame_id": BASE_FRAME,
        "pose": {
            "pose": {"position": {"x": m.x, "y": m.y, "z": 0.0}, "orientation": _quaternion(m.yaw)},
            "covariance": _diagonal(6, 0.01),
        },
        "twist": {
            "twist": {"linear": {"x": m.speed, "y": 0.0, "z": 0.0},
                      "angular": {"x": 0.0, "y": 0.0, "z": m.turn_rate}},
            "covariance": _diagonal(6, 0.005),
        },
    }


def imu(m: RoverModel, stamp: float) -> dict[str, Any]:
    def noise(sigma: float) -> float:
        return m.rng.gauss(0.0, sigma)

    return {
        "header": header(stamp, "imu_link"),
        "orientation": _quaternion(m.yaw + noise(0.002)),
        "orientation_covariance": _diagonal(3, 1e-4),
        "angular_velocity": {"x": noise(0.01), "y": noise(0.01), "z": m.turn_rate + noise(0.01)},
        "angular_velocity_covariance": _diagonal(3, 1e-4),
        "linear_acceleration": {
            "x": m.accel + noise(0.05),
            "y": m.speed * m.turn_rate + noise(0.05),
            "z": 9.80665 + noise(0.05),
        },
        "linear_acceleration_covariance": _diagonal(3, 2.5e-3),
    }


def nav_sat_fix(m: RoverModel, stamp: float) -> dict[str, Any]:
    lat, lon, alt = m.geodetic()
    jitter = 0.3 / 111_000.0  # about 0.3 m in degrees
    return {
        "header": header(stamp, "gps_link"),
        "status": {"status": 0, "service": 1},  # STATUS_FIX, SERVICE_GPS
        "latitude": lat + m.rng.gauss(0.0, jitter),
        "longitude": lon + m.rng.gauss(0.0, jitter),
        "altitude": alt + m.rng.gauss(0.0, 0.5),
        "position_covariance": _diagonal(3, 0.09),
        "position_covariance_type": 2,  # COVARIANCE_TYPE_DIAGONAL_KNOWN
    }


def battery_state(m: RoverModel, stamp: float) -> dict[str, Any]:
    p = m.params
    return {
        "header": header(stamp, BASE_FRAME),
        "voltage": m.battery_voltage(),
        "temperature": 28.0 + 4.0 * abs(m.current_a) / (p.idle_current_a + p.drive_current_a),
        "current": m.current_a,
        "charge": m.charge_ah,
        "capacity": p.capacity_ah,
        "design_capacity": p.capacity_ah,
        "percentage": m.battery_fraction(),
        "power_supply_status": 2,  # DISCHARGING
        "power_supply_health": 1,  # GOOD
        "power_supply_technology": 2,  # LION
        "present": True,
        "cell_voltage": [],
        "cell_temperature": [],
        "location": "chassis",
        "serial_number": "SIM-0001",
    }


def emergency_stop(m: RoverModel, stamp: float) -> dict[str, Any]:
    return {"data": m.estop}


def rover_state(m: RoverModel, stamp: float) -> dict[str, Any]:
    state = {"mode": m.mode(), "nav_status": m.nav_status(), "estop": m.estop,
             "speed": round(m.speed, 3), "stamp": round(stamp, 3)}
    return {"data": json.dumps(state)}


def mission_state(m: RoverModel, stamp: float) -> dict[str, Any]:
    tx, ty = m.target()
    state = {"leg": m.leg, "legs": len(m.params.waypoints), "target": {"x": tx, "y": ty},
             "progress": round(m.leg_progress(), 3), "running": m.mission_running,
             "done": m.mission_done, "stamp": round(stamp, 3)}
    return {"data": json.dumps(state)}


def _status(level: int, name: str, message: str, values: dict[str, Any]) -> dict[str, Any]:
    return {"level": level, "name": name, "message": message, "hardware_id": "sim_rover",
            "values": [{"key": k, "value": str(v)} for k, v in values.items()]}


def diagnostics(m: RoverModel, stamp: float) -> dict[str, Any]:
    fraction = m.battery_fraction()
    battery_level = 0 if fraction > 0.2 else 1 if fraction > 0.05 else 2
    return {
        "header": header(stamp, ""),
        "status": [
            _status(battery_level, "rover: battery", f"{fraction:.0%}",
                    {"voltage": f"{m.battery_voltage():.2f}", "current": f"{m.current_a:.2f}"}),
            _status(2 if m.estop else 0, "rover: emergency stop",
                    "latched" if m.estop else "clear", {"mode": m.mode()}),
            _status(0, "rover: drive", m.nav_status(),
                    {"speed": f"{m.speed:.2f}", "odometer_m": f"{m.distance_m:.1f}"}),
            _status(0, "rover: gps", "fix", {"satellites": 11}),
        ],
    }


class CameraFrames:
    """Varying JPEG-shaped frames of 30-60 KB from a few pre-generated payloads."""

    def __init__(self, seed: int = 0, count: int = 4) -> None:
        rng = random.Random(seed)
        self._payloads = [rng.randbytes(rng.randrange(30_000, 58_000)) for _ in range(count)]
        self._frame = 0

    def next_frame(self) -> bytes:
        self._frame += 1
        comment = f"sim frame {self._frame}".encode()
        segment = b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment
        payload = self._payloads[self._frame % len(self._payloads)]
        return b"\xff\xd8" + segment + payload + b"\xff\xd9"

    def message(self, m: RoverModel, stamp: float) -> dict[str, Any]:
        data = base64.b64encode(self.next_frame()).decode("ascii")
        return {"header": header(stamp, "camera_front"), "format": "jpeg", "data": data}
