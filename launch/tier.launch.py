"""One tier as a lifecycle node, e.g. on a second host:

    ros2 launch websocket_redundancy tier.launch.py tier:=emergency port:=8083

It starts unconfigured; a coordinator anywhere on the graph configures and activates
it (or ``ros2 lifecycle set /emergency configure`` then ``activate``). ``respawn:=true``
restarts it when it dies. Uses only names present in launch/launch_ros on Humble and
Jazzy (see docs/ros2.md).
"""
import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import LifecycleNode

PACKAGE = 'websocket_redundancy'
TIERS = ('primary', 'secondary', 'tertiary', 'emergency')


def _setup(context):
    def arg(name):
        return LaunchConfiguration(name).perform(context)

    tier = arg('tier')
    if tier not in TIERS:
        raise RuntimeError(f"tier:={tier} is not one of {', '.join(TIERS)}")
    params_file = os.path.join(get_package_share_directory(PACKAGE), 'config',
                               f'{tier}_params.yaml')
    overrides = {'port': int(arg('port'))}
    if arg('config_file'):
        overrides['config_file'] = arg('config_file')
    return [LifecycleNode(
        package=PACKAGE, executable='tier_node', name=tier, namespace='', output='screen',
        respawn=arg('respawn').lower() in ('true', '1', 'yes'),
        respawn_delay=float(arg('respawn_delay')),
        parameters=[params_file, overrides])]


def generate_launch_description():
    return LaunchDescription([
        DeclareLaunchArgument('tier', default_value='primary',
                              description='primary, secondary, tertiary or emergency'),
        DeclareLaunchArgument('port', default_value='-1',
                              description='-1: as configured; 0: any free port'),
        DeclareLaunchArgument('config_file', default_value=''),
        DeclareLaunchArgument('respawn', default_value='false'),
        DeclareLaunchArgument('respawn_delay', default_value='1.0'),
        OpaqueFunction(function=_setup),
    ])
