"""Helpers of the recording tests: cooperative waits and value collectors."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import gevent


def wait_until(condition: Callable[[], Any], timeout: float, what: str) -> None:
    """Let the hub run until ``condition()`` holds; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        gevent.sleep(0.01)


class Collector:
    """Every value a channel emits, with the channel's timestamp, in order."""

    def __init__(self, channel: Any) -> None:
        self.channel = channel
        self.values: list[Any] = []
        self.stamps: list[float] = []
        channel.connect_signal("update", self._on_update, weak=False)

    def _on_update(self, value: Any) -> None:
        self.values.append(value)
        self.stamps.append(self.channel.timestamp)

    def close(self) -> None:
        self.channel.disconnect_signal("update", self._on_update)
