"""Helpers of the recording tests: cooperative waits, value collectors, tmpfs."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any

import gevent
import pytest


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


@pytest.fixture
def small_tmpfs(tmp_path) -> Iterator[Callable[[int], str]]:
    """Mount small tmpfs file systems (root only); skip where mounting is refused."""
    mounted: list[str] = []

    def mount(size_bytes: int) -> str:
        target = tmp_path / f"tmpfs{len(mounted)}"
        target.mkdir()
        result = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_bytes}", "tmpfs", str(target)],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
        mounted.append(str(target))
        return str(target)

    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    yield mount
    for target in mounted:
        subprocess.run(["umount", "-l", target], check=False)
