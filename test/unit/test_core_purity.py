"""The core imports only the standard library."""

import json
import os
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / 'src'
CORE = sorted(p.stem for p in (SRC / 'websocket_redundancy' / 'core').glob('*.py'))
FORBIDDEN = ['twisted', 'autobahn', 'zenoh', 'rclpy', 'txaio', 'rosbags', 'rosbridge_library',
             'yaml', 'orjson']


def test_every_core_module_is_checked():
    """When a module is added to core/, the purity check below imports it too."""
    assert len(CORE) >= 20 and {'__init__', 'rosbridge', 'failover', 'settings'} <= set(CORE)


def test_core_loads_no_io_framework():
    """When every core module is imported, no network, ROS or third-party framework
    comes with them."""
    imports = '; '.join(f'import websocket_redundancy.core.{name}' for name in CORE
                        if name != '__init__')
    code = (f'import websocket_redundancy.core; {imports}; import json, sys; '
            f'print(json.dumps(sorted(m for m in sys.modules '
            f'if m.split(".")[0] in {FORBIDDEN!r})))')
    env = {**os.environ, 'PYTHONPATH': str(SRC)}
    done = subprocess.run([sys.executable, '-c', code], env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []
