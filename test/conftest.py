"""Test-wide setup: import from src/ without installation, and keep ROS 2 launch tests
out of collection where ROS 2 is not installed (they need rclpy and launch_testing)."""
import importlib.util
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'src'))

_ROS_MODULES = ('rclpy', 'launch', 'launch_ros', 'launch_testing')
_missing = [m for m in _ROS_MODULES if importlib.util.find_spec(m) is None]
collect_ignore_glob = []
if _missing:
    collect_ignore_glob = ['ros/*']


def pytest_report_header(config):
    if _missing:
        return (f'ROS 2 tests in test/ros/ skipped: {", ".join(_missing)} not importable '
                '(source a ROS 2 Humble or Jazzy setup.bash to run them)')
    return 'ROS 2 found: test/ros/ launch tests are collected'
