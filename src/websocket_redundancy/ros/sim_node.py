"""The rover simulator publishing into the ROS 2 graph (``source:=sim`` in the launch file).

The same ``RoverSim`` as the embedded mode, over a ``RosGraph``: it publishes the
DESIGN.md topics with standard types and obeys ``/cmd_vel``, ``/emergency_stop`` and
``/mission/command``. Parameter ``rate`` (double, default 1.0) speeds it up.
"""
from __future__ import annotations

from typing import Any

from rclpy.node import Node

from .runtime import run


class SimNode(Node):
    def __init__(self, reactor: Any, **kwargs: Any) -> None:
        from ..graph.ros import RosGraph
        from ..sim.rover import RoverSim
        super().__init__('websocket_redundancy_sim', **kwargs)
        rate = float(self.declare_parameter('rate', 1.0).value)
        self.graph = RosGraph(self)
        self.sim = RoverSim(self.graph, rate_factor=rate)
        self.sim.start()
        print('READY sim', flush=True)

    def release(self) -> None:
        self.sim.stop()
        self.graph.close()


def main(args: list[str] | None = None) -> int:
    return run(lambda reactor: SimNode(reactor), args)


if __name__ == '__main__':
    raise SystemExit(main())
