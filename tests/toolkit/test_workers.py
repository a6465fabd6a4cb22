"""SerialWorker and ProcessWorker: one owner of a library, results as AsyncResult."""

from __future__ import annotations

import os
import pickle
import threading
import traceback

import gevent
import pytest
import toolkit_jobs as _jobs

from HardwareRepository.bridge import AsyncResult, Event
from HardwareRepository.errors import BridgeClosedError, Timeout
from HardwareRepository.toolkit import ProcessWorker, SerialWorker


def test_jobs_run_in_order_in_one_thread():
    with SerialWorker("lib") as worker:
        results = [
            worker.submit(lambda i=i: (i, threading.get_ident())) for i in range(20)
        ]
        values = [r.get(10) for r in results]
    assert [v[0] for v in values] == list(range(20))
    idents = {v[1] for v in values}
    assert len(idents) == 1
    assert threading.get_ident() not in idents
    assert not worker.alive


def test_exception_reaches_the_caller_with_its_traceback():
    def read_register() -> None:
        raise OSError("register 7 unreadable")

    with SerialWorker() as worker:
        result = worker.submit(read_register)
        with pytest.raises(OSError, match="register 7") as info:
            result.get(10)
    frames = [f.name for f in traceback.extract_tb(info.value.__traceback__)]
    assert "read_register" in frames


def test_a_greenlet_waits_cooperatively_for_call():
    ticks = []
    release = threading.Event()

    def ticker() -> None:
        while not release.is_set():
            ticks.append(1)
            gevent.sleep(0.002)

    def blocking() -> str:
        release.wait(10)
        return "done"

    helper = gevent.spawn(ticker)
    with SerialWorker() as worker:
        result = worker.submit(blocking)
        assert not result.ready()
        gevent.sleep(0.02)  # the ticker greenlet must run meanwhile
        assert ticks
        release.set()
        assert worker.call(lambda: "again", timeout=10) == "again"
        assert result.get(10) == "done"
    helper.join(10)


def test_call_from_inside_a_job_runs_inline():
    with SerialWorker() as worker:

        def outer() -> int:
            return worker.call(lambda: 41) + 1

        assert worker.call(outer, timeout=10) == 42


def test_call_timeout_does_not_cancel_the_job():
    release = threading.Event()
    with SerialWorker() as worker:
        worker.submit(release.wait, 10)
        assert worker.busy or worker.queue_len == 1
        late = worker.submit(lambda: "late")
        with pytest.raises(Timeout):
            worker.call(lambda: "never waited for", timeout=0.05)
        assert worker.queue_len == 2
        release.set()
        assert late.get(10) == "late"


def test_stop_runs_queued_jobs_or_cancels_them():
    release = threading.Event()
    worker = SerialWorker()
    worker.submit(release.wait, 10)
    queued = worker.submit(lambda: "ran")
    release.set()
    worker.stop(timeout=10)
    assert queued.get(0) == "ran"
    with pytest.raises(BridgeClosedError):
        worker.submit(lambda: None)

    release.clear()
    entered = Event()

    def blocking() -> bool:
        entered.set()
        return release.wait(10)

    worker = SerialWorker()
    first = worker.submit(blocking)
    cancelled = worker.submit(lambda: "never")
    assert entered.wait(10)
    releaser = threading.Timer(0.05, release.set)
    releaser.start()
    worker.stop(timeout=10, cancel_pending=True)
    releaser.join()
    assert first.get(0) is True
    with pytest.raises(BridgeClosedError, match="stopped before running"):
        cancelled.get(0)


def test_init_and_finish_run_in_the_worker_thread():
    seen = {}
    worker = SerialWorker(
        init=lambda: seen.setdefault("init", threading.get_ident()),
        finish=lambda: seen.setdefault("finish", threading.get_ident()),
    )
    ident = worker.call(threading.get_ident, timeout=10)
    worker.stop(timeout=10)
    assert seen == {"init": ident, "finish": ident}


def test_failed_init_fails_every_job():
    def init() -> None:
        raise OSError("no such device /dev/ttyS9")

    worker = SerialWorker(init=init)
    worker.join(10)
    with pytest.raises(BridgeClosedError):
        worker.submit(lambda: None)
    worker.stop(timeout=10)


def test_on_done_runs_after_the_result_is_set():
    got: AsyncResult[int] = AsyncResult()
    with SerialWorker() as worker:
        worker.submit_with(lambda: 5, on_done=lambda r: got.set(r.get(0)))
        assert got.get(10) == 5


# -- ProcessWorker ------------------------------------------------------------


def test_process_worker_runs_jobs_in_a_child_process():
    with ProcessWorker(init=_jobs.open_library) as worker:
        assert worker.call(_jobs.getpid, timeout=30) != os.getpid()
        assert worker.call(_jobs.add, 2, b=3, timeout=10) == 5
        assert worker.call(_jobs.library_state, timeout=10) == "open"
        results = [worker.submit(_jobs.add, i) for i in range(10)]
        assert [r.get(10) for r in results] == list(range(10))
    assert not worker.alive


def test_process_worker_errors_carry_the_child_traceback():
    with ProcessWorker() as worker:
        with pytest.raises(ValueError, match="bad gain") as info:
            worker.call(_jobs.fail, "bad gain", timeout=30)
        notes = "".join(info.value.__notes__)
        assert "toolkit_jobs.py" in notes
        assert "in fail" in notes
        with pytest.raises(Exception, match=r"pickle"):
            worker.call(_jobs.unpicklable_result, timeout=10)
        with pytest.raises((AttributeError, pickle.PicklingError)):
            worker.submit(lambda: None)  # lambdas cannot be pickled


def test_process_worker_child_death_fails_pending_jobs():
    worker = ProcessWorker()
    try:
        with pytest.raises(BridgeClosedError, match="code 3"):
            worker.call(_jobs.crash, timeout=30)
        with pytest.raises(BridgeClosedError):
            worker.submit(_jobs.getpid)
    finally:
        worker.stop(timeout=10)


def test_process_worker_greenlet_waits_cooperatively():
    ticks = []
    stop = Event()

    def ticker() -> None:
        while not stop.is_set():
            ticks.append(1)
            gevent.sleep(0.002)

    helper = gevent.spawn(ticker)
    with ProcessWorker() as worker:
        assert worker.call(_jobs.getpid, timeout=30)
    stop.set()
    helper.join(10)
    assert ticks
