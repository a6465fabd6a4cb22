"""Helpers of the EPICS tests."""

from __future__ import annotations

import time
from collections.abc import Callable

import gevent

#: the prefix of the test IOC's PVs
PREFIX = "HWRTEST:"


def wait_until(
    condition: Callable[[], object], timeout: float = 10.0, what: str = ""
) -> None:
    """Let the hub run until ``condition()`` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        gevent.sleep(0.01)
