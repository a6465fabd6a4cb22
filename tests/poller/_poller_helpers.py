"""Helpers for the poller tests: wait on conditions with generous timeouts."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import gevent

from HardwareRepository import Poller
from HardwareRepository.bridge import Event, native

TIMEOUT = 10.0


def wait_until(
    predicate: Callable[[], Any], timeout: float = TIMEOUT, what: str = ""
) -> None:
    """Let the hub run until ``predicate()`` is true; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout} s waiting for {what or predicate}"
            )
        gevent.sleep(0.002)


def wait_delivered(poller: Poller.Poller, timeout: float = TIMEOUT) -> None:
    """Wait until the hub has taken every item queued for ``poller``."""
    wait_until(
        lambda: poller._inbox.settled,
        timeout,
        f"the hub to run the items of {poller!r}",
    )


class Counter:
    """A polled object: ``read()`` returns 1, 2, 3, ... and records the thread."""

    def __init__(self) -> None:
        self.count = 0
        self.threads: set[int] = set()

    def read(self) -> int:
        self.threads.add(native.get_ident())
        self.count += 1
        return self.count


class Sequence:
    """A polled object returning the given values, then the last one for ever."""

    def __init__(self, values: list[Any]) -> None:
        self.values = list(values)
        self.calls = 0

    def read(self) -> Any:
        value = self.values[min(self.calls, len(self.values) - 1)]
        self.calls += 1
        return value


class Recorder:
    """Collect callback values and wake a waiter at a given count."""

    def __init__(self) -> None:
        self.values: list[Any] = []
        self.errors: list[tuple[BaseException, int]] = []
        self.threads: set[int] = set()
        self._want = 0
        self._event = Event()

    def value(self, value: Any) -> None:
        self.threads.add(native.get_ident())
        self.values.append(value)
        if len(self.values) >= self._want:
            self._event.send()

    def error(self, exc: BaseException, poller_id: int) -> None:
        self.threads.add(native.get_ident())
        self.errors.append((exc, poller_id))

    def wait_values(self, n: int, timeout: float = TIMEOUT) -> list[Any]:
        """Wait until ``n`` values arrived."""
        self._want = n
        if len(self.values) < n:
            self._event.clear()
            if len(self.values) < n:
                assert self._event.wait(timeout), (
                    f"{len(self.values)} of {n} values after {timeout} s"
                )
        return self.values

    def wait_error(self, timeout: float = TIMEOUT) -> tuple[BaseException, int]:
        """Wait until an error arrived."""
        wait_until(lambda: self.errors, timeout, "an error callback")
        return self.errors[0]


def witness_ticks(n: int, period_ms: float = 5) -> None:
    """Let ``n`` ticks of a separate fast poller pass (time passing, by events)."""
    counter = Counter()
    rec = Recorder()
    p = Poller.poll(counter.read, (), period_ms, rec.value, None, False)
    try:
        rec.wait_values(n)
    finally:
        p.stop()
