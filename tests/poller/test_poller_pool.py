"""The shared pool: bounded, grows on demand, hanging calls, idle expiry, shutdown."""

from __future__ import annotations

import sys

import pytest
from _poller_helpers import Counter, Recorder, wait_until

from HardwareRepository import Poller
from HardwareRepository._polling import _poller as engine
from HardwareRepository.bridge import Event, native


def _python_threads() -> int:
    return len(sys._current_frames())


class Gate:
    """Polled calls that block until released, counting how many are inside."""

    def __init__(self) -> None:
        self.release = Event()
        self.lock = native.allocate_lock()
        self.inside = 0
        self.max_inside = 0

    def make(self):
        def read():
            with self.lock:
                self.inside += 1
                self.max_inside = max(self.max_inside, self.inside)
            try:
                assert self.release.wait(30), "never released"
            finally:
                with self.lock:
                    self.inside -= 1
            return 1

        return read


def test_a_hanging_call_delays_no_other_poller():
    gate = Gate()
    hanging = gate.make()
    p_hang = Poller.poll(hanging, (), 5)
    wait_until(lambda: gate.inside == 1, what="the hanging call")
    counter = Counter()
    rec = Recorder()
    p = Poller.poll(counter.read, (), 2, rec.value, None, False)
    rec.wait_values(20)
    assert gate.inside == 1
    gate.release.send()
    p_hang.stop()
    p.stop()


def test_the_pool_never_exceeds_its_thread_cap():
    Poller.configure(max_threads=3)
    before = _python_threads()
    gate = Gate()
    calls = [gate.make() for _ in range(6)]
    pollers = [Poller.poll(call, (), 5) for call in calls]
    wait_until(lambda: gate.inside == 3, what="3 calls in the 3 threads")
    # The 3 other jobs are due and wait for a thread, instead of a 4th thread.
    scheduler = engine.polling_service().scheduler
    wait_until(lambda: scheduler.pool.queued == 3, what="3 queued calls")
    assert gate.inside == 3
    assert scheduler.pool.threads == 3
    assert Poller.pool_threads() == 4  # + the scheduler thread
    assert _python_threads() - before <= 4
    gate.release.send()
    wait_until(
        lambda: all(p.statistics().calls >= 1 for p in pollers),
        what="every poller to get a turn",
    )
    assert gate.max_inside == 3
    assert scheduler.pool.peak_threads == 3
    for p in pollers:
        p.stop()


def test_the_pool_grows_on_demand():
    gate = Gate()
    calls = [gate.make() for _ in range(5)]
    pollers = [Poller.poll(call, (), 5) for call in calls]
    wait_until(lambda: gate.inside == 5, what="5 concurrent calls")
    gate.release.send()
    for p in pollers:
        p.stop()


def test_idle_threads_expire_without_shutdown():
    Poller.configure(idle_timeout=0.2)
    counter = Counter()
    rec = Recorder()
    p = Poller.poll(counter.read, (), 2, rec.value)
    rec.wait_values(3)
    assert Poller.pool_threads() >= 2
    p.stop()
    wait_until(lambda: Poller.pool_threads() == 0, timeout=3, what="idle expiry")


def test_default_idle_expiry_is_within_two_seconds():
    counter = Counter()
    rec = Recorder()
    p = Poller.poll(counter.read, (), 2, rec.value)
    rec.wait_values(2)
    p.stop()
    wait_until(lambda: Poller.pool_threads() == 0, timeout=2.5, what="idle expiry")


def test_shutdown_ends_every_thread_and_polling_can_start_again():
    counter = Counter()
    p = Poller.poll(counter.read, (), 2)
    wait_until(lambda: counter.count >= 2, what="2 calls")
    assert Poller.shutdown(timeout=10)
    assert p.is_stopped()
    assert Poller.pool_threads() == 0
    rec = Recorder()
    p2 = Poller.poll(counter.read, (), 2, rec.value)
    rec.wait_values(1)
    p2.stop()


def test_shutdown_reports_a_call_that_does_not_return():
    gate = Gate()
    hanging = gate.make()  # the Poller holds its polled callable weakly
    p = Poller.poll(hanging, (), 5)
    wait_until(lambda: gate.inside == 1, what="the hanging call")
    assert Poller.shutdown(timeout=0.2) is False
    assert p.is_stopped()
    gate.release.send()
    wait_until(lambda: gate.inside == 0, what="the call to return")


def test_configure_rejects_bad_settings():
    with pytest.raises(ValueError):
        Poller.configure(max_threads=0)
    with pytest.raises(ValueError):
        Poller.configure(idle_timeout=0)


def test_queued_tasks_wait_for_a_busy_thread_until_the_stall_check_adds_one():
    from HardwareRepository._polling._pool import GROW_AFTER, WorkerPool

    pool = WorkerPool(lambda: 4, lambda: 1.0)
    release = native.allocate_lock()
    release.acquire()
    entered = Event()
    ran: list[int] = []
    done = Event()

    def hang():
        entered.send()
        with release:
            pass

    def short():
        ran.append(native.get_ident())
        if len(ran) == 10:
            done.send()

    try:
        pool.submit(hang)
        assert entered.wait(10)
        hang_thread = pool.threads
        for _ in range(10):
            pool.submit(short)
        # No thread per task: the queued tasks wait for the busy thread ...
        assert pool.threads == hang_thread == 1
        assert pool.queued == 10
        assert ran == []
        # ... until the scheduler's stall check finds them waiting too long.
        assert pool.grow_stalled(native.monotonic() + GROW_AFTER) is not None
        assert done.wait(10)
        assert pool.busy <= 1
        assert len(ran) == 10
    finally:
        release.release()
        assert pool.shutdown(10)
