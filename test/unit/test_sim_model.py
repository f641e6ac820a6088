"""The rover model: physics and latches with time as an argument (no sleeps)."""
from __future__ import annotations

import math

import pytest

from websocket_redundancy.sim.model import RoverModel, RoverParams


def drive(model: RoverModel, linear: float, angular: float, start: float, seconds: float) -> float:
    """Send /cmd_vel at 10 Hz for ``seconds``; returns the time after the last step."""
    now = start
    while now < start + seconds:
        model.command_velocity(linear, angular, now)
        now = round(now + 0.1, 9)
        model.step(now)
    return now


def test_cmd_vel_moves_the_rover_forward():
    """When driven forward for 5 s, the rover moves east (yaw 0) at up to the command speed."""
    model = RoverModel(now=0.0)
    drive(model, 1.0, 0.0, 0.0, 5.0)
    assert 3.5 < model.x < 5.0
    assert abs(model.y) < 1e-9
    assert model.speed == pytest.approx(1.0)
    assert model.mode() == "manual"


def test_turning_changes_heading_and_curves_the_path():
    """When driven with an angular rate, the heading turns and the path curves north."""
    model = RoverModel(now=0.0)
    drive(model, 1.0, 0.5, 0.0, 2.0)
    assert model.yaw > 0.3
    assert model.y > 0.0


def test_commands_are_clamped_to_the_rover_limits():
    """When commanded beyond its limits, the rover goes no faster than max_speed."""
    model = RoverModel(now=0.0)
    drive(model, 10.0, 0.0, 0.0, 5.0)
    assert model.speed == pytest.approx(model.params.max_speed)


def test_cmd_timeout_stops_the_rover():
    """When /cmd_vel stops arriving, the rover stops after the 0.5 s timeout."""
    model = RoverModel(now=0.0)
    now = drive(model, 1.0, 0.0, 0.0, 3.0)
    model.step(now + 0.4)
    assert model.speed > 0.5 and model.mode() == "manual"
    model.step(now + 3.0)
    assert model.speed == 0.0 and model.mode() == "idle"
    x = model.x
    model.step(now + 10.0)
    assert model.x == x


def test_estop_latches_and_ignores_cmd_vel_until_reset():
    """When the e-stop engages, the rover halts and ignores /cmd_vel until reset_estop."""
    model = RoverModel(now=0.0)
    now = drive(model, 1.0, 0.0, 0.0, 2.0)
    assert model.engage_estop(now) is True
    assert model.engage_estop(now) is False  # already latched
    assert model.speed == 0.0 and model.mode() == "estop"
    x = model.x
    now = drive(model, 1.0, 0.0, now, 2.0)
    assert model.x == x and model.estop
    assert model.mission_command("reset_estop", now) is True
    assert not model.estop
    drive(model, 1.0, 0.0, now, 2.0)
    assert model.x > x


def test_mission_start_drives_to_the_first_waypoint_and_advances():
    """When a mission starts, the rover drives itself to the first waypoint, then the next leg."""
    params = RoverParams(waypoints=((5.0, 0.0), (5.0, 5.0)))
    model = RoverModel(now=0.0, params=params)
    model.mission_command("start", 0.0)
    assert model.mode() == "auto" and model.nav_status() == "navigating"
    model.step(20.0)
    assert model.leg == 1
    assert 0.0 < model.leg_progress() <= 1.0
    model.step(60.0)
    assert model.mission_done and model.nav_status() == "succeeded"
    assert math.dist((model.x, model.y), (5.0, 5.0)) < params.arrive_radius


def test_pause_and_next_leg():
    """When paused the rover stops; next_leg skips to the following waypoint."""
    model = RoverModel(now=0.0)
    model.mission_command("start", 0.0)
    model.step(3.0)
    model.mission_command("pause", 3.0)
    model.step(10.0)
    assert model.speed == 0.0 and model.nav_status() == "paused"
    model.mission_command("next_leg", 10.0)
    assert model.leg == 1 and model.target() == model.params.waypoints[1]
    assert model.mission_command("dance", 10.0) is False


def test_battery_drains_faster_when_driving():
    """When idle the battery drains slowly; when driving it drains faster."""
    idle, driving = RoverModel(now=0.0), RoverModel(now=0.0)
    start = idle.battery_fraction()
    idle.step(60.0)
    drive(driving, 1.5, 0.0, 0.0, 60.0)
    assert idle.battery_fraction() < start
    assert start - driving.battery_fraction() > 3 * (start - idle.battery_fraction())
    assert driving.current_a < idle.current_a < 0  # discharging is negative
    assert driving.battery_voltage() < idle.battery_voltage()


def test_gps_follows_odom():
    """When the rover drives east then north, longitude then latitude grow by the distance."""
    model = RoverModel(now=0.0)
    lat0, lon0, _ = model.geodetic()
    assert (lat0, lon0) == pytest.approx((38.406, -110.792))
    now = drive(model, 1.0, 0.0, 0.0, 10.0)
    lat1, lon1, _ = model.geodetic()
    meters_per_deg_lon = 111_195 * math.cos(math.radians(38.406))
    assert (lon1 - lon0) * meters_per_deg_lon == pytest.approx(model.x, rel=1e-3)
    assert lat1 == pytest.approx(lat0)
    model.yaw = math.pi / 2
    drive(model, 1.0, 0.0, now, 10.0)
    lat2, _, _ = model.geodetic()
    assert (lat2 - lat0) * 111_195 == pytest.approx(model.y, rel=1e-3)


def test_step_is_deterministic_and_ignores_the_past():
    """When stepped with the same inputs, two models agree; stepping backwards does nothing."""
    a, b = RoverModel(now=0.0), RoverModel(now=0.0)
    for m in (a, b):
        drive(m, 1.0, 0.3, 0.0, 4.0)
    assert (a.x, a.y, a.yaw) == (b.x, b.y, b.yaw)
    x = a.x
    a.step(1.0)
    assert a.x == x
