"""Four tier lifecycle nodes, the coordinator and a data source.

    ros2 launch websocket_redundancy redundancy.launch.py
    ros2 launch websocket_redundancy redundancy.launch.py source:=bag bag:=/path/to/bag
    ros2 launch websocket_redundancy redundancy.launch.py tiers:=primary,emergency \
        primary_port:=9080 source:=none
    ros2 launch websocket_redundancy redundancy.launch.py primary_replicas:=2

Tiers start unconfigured (namespace '', node name = tier name, ``respawn`` with
``respawn_delay``); the coordinator configures and activates them, GetState first, and
does the same for a tier that launch respawned, which comes back unconfigured.
``<tier>_replicas:=N`` adds N-1 replicas of a tier (nodes ``<tier>_2`` ... on any free
port, parameter ``tier``): each registers itself with the coordinator through its
heartbeat, is recovered like a tier, and is dropped when it shuts down. Only
launch/launch_ros APIs present in both Humble and Jazzy are used (no ``autostart``, no
``respawn_max_retries``): see docs/ros2.md and test/unit/test_ros_layer_static.py.
"""
import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, ExecuteProcess, LogInfo, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import LifecycleNode, Node

PACKAGE = 'websocket_redundancy'
TIERS = ('primary', 'secondary', 'tertiary', 'emergency')
PORTS = {'primary': '8080', 'secondary': '8081', 'tertiary': '8082', 'emergency': '8083'}


def _config(name):
    return os.path.join(get_package_share_directory(PACKAGE), 'config', name)


def _setup(context):
    def arg(name):
        return LaunchConfiguration(name).perform(context)

    tiers = [t.strip() for t in arg('tiers').split(',') if t.strip()]
    unknown = [t for t in tiers if t not in TIERS]
    if unknown or not tiers:
        raise RuntimeError(f"tiers:={arg('tiers')} names {', '.join(unknown) or 'no tier'}; "
                           f"choose from {','.join(TIERS)}")
    common = {'config_file': arg('config_file')} if arg('config_file') else {}
    ports = {f'tiers.{t}.port': int(arg(f'{t}_port')) for t in tiers}
    delay = float(arg('respawn_delay'))
    actions = []
    for tier in tiers:
        actions.append(LifecycleNode(
            package=PACKAGE, executable='tier_node', name=tier, namespace='',
            output='screen', respawn=True, respawn_delay=delay,
            parameters=[_config(f'{tier}_params.yaml'), common,
                        {f'tiers.{tier}.port': ports[f'tiers.{tier}.port']}]))
        replicas = arg(f'{tier}_replicas')
        if not replicas.isdigit() or int(replicas) < 1:
            raise RuntimeError(f'{tier}_replicas:={replicas} must be a whole number >= 1')
        for i in range(2, int(replicas) + 1):
            actions.append(LifecycleNode(
                package=PACKAGE, executable='tier_node', name=f'{tier}_{i}', namespace='',
                output='screen', respawn=True, respawn_delay=delay,
                parameters=[_config(f'{tier}_params.yaml'), common,
                            {f'tiers.{tier}.port': ports[f'tiers.{tier}.port'],
                             'tier': tier, 'port': 0}]))
    actions.append(LifecycleNode(
        package=PACKAGE, executable='coordinator_node',
        name='websocket_redundancy_coordinator', namespace='', output='screen',
        respawn=True, respawn_delay=delay,
        parameters=[_config('coordinator_params.yaml'), common,
                    {'tier_names': tiers, **ports}]))
    source = arg('source')
    if source == 'sim':
        actions.append(Node(package=PACKAGE, executable='sim_node', name='websocket_redundancy_sim',
                            namespace='', output='screen'))
    elif source == 'bag':
        if not arg('bag'):
            raise RuntimeError('source:=bag needs bag:=<rosbag2 directory or file>')
        actions.append(ExecuteProcess(cmd=['ros2', 'bag', 'play', '--loop', arg('bag')],
                                      output='screen'))
    elif source != 'none':
        raise RuntimeError(f'source:={source} is not one of sim, bag, none')
    actions.append(LogInfo(msg=f"websocket_redundancy: tiers {', '.join(tiers)}; source {source}"))
    return actions


def generate_launch_description():
    args = [
        DeclareLaunchArgument('tiers', default_value=','.join(TIERS),
                              description='comma-separated tiers to run'),
        DeclareLaunchArgument('source', default_value='sim',
                              description='sim (rover simulator), bag (ros2 bag play) or none'),
        DeclareLaunchArgument('bag', default_value='', description='rosbag2 for source:=bag'),
        DeclareLaunchArgument('config_file', default_value='',
                              description='redundancy.yaml-shaped defaults (tokens, scopes)'),
        DeclareLaunchArgument('respawn_delay', default_value='1.0',
                              description='seconds before launch restarts a dead node'),
    ] + [DeclareLaunchArgument(f'{t}_port', default_value=PORTS[t],
                               description=f'{t} tier port (0 = any free port)') for t in TIERS
         ] + [DeclareLaunchArgument(f'{t}_replicas', default_value='1',
                                    description=f'how many {t} endpoints (replicas on free ports)')
              for t in TIERS]
    return LaunchDescription(args + [OpaqueFunction(function=_setup)])
