"""@green: wait= and timeout= for any blocking function; AsyncResult if not waiting."""

from __future__ import annotations

import threading
import time
import traceback

import gevent
import pytest

from HardwareRepository.bridge import AsyncResult, Event
from HardwareRepository.errors import Timeout
from HardwareRepository.toolkit import SerialWorker, green, run_in_thread


@green
def blocking_read(channel: int, release: threading.Event | None = None) -> tuple:
    """A driver call that blocks its thread."""
    if release is not None:
        release.wait(10)
    else:
        time.sleep(0.01)
    return channel, threading.get_ident()


def test_waiting_greenlet_lets_the_hub_run():
    release = threading.Event()
    ticks = []

    def ticker() -> None:
        while not release.is_set():
            ticks.append(1)
            gevent.sleep(0.002)
        ticks.append("released")

    def releaser() -> None:
        while len(ticks) < 5:
            gevent.sleep(0.002)
        release.set()

    helpers = [gevent.spawn(ticker), gevent.spawn(releaser)]
    channel, ident = blocking_read(3, release)
    gevent.joinall(helpers, timeout=10)
    assert channel == 3
    assert ident != threading.get_ident()
    assert ticks[-1] == "released"


def test_wait_false_returns_an_async_result():
    result = blocking_read(4, wait=False)
    assert isinstance(result, AsyncResult)
    assert result.get(10)[0] == 4


def test_timeout_raises_but_the_call_goes_on():
    release = threading.Event()
    finished = Event()

    @green(timeout=0.05)
    def slow() -> None:
        release.wait(10)
        finished.set()

    with pytest.raises(Timeout, match="still running"):
        slow()
    assert not finished.is_set()
    release.set()
    assert finished.wait(10)
    release.clear()
    result = slow(wait=False)
    release.set()
    assert result.get(10) is None


def test_exception_travels_with_its_traceback():
    @green
    def broken() -> None:
        raise ConnectionError("motor controller offline")

    with pytest.raises(ConnectionError, match="offline") as info:
        broken()
    assert "broken" in [f.name for f in traceback.extract_tb(info.value.__traceback__)]


def test_plain_thread_runs_inline_unless_asked_otherwise():
    out: AsyncResult[tuple] = AsyncResult()

    def worker() -> None:
        inline = blocking_read(1)
        offloaded = blocking_read(2, wait=False).get(10)
        out.set((threading.get_ident(), inline[1], offloaded[1]))

    thread = threading.Thread(target=worker)
    thread.start()
    me, inline_ident, offloaded_ident = out.get(10)
    thread.join(10)
    assert inline_ident == me
    assert offloaded_ident != me


def test_executor_serialises_calls_in_its_thread():
    with SerialWorker("driver") as worker:

        @green(executor=worker)
        def command(n: int) -> int:
            return threading.get_ident()

        idents = {command(i) for i in range(5)}
        results = [command(i, wait=False) for i in range(5)]
        idents |= {r.get(10) for r in results}
        assert len(idents) == 1
        assert worker.call(lambda: command(0), timeout=10) in idents  # inline


def test_run_in_thread():
    assert run_in_thread(lambda a, b: a * b, 6, b=7).get(10) == 42
