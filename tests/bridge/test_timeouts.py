"""Every timeout path raises (or reports) in time, and the message says what."""

from __future__ import annotations

import threading
import time

import gevent
import pytest

from HardwareRepository.bridge import (
    AsyncResult,
    Event,
    Launcher,
    Lock,
    Queue,
    RLock,
    Thread,
)
from HardwareRepository.errors import Timeout


def in_thread(func):
    """Run ``func`` in a plain thread; return what it returned or raised."""
    out: dict[str, object] = {}

    def body() -> None:
        try:
            out["value"] = func()
        except BaseException as exc:
            out["error"] = exc

    t = threading.Thread(target=body)
    t.start()
    while t.is_alive():
        gevent.sleep(0.001)
    return out


def _capture(func):
    try:
        return {"value": func()}
    except BaseException as exc:
        return {"error": exc}


@pytest.fixture(params=["greenlet", "thread"], name="run")
def run_fixture(request):
    return _capture if request.param == "greenlet" else in_thread


def test_async_result_get_times_out(run):
    result: AsyncResult[int] = AsyncResult(name="motor position")
    t0 = time.monotonic()
    out = run(lambda: result.get(timeout=0.05))
    assert time.monotonic() - t0 >= 0.05
    assert isinstance(out["error"], Timeout)
    assert "motor position" in str(out["error"])


def test_event_wait_times_out_with_false(run):
    out = run(lambda: Event().wait(timeout=0.05))
    assert out["value"] is False


def test_a_wait_after_the_hub_thread_was_blocked_lasts_its_whole_timeout():
    # The loop caches its clock; after a long synchronous call in the hub's
    # thread a 1 s wait timed out at once (seen after 10 s of subprocess.run).
    gevent.sleep(0)  # the hub exists and has run
    time.sleep(1.5)  # blocks the thread: the loop's clock stands still
    t0 = time.monotonic()
    assert Event().wait(timeout=1.0) is False
    assert time.monotonic() - t0 >= 1.0
    result: AsyncResult[int] = AsyncResult(name="after a block")
    time.sleep(1.5)
    t0 = time.monotonic()
    with pytest.raises(Timeout):
        result.get(timeout=1.0)
    assert time.monotonic() - t0 >= 1.0


def test_queue_get_and_put_time_out(run):
    q: Queue[int] = Queue(maxsize=1)
    out = run(lambda: q.get(timeout=0.05))
    assert isinstance(out["error"], Timeout)
    assert "nothing in" in str(out["error"])
    q.put(1)
    out = run(lambda: q.put(2, timeout=0.05))
    assert isinstance(out["error"], Timeout)
    assert "no room" in str(out["error"])
    assert q.get_nowait() == 1


@pytest.mark.parametrize("lock_class", [Lock, RLock])
def test_lock_acquire_times_out_with_false(run, lock_class):
    lock = lock_class()
    holder_has_it = threading.Event()
    release = threading.Event()

    def holder() -> None:
        with lock:
            holder_has_it.set()
            release.wait(10)

    t = threading.Thread(target=holder)
    t.start()
    holder_has_it.wait(10)
    out = run(lambda: lock.acquire(timeout=0.05))
    assert out["value"] is False
    assert run(lambda: lock.acquire(blocking=False))["value"] is False
    release.set()
    while t.is_alive():
        gevent.sleep(0.001)
    assert not lock.locked()


def test_launcher_apply_from_thread_times_out_naming_the_function():
    launcher = Launcher()

    def slow_operation() -> None:
        gevent.sleep(1)

    out = in_thread(lambda: launcher.apply(slow_operation, timeout=0.05))
    assert isinstance(out["error"], Timeout)
    assert "slow_operation" in str(out["error"])
    launcher.kill_all()


def test_thread_join_get_and_stop_time_out_while_busy():
    started = threading.Event()
    stop_spinning = threading.Event()

    def spin() -> None:
        started.set()
        while not stop_spinning.is_set():  # never yields to its hub
            time.sleep(0.001)

    worker = Thread(target=spin, name="spinner")
    worker.start(timeout=10)
    assert started.wait(10)
    with pytest.raises(Timeout, match="spinner"):
        worker.join(timeout=0.05)
    with pytest.raises(Timeout, match="spinner"):
        worker.get(timeout=0.05)
    with pytest.raises(Timeout, match="spinner"):
        worker.stop(timeout=0.05)
    stop_spinning.set()
    worker.join(timeout=10)
    assert not worker.is_alive()
