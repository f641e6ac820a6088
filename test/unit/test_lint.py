"""The code stays Python 3.10 compatible and lint-clean by rule (ruff, target py310)."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_ruff_finds_nothing():
    beside = Path(sys.executable).parent / 'ruff'  # a venv's, when it is not on PATH
    ruff = str(beside) if beside.exists() else shutil.which('ruff')
    if ruff is None:
        pytest.skip('ruff is not installed (it is in the test extra)')
    result = subprocess.run([ruff, 'check', 'src', 'test', 'fuzz', 'benchmarks', 'launch'],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
