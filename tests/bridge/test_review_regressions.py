"""Regressions for the races found in the bridge review (one test each)."""

from __future__ import annotations

import threading
import time

import gevent
import pytest

from HardwareRepository.bridge import (
    AsyncResult,
    Event,
    HubTrigger,
    RLock,
    Thread,
    get_bridge,
)
from HardwareRepository.errors import BridgeClosedError, Timeout


def test_spawn_racing_stop_always_settles_its_result():
    for _ in range(10):
        worker = Thread()
        worker.start(timeout=10)
        worker.stop(wait=False)
        try:
            result = worker.spawn(lambda: 1)
        except BridgeClosedError:
            worker.join(10)
            continue
        worker.join(10)
        try:
            assert result.get(timeout=5) == 1
        except BridgeClosedError:
            pass  # told the thread was closing: settled, not hung


def test_greenlets_left_in_an_ended_thread_are_killed_and_leave_primitives_usable():
    event = Event()
    lock = RLock()
    cleaned = []

    def stray() -> None:
        try:
            with lock:
                pass
            event.wait()
        finally:
            cleaned.append("stray")

    def target() -> None:
        gevent.spawn(stray)  # not started through the Thread's API
        gevent.sleep(0.05)

    lock.acquire()
    worker = Thread(target=target)
    worker.start(timeout=10)
    worker.get(timeout=10)
    assert cleaned == ["stray"]
    event.send()  # must not raise for the dead waiter
    lock.release()  # must not hand the lock to the dead greenlet
    assert lock.acquire(timeout=5)
    lock.release()


def test_a_flood_of_posts_does_not_starve_the_hub():
    bridge = get_bridge()
    stop = threading.Event()

    def flood() -> None:
        while not stop.is_set():
            for _ in range(1000):
                bridge.post(time.perf_counter)

    t = threading.Thread(target=flood)
    t.start()
    try:
        t0 = time.perf_counter()
        gevent.sleep(0.02)
        slept = time.perf_counter() - t0
    finally:
        stop.set()
        t.join()
    assert slept < 2.0


def test_blocking_trigger_resending_itself_does_not_freeze_the_hub():
    runs = [0]

    def again() -> None:
        runs[0] += 1
        if runs[0] < 100_000:
            trigger.send()

    trigger = HubTrigger(again, blocking=True)
    trigger.send()
    t0 = time.perf_counter()
    gevent.sleep(0.01)
    assert time.perf_counter() - t0 < 2.0
    trigger.close()


def test_stop_before_start_and_join_before_start():
    worker = Thread()
    worker.stop()  # returns at once
    with pytest.raises(RuntimeError, match="never started"):
        Thread().join(0.1)
    worker.start(timeout=10)
    worker.join(timeout=10)  # the earlier stop ends it at once
    assert not worker.is_alive()


def test_stop_from_inside_the_thread_ends_it_without_error():
    box = []

    def target() -> str:
        box[0].stop()
        gevent.sleep(10)
        return "not reached"

    worker = Thread(target=target)
    box.append(worker)
    worker.start(timeout=10)
    assert worker.get(timeout=10) is None


def test_zero_timeout_polls_work_inside_the_hub():
    out = []
    pending: AsyncResult[int] = AsyncResult()

    def in_hub() -> None:
        out.append(Event().wait(0))
        try:
            pending.get(0)
        except Timeout:
            out.append("timeout")
        out.append(RLock().acquire(timeout=0))

    done = Event()
    get_bridge().post(in_hub)
    get_bridge().post(done.send)
    assert done.wait(5)
    assert out == [False, "timeout", True]


def test_hub_trigger_closed_before_its_spawned_run_begins_never_calls_func():
    calls = []
    trigger = HubTrigger(lambda: calls.append(1))

    def main() -> None:
        trigger.send()
        # Runs in the same drain as the trigger's wake-up, after it spawned the
        # greenlet that would call func, before that greenlet starts.
        get_bridge().post(trigger.close)
        gevent.sleep(0.05)

    gevent.spawn(main).join(timeout=10)
    assert calls == []
    with pytest.raises(BridgeClosedError):
        trigger.send()


def test_thread_target_exception_is_logged_not_printed_by_the_hub(caplog, capfd):
    def target() -> None:
        raise ValueError("target failed on purpose")

    worker = Thread(target=target, name="failing-target")
    worker.start(timeout=10)
    with pytest.raises(ValueError, match="on purpose"):
        worker.get(timeout=10)
    assert "target failed on purpose" not in capfd.readouterr().err
    records = [r for r in caplog.records if "failing-target" in r.getMessage()]
    assert len(records) == 1
    assert records[0].exc_info is not None
    assert records[0].exc_info[0] is ValueError


def test_keyboard_interrupt_in_a_spawned_greenlet_reaches_the_main_greenlet():
    from HardwareRepository.bridge import spawn_logged

    def interrupted() -> None:
        raise KeyboardInterrupt

    spawn_logged(interrupted)
    with pytest.raises(KeyboardInterrupt):
        gevent.sleep(0.05)  # the hub hands the interrupt to this greenlet
