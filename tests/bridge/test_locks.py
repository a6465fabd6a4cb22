"""Lock and RLock shared by greenlets of two hubs and plain threads."""

from __future__ import annotations

import threading

import gevent
import pytest

from HardwareRepository.bridge import Event, Lock, RLock, Thread


@pytest.mark.parametrize("lock_class", [Lock, RLock])
def test_mutual_exclusion_across_two_hubs_and_plain_threads(lock_class):
    lock = lock_class()
    inside = [0]
    max_inside = [0]
    entries: dict[str, int] = {}
    rounds = 200

    def critical(who: str, pause) -> None:
        with lock:
            inside[0] += 1
            max_inside[0] = max(max_inside[0], inside[0])
            pause()  # give the others a chance to break in
            inside[0] -= 1
            entries[who] = entries.get(who, 0) + 1

    def greenlet_worker(who: str) -> None:
        for _ in range(rounds):
            critical(who, lambda: gevent.sleep(0))

    def thread_worker(who: str) -> None:
        for _ in range(rounds):
            critical(who, lambda: None)

    other_hub = Thread(name="second-hub")
    other_hub.start(timeout=10)
    try:
        remote = [other_hub.spawn(greenlet_worker, f"hub2-g{i}") for i in range(3)]
        local = [gevent.spawn(greenlet_worker, f"hub1-g{i}") for i in range(3)]
        threads = [
            threading.Thread(target=thread_worker, args=(f"thread{i}",))
            for i in range(2)
        ]
        for t in threads:
            t.start()
        gevent.joinall(local, timeout=60, raise_error=True)
        for r in remote:
            r.get(timeout=60)
        while any(t.is_alive() for t in threads):
            gevent.sleep(0.001)
    finally:
        other_hub.stop(timeout=10)
    assert max_inside[0] == 1
    assert len(entries) == 8
    assert all(n == rounds for n in entries.values()), entries
    assert not lock.locked()


def test_rlock_is_reentrant_and_released_by_its_owner_only():
    lock = RLock()
    assert lock.acquire()
    assert lock.acquire()
    errors = []

    def intruder() -> None:
        try:
            lock.release()
        except RuntimeError as exc:
            errors.append(exc)

    t = threading.Thread(target=intruder)
    t.start()
    t.join()
    assert errors
    assert "not its owner" in str(errors[0])
    lock.release()
    assert lock.locked()
    lock.release()
    assert not lock.locked()


def test_lock_reacquired_by_its_owner_without_timeout_refuses_to_deadlock():
    lock = Lock()
    with lock, pytest.raises(RuntimeError, match="deadlock"):
        lock.acquire()


def test_waiters_are_served_first_come_first_served():
    lock = Lock()
    order = []
    lock.acquire()

    def contender(i: int) -> None:
        with lock:
            order.append(i)

    greenlets = []
    for i in range(5):
        greenlets.append(gevent.spawn(contender, i))
        gevent.sleep(0)  # each queues in turn
    lock.release()
    gevent.joinall(greenlets, timeout=10, raise_error=True)
    assert order == [0, 1, 2, 3, 4]


def test_killed_waiter_does_not_swallow_the_lock():
    lock = Lock()
    lock.acquire()
    victim_waiting = Event()

    def victim() -> None:
        victim_waiting.send()
        with lock:
            pass

    g = gevent.spawn(victim)
    victim_waiting.wait(5)
    gevent.sleep(0)
    lock.release()  # hands ownership to the victim...
    g.kill()  # ...which is killed before it runs
    assert lock.acquire(timeout=5)
    lock.release()
    assert not lock.locked()
