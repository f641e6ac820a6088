"""What a test module needs beyond what ``package.xml`` declares, said in one line.

Under ROS 2, ``colcon test`` runs this suite with only the packages rosdep installed for
``package.xml``; the embedded graph (eclipse-zenoh, rosbags) and some test tools have no
rosdep key. A module that needs one starts with ``needs('zenoh', ...)`` and is skipped,
naming what is missing and how to get it, instead of failing to import::

    from needs import needs
    needs('zenoh', 'roslibpy')
"""
from __future__ import annotations

import importlib
import importlib.util

import pytest

EMBEDDED = 'pip install ".[embedded]"; no rosdep key'
TEST = 'pip install ".[test]"'
# module -> (what to install, how)
WHY = {
    'zenoh': ('eclipse-zenoh', EMBEDDED),
    'rosbags': ('rosbags', EMBEDDED),
    'roslibpy': ('roslibpy', f'{TEST}; no rosdep key'),
    'playwright': ('playwright', TEST),
    'matplotlib': ('matplotlib', f'{TEST}; rosdep: python3-matplotlib'),
    'hypothesis': ('hypothesis', f'{TEST}; rosdep: python3-hypothesis'),
    'jsonschema': ('jsonschema >= 4', TEST),
    'example_interfaces': ('example_interfaces (an action type for the action tests)',
                           'apt install ros-$ROS_DISTRO-example-interfaces'),
}


def _usable(module: str) -> bool:
    if importlib.util.find_spec(module) is None:
        return False
    if module == 'jsonschema':  # 3.x (Ubuntu 22.04's) has no draft 2020-12 validator
        return hasattr(importlib.import_module(module), 'Draft202012Validator')
    return True


def missing(*modules: str) -> list[str]:
    """The modules of ``modules`` that cannot be imported (or are too old) here."""
    return [m for m in modules if not _usable(m)]


def needs(*modules: str) -> None:
    """Skip the calling test module unless every one of ``modules`` can be imported."""
    __tracebackhide__ = True  # the skip is reported at the caller's line
    reason = why(*missing(*modules))
    if reason:
        pytest.skip(reason, allow_module_level=True)


def why(*absent: str) -> str:
    """'needs eclipse-zenoh, rosbags (pip install ...)' for the modules in ``absent``."""
    by_how: dict[str, list[str]] = {}
    for module in absent:
        name, how = WHY.get(module, (module, 'not installed'))
        by_how.setdefault(how, []).append(name)
    return '; '.join(f'needs {", ".join(names)} ({how})' for how, names in by_how.items())
