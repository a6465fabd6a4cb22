"""fandango-compatible ThreadedObject, ThreadDict, WorkerThread, WorkerProcess."""

from __future__ import annotations

import os
import sys
import threading
import time

import compat_jobs
import gevent
import pytest

from HardwareRepository.bridge import AsyncResult, Event
from HardwareRepository.compat.fandango import (
    DataExpired,
    ThreadDict,
    ThreadedObject,
    WorkerProcess,
    WorkerThread,
)
from HardwareRepository.errors import BridgeClosedError

# -- ThreadedObject ---------------------------------------------------------------


def test_seed_example_threaded_object_counts_cycles():
    cycles = Event()
    seen = []

    def target() -> None:
        seen.append(threading.get_ident())
        if len(seen) == 3:
            cycles.set()

    obj = ThreadedObject(target=target, period=0.01)
    try:
        assert obj.is_alive()  # the thread exists, paused
        assert obj.get_started() == 0
        obj.start()
        assert cycles.wait(10)
        assert obj.get_count() >= 3
        assert obj.get_errors() == 0
        assert obj.get_started() > 0
        assert obj.get_last() >= obj.get_started()
        assert obj.get_next() > obj.get_last()
        assert obj.get_delay() >= 0
        assert obj.get_acc_delay() >= obj.get_delay()
        assert obj.get_avg_delay() >= 0
        assert obj.get_usage() >= 0
        assert obj.get_period() == 0.01
        assert threading.get_ident() not in seen
        assert obj in ThreadedObject.INSTANCES
    finally:
        obj.kill()
    assert obj not in ThreadedObject.INSTANCES


def test_kill_while_stopped_ends_the_thread():
    # fandango bug 2: the stopped loop spun on the stop flag and never saw kill.
    ran = Event()
    threads = []

    def target() -> None:
        threads.append(threading.get_ident())
        ran.set()

    obj = ThreadedObject(target=target, period=0.01, start=True)
    assert ran.wait(10)
    obj.stop()
    assert obj.is_alive()
    obj.kill(wait=10)
    assert not obj.is_alive()
    with gevent.Timeout(10):
        while threads[0] in sys._current_frames():
            gevent.sleep(0.005)


def test_hooks_supply_arguments_and_first_skips_cycles():
    calls = []
    enough = Event()

    class Poll(ThreadedObject):
        def start_hook(self, ts: float):
            return ["start"], {}

        def loop_hook(self, ts: float):
            return None  # keep the start hook's arguments

        def stop_hook(self):
            calls.append("stopped")

    def target(tag: str) -> None:
        calls.append(tag)
        if calls.count("start") == 2:
            enough.set()

    obj = Poll(target=target, period=0.01, first=2, start=True)
    try:
        assert enough.wait(10)
        assert obj.get_count() >= 4  # two skipped cycles, two real ones
    finally:
        obj.kill()
    assert calls[:2] == ["start", "start"]
    assert calls[-1] == "stopped"


def test_errors_are_counted_not_fatal():
    failures = Event()

    def target() -> None:
        if obj.get_errors() >= 2:
            failures.set()
        raise RuntimeError("read failed")

    obj = ThreadedObject(target=target, period=0.01, start=True)
    try:
        assert failures.wait(10)
        assert obj.get_errors() >= 2
    finally:
        obj.kill()


def test_stop_all_and_kill_all():
    objs = [
        ThreadedObject(target=lambda: None, period=0.01, start=True) for _ in range(3)
    ]
    ThreadedObject.stop_all()
    assert all(o.is_alive() and not o.is_started() for o in objs)
    ThreadedObject.kill_all()
    assert not any(o.is_alive() for o in objs)
    assert not any(o in ThreadedObject.INSTANCES for o in objs)


# -- ThreadDict -------------------------------------------------------------------


class Plc:
    """A simulated PLC: registers read and written by name."""

    def __init__(self) -> None:
        self.values = {"temp": 21.5, "valve": 0}
        self.threads: set[int] = set()
        self.reads = Event()

    def read(self, key: str):
        self.threads.add(threading.get_ident())
        self.reads.set()
        return self.values[key]

    def write(self, key: str, value):
        self.threads.add(threading.get_ident())
        self.values[key] = value
        return self.values[key] * 10  # what the PLC echoes back


def test_seed_example_thread_dict():
    plc = Plc()
    td = ThreadDict(read_method=plc.read, write_method=plc.write, timewait=0.01)
    try:
        td.append("temp", period=0.01)
        td.append("valve")
        while td["temp"] is None:  # the initial value until the first read
            gevent.sleep(0.005)
        assert td["temp"] == 21.5
        plc.values["temp"] = 30.0
        assert td.get("temp", hw=True) == 30.0
        td["valve"] = 1
        assert plc.values["valve"] == 1
        assert td.get("missing", "default") == "default"
        assert td.alive()
        assert "temp" in td
        assert sorted(td.keys()) == ["temp", "valve"]
        assert threading.get_ident() not in plc.threads
        assert len(plc.threads) == 1
    finally:
        td.stop()
    assert not td.alive()


def test_thread_dict_stores_what_write_returns():
    plc = Plc()
    td = ThreadDict(read_method=plc.read, write_method=plc.write, timewait=60.0)
    try:
        td.append("valve")
        assert td.get("valve", hw=True) == 0
        td["valve"] = 2
        assert td["valve"] == 20  # the write method's return value
    finally:
        td.stop()


def test_unthreaded_thread_dict_reads_on_access():
    plc = Plc()
    td = ThreadDict(read_method=plc.read, write_method=plc.write, threaded=False)
    td.append("temp")
    assert td["temp"] == 21.5
    assert plc.threads == {threading.get_ident()}
    td["valve"] = 3
    assert plc.values["valve"] == 3
    assert td["valve"] == 3  # unthreaded: every access reads the hardware


# -- WorkerThread ---------------------------------------------------------------------


def test_worker_thread_put_get_flush():
    worker = WorkerThread("io")
    worker.start()
    try:
        worker.put(threading.get_ident)
        worker.put([max, 3, 9])
        worker.put([lambda: 1 / 0])
        assert worker.command(lambda: "sync") == "sync"  # everything before is done
        first = worker.get()
        assert first[0] is threading.get_ident
        assert first[1] != threading.get_ident()
        rest = worker.flush()
        assert rest[0][1] == 9
        assert isinstance(rest[1][1], ZeroDivisionError)
        assert worker.getDone()
        assert worker.get() is None
        with pytest.raises(TypeError, match="not evaluated"):
            worker.put("import os")
    finally:
        worker.stop()
    assert not worker.isAlive()


def test_worker_thread_send_callback_runs_in_the_hub():
    worker = WorkerThread()
    worker.start()
    got: AsyncResult[tuple] = AsyncResult()
    try:
        worker.send(
            "sum",
            sum,
            args=[[1, 2, 3]],
            callback=lambda v: got.set((v, threading.get_ident())),
        )
        value, ident = got.get(10)
        assert value == 6
        assert ident == threading.get_ident()
    finally:
        worker.stop()


def test_worker_thread_add_periodic_key_and_expiry():
    counter = iter(range(1000))
    updates = Event()
    worker = WorkerThread()
    worker.start()
    try:
        worker.add(
            "n", lambda: next(counter), period=0.01, callback=lambda v: updates.set()
        )
        assert updates.wait(10)
        while worker.get("n") < 3:
            gevent.sleep(0.005)
        worker.add("once", lambda: "v", period=0, expire=0.01)
        while True:
            try:
                assert worker.get("once") == "v"
                break
            except DataExpired:
                gevent.sleep(0.005)
        gevent.sleep(0.05)  # let the one-shot value age beyond its expiry
        worker.get("once")  # returns the last value and drops it
        with pytest.raises(DataExpired):
            worker.get("once")
        assert worker.get("unknown", default=None) is None
    finally:
        worker.stop()


# -- WorkerProcess ---------------------------------------------------------------------


def test_worker_process_send_add_command():
    process = WorkerProcess()
    got: AsyncResult[int] = AsyncResult()
    try:
        assert process.command(compat_jobs.getpid) != os.getpid()
        assert process.command(compat_jobs.multiply, args=(6, 7)) == 42
        process.send("m", compat_jobs.multiply, (2, 5), callback=got.set)
        assert got.get(30) == 10
        process.add("count", compat_jobs.next_count, period=0.01)
        while True:
            try:
                if process.get("count") >= 3:
                    break
            except DataExpired:
                pass
            gevent.sleep(0.005)
        with pytest.raises(TypeError, match="not evaluated"):
            process.command("os.getpid()")
    finally:
        process.stop()
    assert not process.isAlive()


def _wait_until(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{condition} still false after {timeout} s"
        gevent.sleep(0.01)


def test_worker_process_targets_are_methods_of_the_bound_executor():
    process = WorkerProcess(target=compat_jobs.Calculator(offset=100))
    got: AsyncResult[int] = AsyncResult()
    try:
        assert process.command("add", args=(1, 2)) == 103
        child = process.command("where")
        assert child != os.getpid()
        process.send("sum", "add", (3, 4), callback=got.set)
        assert got.get(30) == 107
        # A callable is still called; the child is the same process.
        assert process.command(compat_jobs.getpid) == child
        with pytest.raises(AttributeError, match=r"no attribute 'os\.getpid\(\)'"):
            process.command("os.getpid()")
    finally:
        process.stop()


def test_worker_process_bind_makes_the_executor_in_the_child():
    process = WorkerProcess()
    try:
        with pytest.raises(TypeError, match="not evaluated"):
            process.command("add", args=(1, 2))
        bound = process.bind(compat_jobs.Calculator, (10,))
        assert "Calculator" in bound.get(30)
        assert process.command("add", args=(1, 2)) == 13
        process.bind(compat_jobs.Processor())
        reply = process.command("item 1")
        assert reply.startswith("processed 'item 1' in ")
        assert reply != f"processed 'item 1' in {os.getpid()}"
        with pytest.raises(TypeError, match="not evaluated"):
            process.bind("compat_jobs.Calculator")
    finally:
        process.stop()


def test_worker_process_keep_alive_outlives_the_idle_timeout():
    process = WorkerProcess(timeout=1.0, keepalive=0.1)
    try:
        pid = process.command(compat_jobs.getpid)
        # Fifteen keep-alives and nothing else: well past the idle timeout.
        start = process.keepalives
        _wait_until(lambda: process.keepalives >= start + 15)
        assert process.isAlive()
        assert process.command(compat_jobs.getpid) == pid
    finally:
        process.stop()


def test_worker_process_child_ends_when_idle():
    process = WorkerProcess(timeout=0.3, keepalive=0)
    try:
        # A job longer than the idle timeout is not idleness.
        pid = process.command(compat_jobs.sleep_then_getpid, args=(0.6,))
        assert pid != os.getpid()
        _wait_until(lambda: not process.isAlive())
        with pytest.raises(BridgeClosedError, match="code 75"):
            process.command(compat_jobs.getpid)
    finally:
        process.stop()
