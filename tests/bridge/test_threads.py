"""bridge.Thread and ThreadResource."""

from __future__ import annotations

import threading

import gevent
import pytest

from HardwareRepository.bridge import Event, Thread, ThreadResource
from HardwareRepository.errors import BridgeClosedError


def test_thread_returns_its_target_value_and_runs_its_own_hub():
    def target(x: int) -> tuple[int, bool]:
        gevent.sleep(0.01)  # cooperative wait in the thread's own hub
        return x * 2, threading.get_ident() != threading.main_thread().ident

    worker = Thread(target=target, args=(21,))
    worker.start(timeout=10)
    assert worker.get(timeout=10) == (42, True)
    assert not worker.is_alive()


def test_thread_target_exception_is_raised_by_get():
    def target() -> None:
        raise OSError("device gone")

    worker = Thread(target=target)
    worker.start(timeout=10)
    with pytest.raises(OSError, match="device gone"):
        worker.get(timeout=10)


def test_stop_while_busy_kills_the_target_and_spawned_greenlets():
    busy = threading.Event()
    cleaned = []

    def target() -> None:
        busy.set()
        try:
            while True:
                gevent.sleep(0.001)
        finally:
            cleaned.append("target")

    def helper() -> None:
        try:
            gevent.sleep(100)
        finally:
            cleaned.append("helper")

    worker = Thread(target=target, name="busy-worker")
    worker.start(timeout=10)
    worker.spawn(helper)
    assert busy.wait(10)
    worker.stop(timeout=10)
    assert not worker.is_alive()
    assert sorted(cleaned) == ["helper", "target"]
    assert worker.get(timeout=0) is None
    with pytest.raises(BridgeClosedError):
        worker.spawn(lambda: None)


def test_thread_without_target_serves_until_stopped():
    worker = Thread()
    worker.start(timeout=10)
    assert worker.apply(lambda: 7, timeout=10) == 7
    assert worker.spawn(lambda a: a + 1, 1).get(timeout=10) == 2
    worker.stop(timeout=10)
    with pytest.raises(RuntimeError, match="already started"):
        worker.start()


def test_greenlets_of_two_hubs_talk_through_events():
    ping, pong = Event(), Event()

    def remote() -> str:
        assert ping.wait(10)
        pong.send()
        return "done"

    worker = Thread(target=remote)
    worker.start(timeout=10)
    ping.send()
    assert pong.wait(10)
    assert worker.get(timeout=10) == "done"


def test_thread_resource_one_per_thread_gone_with_its_thread():
    created = []
    resource: ThreadResource[dict] = ThreadResource(lambda: created.append(1) or {})
    mine = resource.get()
    assert resource.get() is mine
    got = []
    release = threading.Event()

    def body() -> None:
        got.append(resource.get())
        release.wait(10)

    t = threading.Thread(target=body)
    t.start()
    while not got:
        gevent.sleep(0.001)
    assert got[0] is not mine
    assert len(list(resource)) == 2
    release.set()
    t.join()
    assert list(resource) == [mine]
    assert resource.pop() is mine
    assert list(resource) == []
    assert len(created) == 2
