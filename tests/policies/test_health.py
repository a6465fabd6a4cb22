"""Connection health and retry back-off: one policy for every backend."""

from __future__ import annotations

import logging
import threading

import pytest

from HardwareRepository.policies import NOT_INITIALIZED, ConnectionHealth, RetryBackoff

LOG = logging.getLogger("tests.policies.health")


def test_retry_delays_double_up_to_the_maximum_and_reset():
    backoff = RetryBackoff(0.5, 3.0)
    assert [backoff.next_delay() for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert backoff.failures == 5
    backoff.reset()
    assert (backoff.next_delay(), backoff.failures) == (0.5, 1)


@pytest.mark.parametrize(("first", "maximum"), [(0.0, 1.0), (-1.0, 1.0), (2.0, 1.0)])
def test_a_bad_backoff_is_refused(first, maximum):
    with pytest.raises(ValueError, match="back-off"):
        RetryBackoff(first, maximum)


def test_an_outage_reported_by_many_threads_is_logged_once(caplog):
    health: ConnectionHealth[str] = ConnectionHealth(lambda: "dev/x/1", LOG, 1.0, 8.0)
    starts = []
    barrier = threading.Barrier(8)

    def report(k):
        barrier.wait()
        starts.append(health.lost(f"error {k}", f"reason {k}"))

    with caplog.at_level(logging.DEBUG, LOG.name):
        threads = [threading.Thread(target=report, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert starts.count(True) == 1
        assert health.in_outage
        assert health.last_error is not None
        assert health.last_error.startswith("error ")
        assert health.back() is True
        assert health.back() is False
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    infos = [r for r in caplog.records if r.levelno == logging.INFO]
    assert len(warnings) == 1
    assert warnings[0].getMessage().startswith("dev/x/1: disconnected: reason ")
    assert [r.getMessage() for r in infos] == ["dev/x/1: connected again"]
    assert health.last_error is None
    assert not health.in_outage


def test_not_initialized_is_one_false_marker_shared_by_the_object_layer():
    from HardwareRepository import CommandContainer

    assert CommandContainer.NOT_INITIALIZED is NOT_INITIALIZED
    assert type(NOT_INITIALIZED)() is NOT_INITIALIZED
    assert not NOT_INITIALIZED
    assert repr(NOT_INITIALIZED) == "NOT_INITIALIZED"
