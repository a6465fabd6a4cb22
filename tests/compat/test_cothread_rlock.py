"""cothread's RLock and ThreadedEventQueue.wait_descriptor."""

from __future__ import annotations

import os
import select
import threading

import pytest

from HardwareRepository.bridge import Queue
from HardwareRepository.compat.cothread import (
    CrossThreadError,
    RLock,
    Sleep,
    Spawn,
    ThreadedEventQueue,
    Timedout,
    coselect,
)

# -- RLock ------------------------------------------------------------------------


def test_rlock_is_reentrant_for_its_owner():
    lock = RLock()
    lock.acquire()
    lock.acquire()
    with lock:
        pass
    lock.release()
    other = Spawn(lambda: (lock.acquire(timeout=0.01), "got it"), raise_on_wait=True)
    with pytest.raises(Timedout):
        other.Wait(5)  # still held once by this task
    lock.release()
    taker = Spawn(lambda: (lock.acquire(timeout=5), lock.release(), "got it")[-1])
    assert taker.Wait(5) == "got it"


def test_contenders_wait_cooperatively_and_get_it_in_order():
    lock = RLock()
    order: list[str] = []
    ticks: list[int] = []

    def holder() -> None:
        with lock:
            order.append("holder")
            Sleep(0.05)  # other tasks run meanwhile

    def contender(name: str) -> None:
        with lock:
            order.append(name)

    def ticker() -> None:
        while len(order) < 4:
            ticks.append(len(order))
            Sleep(0.005)

    tick = Spawn(ticker)
    tasks = [Spawn(holder)] + [Spawn(contender, name) for name in "abc"]
    for task in tasks:
        task.Wait(10)
    tick.Wait(10)
    assert order == ["holder", "a", "b", "c"]
    # The ticker ran while the contenders waited for the holder.
    assert ticks.count(1) >= 3
    assert "free" in repr(lock)


def test_acquire_times_out_with_a_timeout_error():
    lock = RLock()
    lock.acquire()
    try:
        result = Spawn(lock.acquire, 0.02, raise_on_wait=True)
        with pytest.raises(TimeoutError, match="RLock owned"):
            result.Wait(5)
        deadline = Spawn(lock.acquire, (0,), raise_on_wait=True)
        with pytest.raises(Timedout):
            deadline.Wait(5)
    finally:
        lock.release()


def test_only_the_owner_may_release():
    lock = RLock()
    with pytest.raises(AssertionError, match="un-acquired"):
        lock.release()
    lock.acquire()
    stranger = Spawn(lock.release, raise_on_wait=True)
    with pytest.raises(AssertionError, match="un-acquired"):
        stranger.Wait(5)
    lock.release()


def test_rlock_belongs_to_its_thread():
    lock = RLock()
    lock.acquire()
    errors: Queue[object] = Queue()

    def elsewhere() -> None:
        try:
            lock.acquire(timeout=1)
        except BaseException as exc:
            errors.put(type(exc))
        else:
            errors.put(None)

    thread = threading.Thread(target=elsewhere)
    thread.start()
    assert errors.get(timeout=10) is CrossThreadError
    thread.join(10)
    lock.release()


# -- ThreadedEventQueue.wait_descriptor ------------------------------------------


def _readable(fd: int) -> bool:
    return bool(select.select([fd], [], [], 0)[0])


def test_wait_descriptor_is_readable_while_values_are_queued():
    queue = ThreadedEventQueue()
    queue.Signal("early")  # before the descriptor exists
    fd = queue.wait_descriptor
    try:
        assert queue.wait_descriptor == fd
        assert _readable(fd)
        assert queue.Wait(1) == "early"
        assert not _readable(fd)
        thread = threading.Thread(target=lambda: [queue.Signal(i) for i in range(100)])
        thread.start()
        thread.join(10)
        assert coselect.poll_list([(fd, coselect.POLLIN)], 5)
        assert [queue.Wait(1) for _ in range(100)] == list(range(100))
        assert not _readable(fd)
    finally:
        queue.close()
    with pytest.raises(OSError):
        os.fstat(fd)


def test_a_plain_thread_waits_on_the_descriptor_then_takes_the_value():
    queue = ThreadedEventQueue()
    fd = queue.wait_descriptor
    got: Queue[object] = Queue()

    def consumer() -> None:
        select.select([fd], [], [], 10)
        got.put(queue.Wait(0))

    thread = threading.Thread(target=consumer)
    thread.start()
    queue.Signal("hello")
    assert got.get(timeout=10) == "hello"
    thread.join(10)
    queue.close()
    queue.close()  # idempotent
