"""The browser failover client's unit tests (node --test), run from pytest."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
NODE = shutil.which('node')


def node_major(node: str | None) -> int:
    """The major version of ``node`` (0 when absent or unreadable)."""
    if node is None:
        return 0
    try:
        out = subprocess.run([node, '--version'], capture_output=True, text=True, timeout=30)
        return int(out.stdout.strip().lstrip('v').split('.')[0])
    except (OSError, ValueError, subprocess.SubprocessError):
        return 0


@pytest.mark.skipif(node_major(NODE) < 18, reason='Node.js >= 18 is not on PATH; the browser '
                    "failover client's unit tests need it (Debian 12 / Ubuntu 24.04: apt-get "
                    'install nodejs; Ubuntu 22.04 ships Node 12: see README)')
def test_failover_js_unit_tests_pass():
    """When node runs test/browser/*.test.mjs, every test passes."""
    tests = sorted(str(p) for p in HERE.glob('*.test.mjs'))
    result = subprocess.run([NODE, '--test', *tests], capture_output=True, text=True,
                            timeout=120, cwd=HERE.parents[1])
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
