"""Timer: one-shot, retrigger, reset, and cancel races with other threads."""

from __future__ import annotations

import random
import threading

import pytest

from HardwareRepository.bridge import Event, Thread
from HardwareRepository.toolkit import Timer


def test_one_shot_fires_once_in_the_hub_thread():
    fired = Event()
    where = []

    def callback(tag: str) -> None:
        where.append((tag, threading.get_ident()))
        fired.set()

    timer = Timer(0.01, callback, args=("x",))
    assert fired.wait(10)
    assert where == [("x", threading.get_ident())]
    assert not timer.armed
    assert timer.fired == 1
    assert not Event().wait(0.05)  # it does not fire again
    assert timer.fired == 1


def test_retrigger_fires_until_cancelled():
    count = Event()
    calls = []

    def callback() -> None:
        calls.append(1)
        if len(calls) == 5:
            count.set()

    timer = Timer(0.01, callback, retrigger=True)
    assert count.wait(10)
    timer.cancel()
    after = timer.fired
    assert not Event().wait(0.05)
    assert timer.fired == after == len(calls)
    assert timer.cancelled
    assert not timer.armed


def test_cancel_before_the_deadline_prevents_the_firing():
    timer = Timer(0.05, lambda: pytest.fail("fired after cancel"))
    timer.cancel()
    assert not Event().wait(0.15)
    assert timer.fired == 0
    with pytest.raises(RuntimeError, match="cancelled"):
        timer.reset(0.01)


def test_reset_rearms_and_none_suspends():
    fired = Event()
    timer = Timer(None, fired.set)
    assert not timer.armed
    timer.reset(0.01)
    assert fired.wait(10)
    fired.clear()
    timer.reset(0.02)
    timer.reset(None)  # suspended before it fires
    assert not fired.wait(0.1)
    timer.reset(0.0)
    assert fired.wait(10)
    assert timer.fired == 2


def test_resets_from_another_thread_keep_postponing_the_firing():
    fired = Event()
    timer = Timer(0.1, fired.set)
    resets_done = Event()

    def resetter() -> None:
        for _ in range(15):
            timer.reset()  # same delay, from now
            threading.Event().wait(0.02)  # a plain thread pacing its resets
        resets_done.set()

    worker = threading.Thread(target=resetter)
    worker.start()
    assert resets_done.wait(10)
    assert timer.fired == 0  # 0.3 s of resets, each 0.1 s ahead
    worker.join()
    assert fired.wait(10)
    assert timer.fired == 1


def test_no_firing_begins_after_cancel_returns_from_another_thread():
    # The race: a retriggering timer with a tiny delay and a thread that
    # cancels it at a random moment. After cancel() returns, the fired
    # count never moves and every counted firing did run its callback.
    rounds = 200
    problems = []
    done = Event()

    def one_round(i: int, timer: Timer, calls: list) -> None:
        threading.Event().wait(random.random() * 0.002)
        timer.cancel()
        seen = timer.fired
        threading.Event().wait(0.003)
        if timer.fired != seen:
            problems.append((i, seen, timer.fired))

    def canceller(timers: list) -> None:
        for i, (timer, calls) in enumerate(timers):
            one_round(i, timer, calls)
        done.set()

    timers = []
    for _ in range(rounds):
        calls: list = []
        timers.append((Timer(0.0005, calls.append, args=(1,), retrigger=True), calls))
    worker = threading.Thread(target=canceller, args=(timers,))
    worker.start()
    assert done.wait(60)  # the hub keeps firing the timers meanwhile
    worker.join()
    assert problems == []
    assert sum(t.fired for t, _ in timers) > 0
    for timer, calls in timers:
        assert len(calls) == timer.fired


def test_timer_in_another_hub_thread():
    fired = Event()
    hub_thread = Thread()
    hub_thread.start(timeout=10)
    try:
        timer = hub_thread.apply(Timer, 0.01, lambda: fired.set(), timeout=10)
        assert fired.wait(10)
        assert timer.fired == 1
    finally:
        hub_thread.stop(timeout=10)


def test_a_failing_callback_is_logged_and_a_retriggering_timer_goes_on(caplog):
    calls = []
    again = Event()

    def callback() -> None:
        calls.append(1)
        if len(calls) == 3:
            again.set()
        raise OSError("shutter jammed")

    timer = Timer(0.01, callback, retrigger=True, name="shutter")
    try:
        assert again.wait(10)
    finally:
        timer.cancel()
    assert any("shutter" in r.getMessage() and r.exc_info for r in caplog.records)


def test_worker_thread_without_hub_must_pass_a_bridge():
    from HardwareRepository.bridge import get_bridge
    from HardwareRepository.errors import InvalidThreadUseError

    outcome = []
    bridge = get_bridge()
    fired = Event()

    def worker() -> None:
        try:
            Timer(0.01, fired.set)
        except InvalidThreadUseError as exc:
            outcome.append(exc)
        timer = Timer(0.01, fired.set, bridge=bridge)
        outcome.append(timer)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(10)
    assert isinstance(outcome[0], InvalidThreadUseError)
    assert fired.wait(10)
