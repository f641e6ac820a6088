"""The fuzz target for the incoming-frame path runs clean on seeded random mutations
(a coverage-guided run with atheris is documented in fuzz/frames.py)."""
import importlib.util
from pathlib import Path

SPEC = importlib.util.spec_from_file_location(
    'fuzz_frames', Path(__file__).resolve().parents[2] / 'fuzz' / 'frames.py')
frames = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(frames)


def test_three_thousand_mutated_frames_never_raise_and_each_bad_one_is_refused_and_answered():
    """When 3000 mutated frames arrive (each as text and as binary), nothing raises, the
    seeds are accepted, every binary frame and the malformed ones are refused, every refusal
    is answered (the client asked for errors), and the connection keeps its subscription."""
    result = frames.run_random(3000, seed=7)
    seeds = len(frames.SEEDS)
    assert result['refused_by_seeds'] == {'binary': seeds}, 'a valid seed was refused'
    refused = result['refused']
    assert refused['binary'] == 3000 + seeds
    assert refused['malformed'] > 1000, refused
    assert {'unknown_op', 'bad_field', 'scope'} <= set(refused), refused
    assert result['replies'] >= sum(refused.values()), 'a refusal went unanswered'
    assert result['still_admitted'] and result['odom_subscribed']
