"""Thread -> hub crossing: no loss, FIFO per producer, coalescing, no LoopExit."""

from __future__ import annotations

import threading

import gevent
import pytest

from HardwareRepository.bridge import AsyncResult, Event, HubTrigger, Queue, get_bridge
from HardwareRepository.errors import BridgeClosedError, InvalidThreadUseError

N_THREADS = 8
N_POSTS = 50_000


def test_storm_of_posts_loses_nothing_and_keeps_fifo_per_producer():
    bridge = get_bridge()
    received: dict[int, list[int]] = {p: [] for p in range(N_THREADS)}
    done = Event()
    total = [0]

    def deliver(producer: int, seq: int) -> None:
        received[producer].append(seq)
        total[0] += 1
        if total[0] == N_THREADS * N_POSTS:
            done.send()

    start = threading.Barrier(N_THREADS)

    def produce(producer: int) -> None:
        start.wait()
        for seq in range(N_POSTS):
            bridge.post(deliver, producer, seq)

    threads = [threading.Thread(target=produce, args=(p,)) for p in range(N_THREADS)]
    for t in threads:
        t.start()
    assert done.wait(timeout=60), f"only {total[0]} of {N_THREADS * N_POSTS} arrived"
    for t in threads:
        t.join()
    for producer, seqs in received.items():
        assert seqs == list(range(N_POSTS)), f"producer {producer} out of order or lost"
    assert bridge.max_batch > 1, "wake-ups never coalesced"


def test_queue_storm_from_threads_to_a_greenlet_keeps_fifo_per_producer():
    q: Queue[tuple[int, int]] = Queue()
    n_posts = 10_000

    def produce(producer: int) -> None:
        for seq in range(n_posts):
            q.put((producer, seq))

    threads = [threading.Thread(target=produce, args=(p,)) for p in range(N_THREADS)]
    for t in threads:
        t.start()
    last = dict.fromkeys(range(N_THREADS), -1)
    for _ in range(N_THREADS * n_posts):
        producer, seq = q.get(timeout=30)
        assert seq == last[producer] + 1
        last[producer] = seq
    for t in threads:
        t.join()
    assert q.qsize() == 0


def test_greenlet_waiting_for_a_thread_never_gets_loop_exit():
    # Nothing else keeps the loop alive: without the bridge's keepalive, gevent
    # would raise LoopExit ("This operation would block forever").
    result: AsyncResult[str] = AsyncResult()
    go = threading.Event()

    def deliver_later() -> None:
        go.wait()
        result.set("value from thread")

    t = threading.Thread(target=deliver_later)
    t.start()
    go.set()
    assert result.get() == "value from thread"
    t.join()


def test_other_greenlets_keep_running_while_one_waits_for_a_thread():
    result: AsyncResult[int] = AsyncResult()
    ticks = []
    release = threading.Event()

    def ticker() -> None:
        for i in range(5):
            ticks.append(i)
            gevent.sleep(0.001)
        release.set()

    def thread_body() -> None:
        release.wait(10)
        result.set(len(ticks))

    g = gevent.spawn(ticker)
    t = threading.Thread(target=thread_body)
    t.start()
    assert result.get(timeout=10) == 5
    t.join()
    g.join()


def test_hub_trigger_coalesces_and_reruns_after_a_send_during_the_run():
    runs = []
    in_func = threading.Event()
    may_finish = Event()

    def func() -> None:
        runs.append(len(runs))
        if len(runs) == 1:
            in_func.set()
            may_finish.wait(10)

    trigger = HubTrigger(func)

    def sender() -> None:
        for _ in range(1000):
            trigger.send()  # coalesce into (at least) one run
        in_func.wait(10)
        trigger.send()  # after func started: must cause another run
        may_finish.send()

    t = threading.Thread(target=sender)
    t.start()
    with gevent.Timeout(10):
        while t.is_alive() or len(runs) < 2:
            gevent.sleep(0.001)
    gevent.sleep(0.01)
    assert 2 <= len(runs) <= 3
    trigger.close()
    with pytest.raises(BridgeClosedError):
        trigger.send()


def test_blocking_hub_trigger_runs_inside_the_hub():
    ran = Event()
    seen = []

    def func() -> None:
        seen.append(gevent.getcurrent() is gevent.get_hub())
        ran.send()

    trigger = HubTrigger(func, blocking=True)
    threading.Thread(target=trigger.send).start()
    assert ran.wait(10)
    assert seen == [True]


def test_waiting_inside_the_hub_is_refused():
    errors = []

    def in_hub() -> None:
        try:
            Event().wait(0.01)
        except InvalidThreadUseError as exc:
            errors.append(exc)

    get_bridge().post(in_hub)
    gevent.sleep(0.05)
    assert len(errors) == 1
    assert "hub" in str(errors[0])


def test_failing_posted_call_is_logged_and_does_not_stop_the_others(caplog):
    bridge = get_bridge()
    done = Event()
    order = []

    def boom() -> None:
        raise ValueError("boom in hub")

    bridge.post(order.append, 1)
    bridge.post(boom)
    bridge.post(order.append, 2)
    bridge.post(done.send)
    assert done.wait(5)
    assert order == [1, 2]
    assert any("boom in hub" in r.exc_text for r in caplog.records if r.exc_text)
