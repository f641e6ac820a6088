"""Static checks of the ROS 2 layer that run everywhere, ROS 2 installed or not.

The allow-list names what launch files may import: each name was checked present, with
the keywords used, on both the ``humble`` and ``jazzy`` branches of ros2/launch and
ros2/launch_ros (``launch/actions/__init__.py``, ``launch/substitutions/__init__.py``,
``launch/launch_description_sources/__init__.py``, ``launch_ros/actions/__init__.py``,
``launch_ros/actions/lifecycle_node.py``: ``namespace`` mandatory in both;
``execute_process.py``: ``respawn``/``respawn_delay`` in both, ``respawn_max_retries``
only in jazzy) and ament/ament_index ``ament_index_python/packages.py``.
"""
import ast
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SRC = os.path.join(ROOT, 'src', 'websocket_redundancy')
ROS_FILES = sorted(
    [os.path.join(SRC, 'ros', f) for f in os.listdir(os.path.join(SRC, 'ros')) if f.endswith('.py')]
    + [os.path.join(SRC, 'graph', f) for f in ('ros.py', 'ros_convert.py', 'ros_describe.py',
                                                 'ros_actions.py')]
    + [os.path.join(ROOT, 'launch', f) for f in os.listdir(os.path.join(ROOT, 'launch'))
       if f.endswith('.py')])
LAUNCH_FILES = [f for f in ROS_FILES if f.endswith('.launch.py')]
ALLOWED = {
    'launch': {'LaunchDescription'},
    'launch.actions': {'DeclareLaunchArgument', 'ExecuteProcess', 'LogInfo', 'OpaqueFunction',
                       'EmitEvent', 'RegisterEventHandler', 'TimerAction',
                       'IncludeLaunchDescription'},
    'launch.substitutions': {'LaunchConfiguration'},
    'launch.launch_description_sources': {'PythonLaunchDescriptionSource'},
    'launch_ros.actions': {'LifecycleNode', 'Node'},
    'launch_ros.events.lifecycle': {'ChangeState'},
    'launch_ros.event_handlers': {'OnStateTransition'},
    'ament_index_python.packages': {'get_package_share_directory'},
}
JAZZY_ONLY_KEYWORDS = {'autostart', 'respawn_max_retries'}


@pytest.mark.parametrize('path', ROS_FILES, ids=os.path.basename)
def test_when_parsed_as_python_3_10_every_ros_file_compiles(path):
    with open(path, encoding='utf-8') as handle:
        ast.parse(handle.read(), filename=path, feature_version=(3, 10))


@pytest.mark.parametrize('path', LAUNCH_FILES, ids=os.path.basename)
def test_when_a_launch_file_imports_it_uses_only_names_in_both_distros(path):
    with open(path, encoding='utf-8') as handle:
        tree = ast.parse(handle.read())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module.split('.')[0] in (
                'launch', 'launch_ros', 'ament_index_python'):
            names = {a.name for a in node.names}
            extra = names - ALLOWED.get(node.module, set())
            assert not extra, f'{os.path.basename(path)}: {node.module}.{extra} not allow-listed'
        elif isinstance(node, ast.Import):
            assert not any(a.name.startswith(('launch', 'launch_ros')) for a in node.names)
        elif isinstance(node, ast.keyword):
            assert node.arg not in JAZZY_ONLY_KEYWORDS, f'{node.arg} is not in Humble'


def test_when_the_ros_package_is_imported_rclpy_is_not():
    code = ('import sys; import websocket_redundancy.ros, websocket_redundancy.graph; '
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('rclpy', 'launch', 'launch_ros', 'rosbridge_library')))")
    env = {**os.environ, 'PYTHONPATH': os.path.join(ROOT, 'src')}
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         env=env, check=True)
    assert out.stdout.strip() == '[]'
