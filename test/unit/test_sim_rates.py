"""The simulator's scheduling and shell, driven by a fake clock (no sleeps, no thread)."""
from __future__ import annotations

from needs import needs

needs('rosbags')

import json
import random
import threading
from collections import Counter

import pytest
from rosbags.typesys import Stores, get_typestore

from websocket_redundancy.graph.embedded.convert import from_rosbridge
from websocket_redundancy.graph.memory import MemoryGraph
from websocket_redundancy.sim.rover import ESTOP_TOPIC, TOPICS, RoverSim
from websocket_redundancy.sim.schedule import Schedule

DESIGN_RATES = {
    "/odom": 20.0, "/imu/data": 50.0, "/gps/fix": 5.0, "/battery_state": 1.0,
    ESTOP_TOPIC: 1.0, "/rover/state": 2.0, "/mission/state": 1.0, "/diagnostics": 1.0,
    "/camera/front/image/compressed": 5.0,
}


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def run_for(sim: RoverSim, clock: FakeClock, seconds: float, jitter: float = 0.0) -> None:
    """The scheduler loop with a fake clock: wake at each deadline, late by up to ``jitter``."""
    rng = random.Random(1)
    end = clock.now + seconds
    next_deadline = sim.tick(clock.now)
    while True:
        clock.now = max(clock.now, next_deadline + rng.uniform(0.0, jitter))
        if clock.now >= end:
            break
        next_deadline = sim.tick(clock.now)


def collect(graph: MemoryGraph) -> list:
    got = []
    for spec in TOPICS:
        graph.subscribe(spec.topic, got.append)
    return got


def test_topic_table_matches_design():
    """The simulator publishes exactly the design's topics at its rates."""
    assert {t.topic: t.rate_hz for t in TOPICS} == DESIGN_RATES


@pytest.mark.parametrize("jitter", [0.0, 0.004, 0.015])
def test_schedule_keeps_average_rates_without_drift(jitter):
    """When wake-ups are late by random amounts, each name still fires rate x 60 times a minute."""
    schedule = Schedule({"fast": 1 / 50, "mid": 1 / 5, "slow": 1.0}, start=0.0)
    rng, now, counts = random.Random(7), 0.0, Counter()
    while now < 60.0 - 1e-9:
        counts.update(schedule.due(now))
        now = max(now, schedule.next_deadline() + rng.uniform(0.0, jitter))
    assert counts["slow"] == 60 and counts["mid"] == 300
    assert 2995 <= counts["fast"] <= 3000  # a late wake-up past a period skips, never bursts


def test_schedule_skips_missed_periods_instead_of_bursting():
    """When the caller stalls for 1 s, a 10 Hz name fires once, then keeps its phase."""
    schedule = Schedule({"ten": 0.1}, start=0.0)
    assert schedule.due(0.0) == ["ten"]
    assert schedule.due(1.05) == ["ten"]
    assert schedule.due(1.05) == []
    assert schedule.next_deadline() == pytest.approx(1.1)


def test_schedule_rejects_non_positive_periods():
    """When a period is zero, the schedule refuses it, naming it."""
    with pytest.raises(ValueError, match="bad"):
        Schedule({"bad": 0.0}, start=0.0)


def test_simulated_minute_has_the_design_rates():
    """When the sim runs for a simulated minute with late wake-ups, every topic has its rate."""
    graph, clock = MemoryGraph(), FakeClock()
    got = collect(graph)
    sim = RoverSim(graph, clock, wall_clock=lambda: 1.7e9)
    run_for(sim, clock, 60.0, jitter=0.003)
    counts = Counter(s.topic for s in got)
    for topic, rate in DESIGN_RATES.items():
        assert abs(counts[topic] - rate * 60) <= max(1, rate * 60 * 0.01), (topic, counts[topic])


def test_rate_factor_scales_every_rate():
    """When rate_factor is 0.5, every topic publishes half as often."""
    graph, clock = MemoryGraph(), FakeClock()
    got = collect(graph)
    run_for(RoverSim(graph, clock, rate_factor=0.5), clock, 10.0)
    counts = Counter(s.topic for s in got)
    assert abs(counts["/imu/data"] - 250) <= 1 and abs(counts["/battery_state"] - 5) <= 1


def test_messages_fit_their_types_and_carry_clock_stamps():
    """When the sim publishes, every message converts to its ROS type and CDR; stamps follow the clock."""
    graph, clock = MemoryGraph(), FakeClock(500.0)
    got = collect(graph)
    sim = RoverSim(graph, clock, wall_clock=lambda: 1_700_000_000.0)
    run_for(sim, clock, 1.0)
    store = get_typestore(Stores.LATEST)
    seen = set()
    for sample in got:
        if sample.topic not in seen:
            seen.add(sample.topic)
            store.serialize_cdr(from_rosbridge(store, sample.type_name, sample.msg), sample.type_name)
    assert seen == set(DESIGN_RATES)
    odom = [s.msg for s in got if s.topic == "/odom"]
    assert odom[0]["header"]["stamp"] == {"sec": 1_700_000_000, "nanosec": 0}
    assert odom[1]["header"]["stamp"] == {"sec": 1_700_000_000, "nanosec": 50_000_000}
    frames = [s for s in got if s.topic == "/camera/front/image/compressed"]
    assert frames[0].msg["format"] == "jpeg"
    assert len({f.msg["data"] for f in frames}) == len(frames)
    assert all(30_000 <= len(f.msg["data"]) * 3 // 4 <= 60_000 for f in frames)


def test_cmd_vel_drives_and_times_out():
    """When /cmd_vel arrives the odometry moves; half a second after the last one it stops."""
    graph, clock = MemoryGraph(), FakeClock()
    sim = RoverSim(graph, clock)
    cmd = graph.advertise("/cmd_vel", "geometry_msgs/msg/Twist")
    for _ in range(20):
        cmd.publish({"linear": {"x": 1.0, "y": 0.0, "z": 0.0}, "angular": {"x": 0.0, "y": 0.0, "z": 0.0}})
        run_for(sim, clock, 0.1)
    assert sim.model.x > 1.0 and sim.model.speed > 0.9
    run_for(sim, clock, 2.0)
    assert sim.model.speed == 0.0


def test_estop_latches_publishes_at_once_and_is_not_retriggered_by_itself():
    """When a client sends e-stop true, the sim publishes true at once, ignores /cmd_vel, and
    after reset_estop its own /emergency_stop samples do not latch it again."""
    graph, clock = MemoryGraph(), FakeClock()
    estops = []
    graph.subscribe(ESTOP_TOPIC, estops.append)
    sim = RoverSim(graph, clock)
    run_for(sim, clock, 0.5)
    assert [s.msg["data"] for s in estops] == [False]

    graph.advertise(ESTOP_TOPIC, "std_msgs/msg/Bool").publish({"data": True})
    sim.tick(clock.now)
    assert [s.msg["data"] for s in estops[-2:]] == [True, True]  # client's, then the sim's
    cmd = graph.advertise("/cmd_vel", "geometry_msgs/msg/Twist")
    cmd.publish({"linear": {"x": 1.0}, "angular": {"z": 0.0}})
    run_for(sim, clock, 0.3)
    assert sim.model.speed == 0.0 and sim.model.estop

    graph.advertise("/mission/command", "std_msgs/msg/String").publish({"data": "reset_estop"})
    sim.tick(clock.now)
    assert estops[-1].msg["data"] is False
    run_for(sim, clock, 3.0)  # the sim publishes false again, and true never comes back
    assert not sim.model.estop
    assert all(s.msg["data"] is False for s in estops[-3:])


def test_estop_false_does_not_release_the_latch():
    """When a client sends e-stop false after true, the stop stays latched."""
    graph, clock = MemoryGraph(), FakeClock()
    sim = RoverSim(graph, clock)
    pub = graph.advertise(ESTOP_TOPIC, "std_msgs/msg/Bool")
    pub.publish({"data": True})
    pub.publish({"data": False})
    assert sim.model.estop


def test_mission_commands_from_the_graph():
    """When /mission/command says start, /mission/state and /rover/state report the run."""
    graph, clock = MemoryGraph(), FakeClock()
    got = collect(graph)
    sim = RoverSim(graph, clock)
    graph.advertise("/mission/command", "std_msgs/msg/String").publish({"data": " Start "})
    graph.advertise("/mission/command", "std_msgs/msg/String").publish({"data": "fly"})
    run_for(sim, clock, 5.0)
    rover = json.loads([s for s in got if s.topic == "/rover/state"][-1].msg["data"])
    mission = json.loads([s for s in got if s.topic == "/mission/state"][-1].msg["data"])
    assert rover["mode"] == "auto" and rover["nav_status"] == "navigating"
    assert mission["leg"] == 0 and 0 < mission["progress"] < 1
    assert set(mission) >= {"leg", "target", "progress"}


def test_start_and_stop_run_one_thread_that_ends():
    """When started, the sim publishes from its thread; stop() ends the thread and closes topics."""
    graph = MemoryGraph()
    arrived = threading.Event()
    graph.subscribe("/odom", lambda s: arrived.set())
    sim = RoverSim(graph, rate_factor=10.0)
    sim.start()
    try:
        assert arrived.wait(5.0), "no /odom from the started simulator within 5 s"
    finally:
        sim.stop()
    assert not any(t.name == "rover-sim" and t.is_alive() for t in threading.enumerate())
    assert graph.topics() == {}
