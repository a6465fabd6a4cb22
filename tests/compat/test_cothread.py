"""The cothread-compatible API on gevent: the seed's semantics, seed-style examples."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
import traceback

import gevent
import pytest
from gevent._hub_local import get_hub_if_exists

from HardwareRepository.bridge import AsyncResult
from HardwareRepository.compat import cothread
from HardwareRepository.compat.cothread import (
    AbsTimeout,
    Callback,
    CallbackResult,
    CrossThreadError,
    Event,
    EventQueue,
    Pulse,
    Sleep,
    SleepUntil,
    Spawn,
    ThreadedEventQueue,
    Timedout,
    Timer,
    WaitForAll,
    Yield,
    coselect,
)
from HardwareRepository.errors import Timeout

# -- Spawn, Sleep, Yield ------------------------------------------------------


def test_seed_example_two_tasks_interleave():
    # The classic cothread example: two tickers share one thread.
    output = []

    def ticker(name: str, count: int, interval: float) -> str:
        for i in range(count):
            output.append(f"{name}{i}")
            Sleep(interval)
        return name

    a = Spawn(ticker, "a", 3, 0.01)
    b = Spawn(ticker, "b", 3, 0.01)
    assert not a  # not started before the caller yields
    assert WaitForAll([a, b], 10) == ["a", "b"]
    assert a
    assert b
    assert sorted(output) == ["a0", "a1", "a2", "b0", "b1", "b2"]
    assert output[:2] == ["a0", "b0"]  # they took turns


def test_wait_raise_on_wait_reraises_with_the_task_traceback():
    def failing() -> None:
        raise ValueError("beam lost")

    task = Spawn(failing, raise_on_wait=True)
    with pytest.raises(ValueError, match="beam lost") as info:
        task.Wait(10)
    assert "failing" in [f.name for f in traceback.extract_tb(info.value.__traceback__)]


def test_without_raise_on_wait_the_error_is_logged_and_wait_returns_none(caplog):
    def failing() -> None:
        raise ValueError("beam lost")

    assert Spawn(failing).Wait(10) is None
    assert any("failing" in r.getMessage() and r.exc_info for r in caplog.records)


def test_wait_timeouts_relative_and_absolute():
    task = Spawn(Sleep, 0.2)
    with pytest.raises(Timedout):
        task.Wait(0.01)
    with pytest.raises(TimeoutError):  # Timedout is the package's Timeout
        task.Wait(AbsTimeout(0.01))
    assert issubclass(Timedout, Timeout)
    assert task.Wait(10) is None


def test_sleep_until_and_yield():
    start = time.time()
    SleepUntil(start + 0.02)
    assert time.time() >= start + 0.02
    order = []
    Spawn(order.append, "task")
    Yield()
    assert order == ["task"]


def test_cooperative_objects_refuse_other_threads():
    event = Event()
    errors: AsyncResult[tuple] = AsyncResult()

    def other() -> None:
        try:
            event.Signal(1)
        except CrossThreadError as exc:
            errors.set((exc,))
        else:
            errors.set((None,))

    thread = threading.Thread(target=other)
    thread.start()
    thread.join(10)
    assert isinstance(errors.get(10)[0], AssertionError)
    assert get_hub_if_exists() is not None


# -- Event, Pulse ---------------------------------------------------------------


def test_auto_reset_signal_wakes_exactly_one_waiter():
    event = Event()
    woken = []

    def waiter(n: int) -> None:
        woken.append((n, event.Wait(10)))

    tasks = [Spawn(waiter, n, raise_on_wait=True) for n in range(3)]
    Yield()  # all three wait now
    event.Signal("first")
    Sleep(0.02)
    assert woken == [(0, "first")]
    assert not event  # consumed
    event.Signal("second")
    event_count = len(woken)
    Sleep(0.02)
    assert len(woken) == event_count + 1
    event.Signal("third")
    WaitForAll(tasks, 10)
    assert [w[1] for w in woken] == ["first", "second", "third"]


def test_manual_reset_signal_wakes_every_waiter_and_stays_set():
    event = Event(auto_reset=False)
    tasks = [Spawn(event.Wait, 10, raise_on_wait=True) for _ in range(3)]
    Yield()
    event.Signal(7)
    assert WaitForAll(tasks, 10) == [7, 7, 7]
    assert event
    assert event.Wait(0) == 7
    event.Reset()
    with pytest.raises(Timedout):
        event.Wait(0.01)


def test_signal_exception_is_raised_by_wait():
    event = Event()
    event.SignalException(OSError("interlock open"))
    with pytest.raises(OSError, match="interlock"):
        event.Wait(1)
    assert not event


def test_pulse_wakes_current_waiters_only():
    pulse = Pulse()
    tasks = [Spawn(pulse.Wait, 10, raise_on_wait=True) for _ in range(2)]
    Yield()
    pulse.Signal()
    WaitForAll(tasks, 10)
    with pytest.raises(Timedout):
        pulse.Wait(0.01)


# -- EventQueue -----------------------------------------------------------------


def test_event_queue_fifo_bounded_close_and_iteration():
    queue = EventQueue(max_length=3)
    assert [queue.Signal(i) for i in range(4)] == [True, True, True, False]
    assert len(queue) == 3
    assert queue.Wait(1) == 0
    queue.close()
    assert list(queue) == [1, 2]  # drained, then StopIteration
    with pytest.raises(StopIteration):
        queue.Wait(1)
    with pytest.raises(ValueError, match="closed"):
        queue.Signal(9)


def test_event_queue_close_releases_blocked_waiters():
    queue = EventQueue()
    consumer = Spawn(lambda: list(queue), raise_on_wait=True)
    blocked = Spawn(queue.Wait, 0.05, raise_on_wait=True)
    with pytest.raises(Timedout):
        blocked.Wait(10)  # nothing queued: the seed test's Wait(0.1) case
    queue.Signal("a")
    queue.Signal("b")
    Yield()
    queue.close()
    assert consumer.Wait(10) == ["a", "b"]


# -- ThreadedEventQueue ------------------------------------------------------------


def test_threaded_event_queue_thread_to_greenlet():
    queue = ThreadedEventQueue()
    ticks = []

    def ticker() -> None:
        while len(ticks) < 3:
            ticks.append(1)
            Sleep(0.005)

    def producer() -> None:
        threading.Event().wait(0.05)
        for i in range(100):
            queue.Signal(i)

    helper = Spawn(ticker)
    thread = threading.Thread(target=producer)
    thread.start()
    got = [queue.Wait(10) for _ in range(100)]  # cooperative: ticker runs
    thread.join(10)
    helper.Wait(10)
    assert got == list(range(100))
    assert len(ticks) == 3


def test_threaded_event_queue_greenlet_to_plain_thread():
    queue = ThreadedEventQueue()
    out: AsyncResult[tuple] = AsyncResult()

    def consumer() -> None:
        values = [queue.Wait(10) for _ in range(50)]
        try:
            queue.Wait(0.01)
        except Timedout:
            values.append("timed out")
        out.set((values, get_hub_if_exists()))

    thread = threading.Thread(target=consumer)
    thread.start()
    for i in range(50):
        queue.Signal(i)
        if i % 10 == 0:
            Yield()
    values, hub = out.get(10)
    thread.join(10)
    assert values == [*range(50), "timed out"]
    assert hub is None  # the plain thread never got a gevent hub
    assert len(queue) == 0


# -- Timer ------------------------------------------------------------------------


def test_timer_one_shot_retrigger_cancel_and_reset():
    fired = []
    Timer(0.01, lambda: fired.append("once"))
    repeating = Timer(0.01, lambda: fired.append("again"), retrigger=True)
    Sleep(0.1)
    repeating.cancel()
    count = fired.count("again")
    Sleep(0.05)
    assert fired.count("once") == 1
    assert count >= 3
    assert fired.count("again") == count

    one_shot = Timer(0.01, lambda: None)
    with pytest.raises(AssertionError, match="reuse"):
        one_shot.reset(0.01)
    one_shot.cancel()

    reusable = Timer(None, lambda: fired.append("reused"), reuse=True)
    reusable.reset(0.01)
    Sleep(0.05)
    reusable.reset((time.time() + 0.01,))  # an absolute deadline
    Sleep(0.05)
    reusable.cancel()
    assert fired.count("reused") == 2


def test_timer_cancel_race():
    # cancel() right as the timer is due: the callback never runs afterwards.
    late = []
    for _ in range(200):
        cancelled = []
        timer = Timer(0.0, lambda c=cancelled: late.append(1) if c else None)
        if os.urandom(1)[0] & 1:
            Yield()
        timer.cancel()
        cancelled.append(True)
    Sleep(0.02)
    assert late == []


# -- WaitForAll ----------------------------------------------------------------------


def test_wait_for_all_shares_one_deadline_and_aborts_the_rest():
    slow = [Spawn(Sleep, 0.3) for _ in range(3)]
    start = time.time()
    with pytest.raises(Timedout):
        WaitForAll(slow, 0.05)
    assert time.time() - start < 0.25  # one deadline, not three
    assert WaitForAll(slow, 10) == [None, None, None]


# -- Callback, CallbackResult ---------------------------------------------------------


def test_callback_and_callback_result_from_a_thread():
    seen: AsyncResult[int] = AsyncResult()
    out: AsyncResult[object] = AsyncResult()

    def worker() -> None:
        Callback(lambda: seen.set(threading.get_ident()))
        value = CallbackResult(lambda x: (x, threading.get_ident()), 5)
        try:
            CallbackResult(lambda: 1 / 0)
        except ZeroDivisionError as exc:
            out.set((value, exc))

    thread = threading.Thread(target=worker)
    thread.start()
    value, exc = out.get(10)
    thread.join(10)
    assert seen.get(10) == threading.get_ident()
    assert value == (5, threading.get_ident())
    assert isinstance(exc, ZeroDivisionError)
    assert CallbackResult(lambda: "inline") == "inline"


# -- coselect ----------------------------------------------------------------------


def test_coselect_poll_list_select_and_poll():
    a, b = socket.socketpair()
    try:
        assert coselect.poll_list([(a.fileno(), coselect.POLLIN)], 0.01) == []

        def send_later() -> None:
            Sleep(0.02)
            b.send(b"x")

        Spawn(send_later)
        ready = coselect.poll_list([(a.fileno(), coselect.POLLIN)], 10)
        assert ready == [(a.fileno(), coselect.POLLIN)]
        readable, _, _ = coselect.select([a], [], [], 1)
        assert readable == [a]
        poller = coselect.poll()
        poller.register(a.fileno(), coselect.POLLIN)
        assert poller.poll(None) == [(a.fileno(), coselect.POLLIN)]  # None: no error
        poller.unregister(a.fileno())
        assert coselect.poll_block([(a.fileno(), coselect.POLLIN)], 1)
    finally:
        a.close()
        b.close()


# -- Qt ----------------------------------------------------------------------------


def test_iqt_refuses_run_exec():
    with pytest.raises(ValueError, match="exec_"):
        cothread.iqt(run_exec=True)


# -- Quit, WaitForQuit (subprocesses: the quit event stays set for good) ----------

_QUIT_SCRIPT = textwrap.dedent(
    """
    import sys
    from HardwareRepository.compat.cothread import WaitForQuit, Sleep, Spawn
    ticks = []
    def ticker():
        while True:
            ticks.append(1)
            Sleep(0.01)
    Spawn(ticker)
    print("ready", flush=True)
    try:
        WaitForQuit(catch_interrupt={catch})
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        sys.exit(3)
    print("quit", len(ticks) > 0, flush=True)
    """
)


def _run_and_interrupt(catch: bool) -> subprocess.CompletedProcess:
    proc = subprocess.Popen(
        [sys.executable, "-c", _QUIT_SCRIPT.format(catch=catch)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.1)  # let the child enter WaitForQuit (it has no other signal)
        proc.send_signal(2)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_wait_for_quit_catches_sigint():
    done = _run_and_interrupt(catch=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "quit True"


def test_wait_for_quit_without_catching_raises_keyboard_interrupt():
    done = _run_and_interrupt(catch=False)
    assert done.returncode == 3, done.stderr
    assert "interrupted" in done.stdout


def test_quit_from_another_thread_ends_wait_for_quit():
    script = textwrap.dedent(
        """
        import threading
        from HardwareRepository.compat.cothread import Quit, WaitForQuit
        threading.Timer(0.05, Quit).start()
        WaitForQuit()
        print("quit")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "quit"


def test_gevent_is_the_scheduler():
    task = Spawn(gevent.getcurrent)
    assert isinstance(task.Wait(10), gevent.Greenlet)


@pytest.mark.qt
def test_iqt_runs_cothread_tasks_inside_the_qt_loop():
    # In a subprocess: iqt() replaces the thread's hub with the Qt one.
    script = textwrap.dedent(
        """
        from HardwareRepository.compat.cothread import (
            Event, Sleep, Spawn, WaitForQuit, iqt,
        )
        app = iqt()
        assert iqt() is app
        ready = Event()
        def worker():
            Sleep(0.02)
            ready.Signal("slept")
        def closer():
            print(ready.Wait(10), flush=True)
            app.quit()
        Spawn(worker)
        Spawn(closer)
        app.exec_()
        WaitForQuit(catch_interrupt=False)  # aboutToQuit signalled Quit
        print("quit", flush=True)
        """
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["slept", "quit"]
