"""The core imports only the standard library."""

import json
import os
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / 'src'
CORE = ['lifecycle', 'health', 'recovery', 'status']
FORBIDDEN = ['twisted', 'autobahn', 'zenoh', 'rclpy', 'txaio']


def test_core_loads_no_io_framework():
    """When the core modules are imported, no network or ROS framework comes with them."""
    imports = '; '.join(f'import websocket_redundancy.core.{name}' for name in CORE)
    code = (f'{imports}; import json, sys; '
            f'print(json.dumps(sorted(m for m in sys.modules '
            f'if m.split(".")[0] in {FORBIDDEN!r})))')
    env = {**os.environ, 'PYTHONPATH': str(SRC)}
    done = subprocess.run([sys.executable, '-c', code], env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []
