"""The gevent internals HardwareRepository.qtloop relies on (see _gevent_uv.py).

These fail loudly, naming the assumption, when a gevent upgrade breaks one.
"""

from __future__ import annotations

import select
import threading

import pytest

from HardwareRepository.qtloop import _gevent_uv as uv


@pytest.fixture
def loop():
    loop = uv.EmbeddableLoop(default=False)
    yield loop
    loop.destroy()


def test_every_assumption_holds():
    problems = uv.check_assumptions()
    assert problems == [], "gevent internals changed: " + "; ".join(problems)


def test_backend_fd_is_readable_when_another_thread_sends_an_async(loop):
    fired = []
    watcher = loop.async_()
    watcher.start(lambda: fired.append(True))
    uv.run_nowait(loop)  # registers the async's eventfd with epoll
    fd = uv.backend_fd(loop)
    assert select.select([fd], [], [], 0)[0] == []
    sender = threading.Thread(target=watcher.send)
    sender.start()
    sender.join()
    assert select.select([fd], [], [], 5)[0] == [fd], (
        "uv_backend_fd did not become readable after uv_async_send"
    )
    uv.run_nowait(loop)
    assert fired == [True], "loop.run(nowait=True) did not run the async callback"
    watcher.stop()
    watcher.close()


def test_next_timeout_follows_the_next_timer(loop):
    keepalive = loop.async_()
    keepalive.start(lambda: None)
    uv.run_nowait(loop)
    assert uv.next_timeout_ms(loop) == -1 or uv.next_timeout_ms(loop) >= 250, (
        "only gevent's 300 ms signal-check timer should be armed"
    )
    timer = loop.timer(0.05)
    timer.start(lambda: None, update=True)
    assert 40 <= uv.next_timeout_ms(loop) <= 50
    timer.stop()
    timer.close()
    keepalive.stop()
    keepalive.close()


def test_activity_counts_callbacks_and_fired_watchers(loop):
    before = loop.activity
    loop.run_callback(lambda: None)
    assert loop.activity == before + 1
    assert uv.has_pending_callbacks(loop)
    uv.run_nowait(loop)
    assert not uv.has_pending_callbacks(loop)
    timer = loop.timer(0)
    fired = []
    timer.start(fired.append, True)
    counted = loop.activity
    for _ in range(100):
        if fired:
            break
        uv.run_nowait(loop)
    assert fired == [True]
    assert loop.activity > counted, "_queue_callback is no longer called"
    timer.close()
