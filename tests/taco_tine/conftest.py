"""Fixtures for the Taco and TINE tests: simulated servers, signal recorders."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

import gevent
import gevent.event
import pytest

from HardwareRepository.bridge import AsyncResult, Event, native
from HardwareRepository.Command import taco_sim, tine_sim
from HardwareRepository.HardwareRepository import HardwareRepository


@pytest.fixture(autouse=True)
def _no_simulation_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests select the simulation explicitly; the shell's variables do not count."""
    monkeypatch.delenv("HWR_TACO_SIMULATION", raising=False)
    monkeypatch.delenv("HWR_TINE_SIMULATION", raising=False)


@pytest.fixture
def taco() -> Iterator[Any]:
    """The simulated Taco client, emptied after the test."""
    yield taco_sim
    taco_sim.reset()


@pytest.fixture
def tine() -> Iterator[Any]:
    """The simulated TINE client; links and servers are gone after the test."""
    yield tine_sim
    leftover = tine_sim.link_count()
    tine_sim.reset()
    assert leftover == 0, f"{leftover} TINE link(s) left attached"


class Recorder:
    """Record a channel's or command's signals in the hub; wait for conditions.

    Waiting is event-driven: every recorded signal wakes the waiter, which then
    re-checks its condition.
    """

    def __init__(self, item: Any) -> None:
        self.values: list[Any] = []
        self.connections: list[bool] = []
        self.qualities: list[Any] = []
        self.failures: list[tuple[Any, str]] = []
        self.replies: list[tuple[Any, str]] = []
        self.threads: set[int] = set()
        self._changed = gevent.event.Event()
        item.connect_signal("update", self._on_update, weak=False)
        item.connect_signal("connectionStateChanged", self._on_connection, weak=False)
        item.connect_signal("qualityChanged", self._on_quality, weak=False)
        item.connect_signal("commandFailed", self._on_failed, weak=False)
        item.connect_signal("commandReplyArrived", self._on_reply, weak=False)

    def _note(self) -> None:
        self.threads.add(threading.get_ident())
        self._changed.set()

    def _on_update(self, value: Any) -> None:
        self.values.append(value)
        self._note()

    def _on_connection(self, connected: bool) -> None:
        self.connections.append(connected)
        self._note()

    def _on_quality(self, quality: Any) -> None:
        self.qualities.append(quality)
        self._note()

    def _on_failed(self, exc: Any, name: str) -> None:
        self.failures.append((exc, name))
        self._note()

    def _on_reply(self, value: Any, name: str) -> None:
        self.replies.append((value, name))
        self._note()

    def wait_for(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait until ``condition()`` is true; fail the test after ``timeout`` s."""
        with gevent.Timeout(
            timeout, AssertionError(f"condition not met in {timeout} s")
        ):
            while not condition():
                self._changed.clear()
                if condition():
                    return
                self._changed.wait()


class LogWatcher(logging.Handler):
    """Count log records containing a text; wake waiters (any thread)."""

    def __init__(self, logger: str, text: str) -> None:
        super().__init__(logging.DEBUG)
        self.text = text
        self.count = 0
        self._logger = logging.getLogger(logger)
        self._old_level = self._logger.level
        self._lock = native.allocate_lock()
        self._waiters: list[tuple[int, Event]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if self.text not in record.getMessage():
            return
        with self._lock:
            self.count += 1
            for wanted, event in self._waiters:
                if self.count >= wanted:
                    event.set()

    def wait_count(self, wanted: int, timeout: float = 10.0) -> None:
        """Wait until ``wanted`` matching records were logged."""
        event = Event()
        with self._lock:
            self._waiters.append((wanted, event))
            if self.count >= wanted:
                event.set()
        assert event.wait(timeout), f"{self.count} < {wanted} records {self.text!r}"

    def __enter__(self) -> LogWatcher:
        self._logger.addHandler(self)
        self._logger.setLevel(logging.DEBUG)
        return self

    def __exit__(self, *exc: Any) -> None:
        self._logger.removeHandler(self)
        self._logger.setLevel(self._old_level)


@pytest.fixture
def watch_log() -> Callable[[str, str], LogWatcher]:
    """Return ``watch_log(logger, text)``: a context manager counting records."""
    return LogWatcher


@pytest.fixture
def record() -> Callable[[Any], Recorder]:
    """Return ``record(item) -> Recorder``."""
    return Recorder


@pytest.fixture
def in_plain_thread() -> Iterator[Callable[..., AsyncResult[Any]]]:
    """Return ``in_plain_thread(func, *args, **kwargs) -> AsyncResult``.

    Runs the call in a new ``threading.Thread`` (no hub of its own); the
    result or exception lands in the returned result. Threads are joined after
    the test.
    """
    threads: list[threading.Thread] = []

    def run(func: Callable[..., Any], *args: Any, **kwargs: Any) -> AsyncResult[Any]:
        out: AsyncResult[Any] = AsyncResult()

        def main() -> None:
            try:
                out.set(func(*args, **kwargs))
            except BaseException as exc:
                out.set_exception(exc)

        thread = threading.Thread(target=main)
        threads.append(thread)
        thread.start()
        return out

    yield run
    for thread in threads:
        thread.join(10.0)


@pytest.fixture
def make_repo(tmp_path: Any) -> Iterator[Callable[..., HardwareRepository]]:
    """Return ``make_repo({name: xml_text}) -> HardwareRepository``; shut down after."""
    made: list[HardwareRepository] = []

    def factory(files: dict[str, str]) -> HardwareRepository:
        for name, text in files.items():
            path = os.path.join(str(tmp_path), f"{name}.xml")
            with open(path, "w") as handle:
                handle.write(text)
        repo = HardwareRepository(str(tmp_path))
        made.append(repo)
        return repo

    yield factory
    for repo in made:
        assert repo.shutdown(timeout=5.0) == []
