"""One backoff policy, used by the supervisor, the coordinator and the client."""
import pytest

from websocket_redundancy.app.supervisor import restart_delay
from websocket_redundancy.core.backoff import backoff


@pytest.mark.parametrize('restarts, seconds', [(0, 0.1), (1, 0.2), (3, 0.8), (6, 5.0), (99, 5.0)])
def test_supervisor_restart_delay_doubles_up_to_five_seconds(restarts, seconds):
    assert restart_delay(restarts) == pytest.approx(seconds)


@pytest.mark.parametrize('rand, seconds', [(0.0, 0.4), (0.5, 0.3), (1.0, 0.2)])
def test_jitter_takes_off_up_to_the_fraction(rand, seconds):
    assert backoff(2, 0.1, 5.0, 0.5, rand) == pytest.approx(seconds)
