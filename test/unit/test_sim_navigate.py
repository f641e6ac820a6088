"""The simulator's /navigate_to_pose action, driven by a fake clock over the memory graph."""
import pytest

from websocket_redundancy.graph.memory import MemoryGraph
from websocket_redundancy.graph.port import GOAL_ABORTED, GOAL_CANCELED, GOAL_SUCCEEDED
from websocket_redundancy.sim.navigate import FEEDBACK_HZ, NAV_ACTION, NAV_TYPE
from websocket_redundancy.sim.rover import RoverSim


class World:
    def __init__(self):
        self.now = 0.0
        self.graph = MemoryGraph()
        self.sim = RoverSim(self.graph, clock=lambda: self.now)

    def goal(self, x, y, frame='odom', feedback=None):
        pose = {'header': {'frame_id': frame}, 'pose': {'position': {'x': x, 'y': y}}}
        return self.graph.send_goal(NAV_ACTION, NAV_TYPE, {'pose': pose},
                                    feedback.append if feedback is not None else None, 1.0)

    def run(self, seconds, until=None):
        end = self.now + seconds
        while self.now < end and not (until and until()):
            self.now = round(self.now + 0.01, 6)
            self.sim.tick(self.now)


@pytest.fixture
def world():
    w = World()
    yield w
    w.sim.stop()


def test_a_goal_drives_the_rover_there_with_feedback_and_succeeds(world):
    feedback = []
    handle = world.goal(4.0, 0.0, feedback=feedback)
    world.run(30, until=handle.result.done)
    result = handle.result.result(timeout=0)
    assert result.status == GOAL_SUCCEEDED and result.result == {'error_code': 0, 'error_msg': ''}
    assert abs(world.sim.model.x - 4.0) < world.sim.model.params.arrive_radius
    assert len(feedback) >= FEEDBACK_HZ * world.now * 0.8  # a few Hz, all the way
    assert feedback[0]['distance_remaining'] > feedback[-1]['distance_remaining']
    assert feedback[-1]['current_pose']['header']['frame_id'] == 'odom'
    assert feedback[1]['navigation_time'] != feedback[0]['navigation_time']


def test_a_cancel_stops_the_rover_and_the_goal_ends_canceled(world):
    handle = world.goal(40.0, 0.0)
    world.run(2.0)
    handle.cancel()
    world.run(0.05)
    assert handle.result.result(timeout=0).status == GOAL_CANCELED
    assert world.sim.model.nav_goal is None
    world.run(3.0)
    assert world.sim.model.speed == 0.0


def test_a_newer_goal_preempts_and_the_estop_aborts(world):
    first = world.goal(40.0, 0.0)
    world.run(0.5)
    second = world.goal(0.0, 40.0)
    world.run(0.05)
    assert first.result.result(timeout=0).status == GOAL_ABORTED
    assert 'preempted' in first.result.result(timeout=0).result['error_msg']
    assert world.sim.model.nav_goal == (0.0, 40.0)
    world.graph.advertise('/emergency_stop', 'std_msgs/msg/Bool').publish({'data': True})
    world.run(0.05)
    assert second.result.result(timeout=0).result['error_msg'] == 'emergency stop'


def test_a_goal_in_another_frame_is_aborted_saying_why(world):
    handle = world.goal(1.0, 1.0, frame='map')
    world.run(0.05)
    result = handle.result.result(timeout=0)
    assert result.status == GOAL_ABORTED and "frame 'map' is unknown" in result.result['error_msg']
    assert world.sim.model.nav_goal is None
