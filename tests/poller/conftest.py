"""Poller tests: every test ends with no poller, no pool thread and default settings."""

from __future__ import annotations

import pytest

from HardwareRepository import Poller


@pytest.fixture(autouse=True)
def poller_teardown():
    """Stop what a test left polling and end the pool threads (explicit shutdown)."""
    yield
    left = Poller.stop_all()
    ended = Poller.shutdown(timeout=10)
    Poller.configure(max_threads=None, idle_timeout=None)
    assert ended, "poller threads did not end within 10 s"
    assert left == 0, f"the test left {left} poller(s) polling"
