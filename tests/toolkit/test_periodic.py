"""PeriodicTask: lifecycle, absolute deadlines, hooks, statistics, both loops."""

from __future__ import annotations

import itertools
import sys
import threading

import gevent
import pytest

from HardwareRepository.bridge import Event
from HardwareRepository.errors import BridgeClosedError, Timeout
from HardwareRepository.toolkit import PeriodicTask


class Recorder:
    """A target that records each call and signals when it reached ``n`` calls."""

    def __init__(self, n: int = 3) -> None:
        self.calls: list[tuple] = []
        self.threads: set[int] = set()
        self.n = n
        self.reached = Event()

    def __call__(self, *args, **kwargs) -> None:
        self.calls.append((args, kwargs))
        self.threads.add(threading.get_ident())
        if len(self.calls) >= self.n:
            self.reached.set()


def test_thread_task_runs_in_its_own_thread_and_reports_statistics():
    target = Recorder(3)
    task = PeriodicTask(target, 0.02, args=(1,), kwargs={"k": 2})
    assert not task.alive
    assert task.started == 0
    assert task.next is None
    task.start()
    try:
        assert target.reached.wait(10)
        assert task.alive
        assert task.running
        assert target.calls[0] == ((1,), {"k": 2})
        assert target.threads
        assert threading.get_ident() not in target.threads
        assert len(target.threads) == 1
        assert task.count >= 3
        assert task.errors == 0
        assert task.started > 0
        assert task.last >= task.started
        assert task.next > task.last
        assert task.delay >= 0
        assert task.acc_delay >= task.delay
        assert 0 <= task.usage < 1
        assert task.avg_delay == pytest.approx(task.acc_delay / task.count)
    finally:
        task.kill(timeout=10)
    assert not task.alive


def test_kill_of_a_stopped_task_ends_its_thread():
    # fandango bug: the stopped loop never looked at the kill flag.
    target = Recorder(1)
    task = PeriodicTask(target, 0.01, start=True)
    assert target.reached.wait(10)
    task.stop(timeout=10)
    thread = next(iter(target.threads))
    assert task.alive
    assert not task.running
    task.kill(timeout=10)
    assert not task.alive
    with pytest.raises(BridgeClosedError):
        task.start()
    # the OS thread itself goes away (the leak fixture checks it too)
    deadline = gevent.Timeout(10)
    with deadline:
        while thread in sys._current_frames():
            gevent.sleep(0.005)


def test_stop_pauses_and_start_resumes_at_once():
    target = Recorder(1)
    task = PeriodicTask(target, 0.01, start=True)
    try:
        assert target.reached.wait(10)
        task.stop(timeout=10)
        count = task.count
        quiet = Event()
        assert not quiet.wait(0.1)  # ten periods without cycles
        assert task.count == count
        # a long period: the resumed cycle must not wait a whole period
        task.period = 60.0
        target.reached.clear()
        target.n = len(target.calls) + 1
        task.start()
        assert target.reached.wait(10)
    finally:
        task.kill(timeout=10)


def test_stop_and_kill_from_inside_the_target_do_not_block():
    task: PeriodicTask
    done = Event()

    def target() -> None:
        task.stop()  # would wait for itself if not detected
        task.kill()
        done.set()

    task = PeriodicTask(target, 0.01, start=True)
    assert done.wait(10)
    task.kill(timeout=10)
    assert not task.alive
    assert task.count == 1


def test_stop_times_out_while_a_cycle_is_blocked():
    release = threading.Event()
    entered = Event()

    def target() -> None:
        entered.set()
        release.wait(10)

    task = PeriodicTask(target, 0.01, start=True)
    try:
        assert entered.wait(10)
        with pytest.raises(Timeout, match="cycle in progress"):
            task.stop(timeout=0.05)
    finally:
        release.set()
        task.kill(timeout=10)


def test_hub_task_runs_in_a_greenlet_of_the_hub():
    target = Recorder(3)
    ticks = []

    def other() -> None:
        while len(ticks) < 3:
            ticks.append(1)
            gevent.sleep(0.005)

    task = PeriodicTask(target, 0.01, where="hub", start=True)
    helper = gevent.spawn(other)
    try:
        assert target.reached.wait(10)
        assert target.threads == {threading.get_ident()}
        helper.join(10)
        assert len(ticks) == 3
    finally:
        task.kill(timeout=10)
    assert not task.alive


def test_deadlines_are_absolute_and_missed_ones_are_skipped():
    deadlines: list[float] = []
    slow_once = threading.Event()
    target = Recorder(6)

    def on_cycle(task: PeriodicTask, deadline: float) -> None:
        deadlines.append(deadline)

    def work() -> None:
        if len(target.calls) == 2 and not slow_once.is_set():
            slow_once.set()
            threading.Event().wait(0.125)  # overruns two and a half periods
        target()

    period = 0.05
    task = PeriodicTask(work, period, on_cycle=on_cycle, start=True)
    try:
        assert target.reached.wait(10)
    finally:
        task.kill(timeout=10)
    steps = [b - a for a, b in itertools.pairwise(deadlines)]
    multiples = [step / period for step in steps]
    for multiple in multiples:
        assert multiple == pytest.approx(round(multiple), abs=0.05)
    assert all(round(m) >= 1 for m in multiples)
    assert any(round(m) >= 3 for m in multiples)  # the skipped deadlines


def test_hooks_errors_and_supplied_arguments():
    events: list[str] = []
    errors: list[BaseException] = []
    got: list[tuple] = []
    enough = Event()

    def target(x: int) -> None:
        got.append((x,))
        if x == 2:
            raise ValueError("bad cycle")
        if len(got) >= 4:
            enough.set()

    cycle = iter(range(1, 100))

    task = PeriodicTask(
        target,
        0.01,
        on_start=lambda t: events.append("start"),
        on_cycle=lambda t, deadline: ((next(cycle),), {}),
        on_stop=lambda t: events.append("stop"),
        on_error=lambda t, exc: errors.append(exc),
        start=True,
    )
    try:
        assert enough.wait(10)
    finally:
        task.kill(timeout=10)
    assert got[:4] == [(1,), (2,), (3,), (4,)]
    assert task.errors == 1
    assert isinstance(errors[0], ValueError)
    assert events == ["start", "stop"]


def test_errors_are_logged_with_traceback_by_default(caplog):
    failed = Event()

    def target() -> None:
        failed.set()
        raise RuntimeError("sensor unplugged")

    task = PeriodicTask(target, 0.01, name="probe", start=True)
    try:
        assert failed.wait(10)
    finally:
        task.kill(timeout=10)
    records = [r for r in caplog.records if "probe" in r.getMessage()]
    assert records
    assert records[0].exc_info[0] is RuntimeError


def test_invalid_arguments_are_refused():
    with pytest.raises(ValueError, match="period"):
        PeriodicTask(lambda: None, 0)
    with pytest.raises(ValueError, match="where"):
        PeriodicTask(lambda: None, 1, where="process")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="callable"):
        PeriodicTask("read_all()", 1)  # type: ignore[arg-type]


def test_kill_of_a_never_started_task_is_immediate():
    task = PeriodicTask(lambda: None, 1)
    task.kill(timeout=1)
    assert not task.alive
