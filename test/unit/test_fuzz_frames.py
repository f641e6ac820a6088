"""The fuzz target for the incoming-frame path runs clean on seeded random mutations
(a coverage-guided run with atheris is documented in fuzz/frames.py)."""
import importlib.util
from pathlib import Path

SPEC = importlib.util.spec_from_file_location(
    'fuzz_frames', Path(__file__).resolve().parents[2] / 'fuzz' / 'frames.py')
frames = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(frames)


def test_three_thousand_mutated_frames_never_raise():
    assert frames.run_random(3000, seed=7) == 3000
