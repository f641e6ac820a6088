"""Test-wide setup: import from src/ without installation, and keep ROS 2 launch tests
out of collection where ROS 2 is not installed (they need rclpy and launch_testing)."""
import ast
import importlib.util
import logging
import os
import sys
from pathlib import Path

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'src'))
sys.path.insert(0, os.path.join(ROOT, 'test'))  # test/needs.py, whatever the import mode

from needs import missing, why  # noqa: E402

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


@pytest.fixture(autouse=True)
def _our_logs_reach_caplog():
    """Where ROS 2 is, launch_testing's plugin imports ``launch``, whose logger class makes
    every logger created later stop propagating to the root, where ``caplog`` listens:
    the project's loggers propagate again for each test."""
    ours = [logger for name, logger in logging.Logger.manager.loggerDict.items()
            if name.split('.')[0] == 'websocket_redundancy' and isinstance(logger, logging.Logger)]
    before = [logger.propagate for logger in ours]
    for logger in ours:
        logger.propagate = True
    yield
    for logger, propagate in zip(ours, before, strict=True):
        logger.propagate = propagate


# launch_testing's pytest plugin (present wherever ROS 2 is) imports every test module in
# its own collection hook, where a module-level skip (``needs(...)`` in test/needs.py)
# would skip the module's whole package instead of the module. So a module whose
# ``needs(...)`` line names something missing is read, not imported: this hook runs
# first and hands pytest a module that only says why it is skipped.
class _SkippedModule(pytest.Module):
    reason = ''

    def collect(self):
        pytest.skip(self.reason)


def _needed_here(path: Path) -> str:
    """The skip reason of the ``needs('a', 'b')`` line at the top level of ``path``."""
    if not path.name.startswith('test_') or path.suffix != '.py':
        return ''
    try:
        tree = ast.parse(path.read_text(encoding='utf-8'))
    except (OSError, SyntaxError, ValueError):
        return ''
    for node in tree.body:
        call = node.value if isinstance(node, ast.Expr) else None
        if isinstance(call, ast.Call) and getattr(call.func, 'id', '') == 'needs':
            names = [a.value for a in call.args if isinstance(a, ast.Constant)]
            return why(*missing(*names))
    return ''


def _skipped(parent, file: Path, **where):
    reason = _needed_here(file)
    if not reason:
        return None
    module = _SkippedModule.from_parent(parent, **where)
    module.reason = f'{os.path.relpath(file, ROOT)}: {reason}'
    return module


if int(pytest.__version__.split('.')[0]) >= 7:
    @pytest.hookimpl(tryfirst=True)
    def pytest_pycollect_makemodule(module_path, parent):
        return _skipped(parent, Path(module_path), path=Path(module_path))
else:  # pytest 6 (Ubuntu 22.04, ROS 2 Humble)
    @pytest.hookimpl(tryfirst=True)
    def pytest_pycollect_makemodule(path, parent):
        return _skipped(parent, Path(str(path)), fspath=path)
