"""The browser failover client's unit tests (node --test), run from pytest."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
NODE = shutil.which('node')


@pytest.mark.skipif(NODE is None, reason='node (>= 20) is not on PATH; the browser failover '
                    "client's unit tests need it (apt-get install nodejs)")
def test_failover_js_unit_tests_pass():
    """When node runs test/browser/*.test.mjs, every test passes."""
    tests = sorted(str(p) for p in HERE.glob('*.test.mjs'))
    result = subprocess.run([NODE, '--test', *tests], capture_output=True, text=True,
                            timeout=120, cwd=HERE.parents[1])
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
