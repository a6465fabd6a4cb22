"""AsyncResult, Launcher and exceptions crossing in both directions."""

from __future__ import annotations

import threading
import traceback

import gevent
import pytest

from HardwareRepository.bridge import AsyncResult, Launcher, Thread
from HardwareRepository.errors import Timeout


def _raise_in_hub(marker: str) -> None:
    raise KeyError(marker)


def _raise_in_worker_hub(marker: str) -> None:
    raise LookupError(marker)


def test_launcher_apply_from_a_thread_runs_in_the_owner_and_returns():
    launcher = Launcher()
    owner = threading.get_ident()
    out = []

    def body() -> None:
        out.append(
            launcher.apply(lambda a, b=0: (threading.get_ident(), a + b), 2, b=3)
        )

    t = threading.Thread(target=body)
    t.start()
    while t.is_alive():
        gevent.sleep(0.001)
    assert out == [(owner, 5)]


def test_exception_crosses_thread_to_hub_with_its_traceback():
    launcher = Launcher()
    caught = []

    def body() -> None:
        try:
            launcher.apply(_raise_in_hub, "thread->hub")
        except KeyError as exc:
            caught.append(exc)

    t = threading.Thread(target=body)
    t.start()
    while t.is_alive():
        gevent.sleep(0.001)
    assert len(caught) == 1
    frames = [f.name for f in traceback.extract_tb(caught[0].__traceback__)]
    assert "_raise_in_hub" in frames
    assert caught[0].args == ("thread->hub",)


def test_exception_crosses_hub_to_thread_with_its_traceback():
    worker = Thread(name="worker")
    worker.start(timeout=10)
    try:
        with pytest.raises(LookupError) as info:
            worker.apply(_raise_in_worker_hub, "hub->thread", timeout=10)
        frames = [f.name for f in traceback.extract_tb(info.value.__traceback__)]
        assert "_raise_in_worker_hub" in frames
        assert worker.apply(threading.get_ident, timeout=10) == worker.ident
        assert worker.ident != threading.get_ident()
    finally:
        worker.stop(timeout=10)


def test_launcher_apply_from_its_own_thread_runs_inline():
    launcher = Launcher()
    me = gevent.getcurrent()
    assert launcher.apply(gevent.getcurrent) is me


def test_apply_async_from_own_thread_spawns_and_returns_a_result():
    launcher = Launcher()
    result = launcher.apply_async(lambda: gevent.getcurrent())
    assert isinstance(result, AsyncResult)
    value = result.get(timeout=5)
    assert value is not gevent.getcurrent()


def test_async_result_set_once_exception_and_states():
    result: AsyncResult[int] = AsyncResult(name="probe")
    assert not result.ready()
    assert not result.successful()
    result.set(ValueError("bad"))
    assert result.ready()
    assert not result.successful()
    assert result.wait(0) is None
    with pytest.raises(ValueError, match="bad"):
        result.get()
    with pytest.raises(RuntimeError, match="already set"):
        result.set(1)


def test_async_result_set_from_many_threads_only_one_wins():
    result: AsyncResult[int] = AsyncResult()
    wins = []

    def setter(i: int) -> None:
        try:
            result.set(i)
            wins.append(i)
        except RuntimeError:
            pass

    threads = [threading.Thread(target=setter, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1
    assert result.get(0) == wins[0]


def test_plain_thread_waits_natively_for_a_greenlet():
    result: AsyncResult[str] = AsyncResult()
    got = []

    def waiter() -> None:
        got.append(result.get(timeout=10))

    t = threading.Thread(target=waiter)
    t.start()
    gevent.sleep(0.01)
    result.set("from greenlet")
    while t.is_alive():
        gevent.sleep(0.001)
    assert got == ["from greenlet"]


def test_timeout_is_a_builtin_timeout_error():
    assert issubclass(Timeout, TimeoutError)
