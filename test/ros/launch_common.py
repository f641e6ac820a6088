"""What the launch tests share: the tiers on free ports, and redundancy.launch.py on them."""
import os
import socket

import launch
import launch_testing.actions
from launch.actions import (
    IncludeLaunchDescription,
    SetEnvironmentVariable,
    SetLaunchConfiguration,
)
from launch.launch_description_sources import PythonLaunchDescriptionSource

TIERS = ('primary', 'secondary', 'tertiary', 'emergency')
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAUNCH_FILE = os.path.join(ROOT, 'launch', 'redundancy.launch.py')
TEAM_TOKEN = 'launch-test-team-token'  # the team role's token (WR_TOKEN_TEAM) in these tests


def free_ports(count):
    socks = [socket.socket() for _ in range(count)]
    for s in socks:
        s.bind(('127.0.0.1', 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def tier_ports():
    return dict(zip(TIERS, free_ports(len(TIERS)), strict=True))


def redundancy_launch(ports, **more):
    """The simulator, four tiers on ``ports`` and the coordinator, then ReadyToTest;
    ``more`` are further launch arguments (``primary_replicas='2'``)."""
    args = {f'{t}_port': str(p) for t, p in ports.items()}
    args.update(source='sim', respawn_delay='1.0', **more)
    return launch.LaunchDescription([
        # launch's SIGINT -> SIGTERM escalation (5 s by default) fired on a loaded 2-core
        # machine while a process was still shutting down cleanly (exit -15, a failed
        # exit-code check); the processes' own shutdown is bounded (executor 2 s)
        SetLaunchConfiguration('sigterm_timeout', '15'),
        SetEnvironmentVariable('WR_TOKEN_TEAM', TEAM_TOKEN),
        IncludeLaunchDescription(PythonLaunchDescriptionSource(LAUNCH_FILE),
                                 launch_arguments=args.items()),
        launch_testing.actions.ReadyToTest(),
    ])
