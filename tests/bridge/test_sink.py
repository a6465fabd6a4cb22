"""The sink: ordered, batched, per-inbox coalescing, bounded in time and memory.

Producers are real OS threads. Where a test needs a backlog, the producers run
while the hub cannot (the main greenlet joins them natively), so what queues up
is exact, not a matter of timing.
"""

from __future__ import annotations

import logging
import threading
import time

import pytest

from HardwareRepository.bridge import (
    BridgeClosedError,
    Event,
    InboxStatistics,
    get_bridge,
    get_sink,
    sink_for,
)
from HardwareRepository.bridge._sink import RUN

TIMEOUT = 10.0


def _in_threads(*targets):
    """Run each target in its own OS thread and join them (blocking the hub)."""
    threads = [threading.Thread(target=t) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
        assert not t.is_alive()


class Recorder:
    """A handler that records (item, merged, thread) and signals a condition."""

    def __init__(self, done=lambda items: False):
        self.items = []
        self.threads = set()
        self._done = done
        self.finished = Event()

    def __call__(self, item, merged):
        self.items.append((item, merged))
        self.threads.add(threading.get_ident())
        if self._done(self.items):
            self.finished.set()

    def wait(self):
        assert self.finished.wait(TIMEOUT), f"handler saw {len(self.items)} items"


def test_items_of_each_thread_arrive_in_order_in_the_hub_thread():
    n, producers = 2000, 4
    rec = Recorder(lambda items: len(items) == n * producers)
    inbox = get_sink().inbox(rec, label="ordered")

    def produce(k):
        return lambda: [inbox.put((k, i)) for i in range(n)]

    # Runs while the hub runs too: wake-ups and batches interleave for real.
    threads = [threading.Thread(target=produce(k)) for k in range(producers)]
    for t in threads:
        t.start()
    rec.wait()
    for t in threads:
        t.join(TIMEOUT)
    assert rec.threads == {threading.get_ident()}
    for k in range(producers):
        assert [i for (p, i), _ in rec.items if p == k] == list(range(n))
    assert all(merged == 0 for _, merged in rec.items)
    stats = inbox.statistics()
    assert stats == InboxStatistics(
        label="ordered",
        depth=0,
        max_depth=stats.max_depth,
        received=n * producers,
        handled=n * producers,
        merged=0,
        dropped=0,
    )
    inbox.close()


def test_a_coalescing_inbox_hands_over_the_latest_value_and_the_merged_count():
    rec = Recorder(lambda items: items[-1][0] == 999)
    inbox = get_sink().inbox(rec, label="latest", coalesce=True)
    _in_threads(lambda: [inbox.put(i) for i in range(1000)])
    rec.wait()
    assert rec.items == [(999, 999)]
    stats = inbox.statistics()
    assert (stats.received, stats.handled, stats.merged) == (1000, 1, 999)
    inbox.close()


def test_values_never_merge_across_a_barrier():
    rec = Recorder(lambda items: items[-1][0] == 10)
    inbox = get_sink().inbox(rec, label="barrier", coalesce=True)

    def produce():
        for i in range(1, 6):
            inbox.put(i)
        inbox.put_barrier("disconnected")
        inbox.put_barrier("connected")
        for i in range(6, 11):
            inbox.put(i)

    _in_threads(produce)
    rec.wait()
    assert rec.items == [(5, 4), ("disconnected", 0), ("connected", 0), (10, 4)]


def test_values_merge_only_with_a_queued_value_of_the_same_kind():
    # A Tango channel passes each value's quality as its kind: a change of
    # quality is never merged away, a full inbox still merges across kinds.
    rec = Recorder(lambda items: items[-1][0] == ("alarm", 9))
    inbox = get_sink().inbox(rec, label="kinds", coalesce=True)

    def produce():
        for i in range(3):
            inbox.put(("valid", i), "VALID")
        for i in range(3, 7):
            inbox.put(("alarm", i), "ALARM")
        inbox.put(("valid", 7), "VALID")
        inbox.put(("alarm", 8), "ALARM")
        inbox.put(("alarm", 9), "ALARM")

    _in_threads(produce)
    rec.wait()
    assert rec.items == [
        (("valid", 2), 2),
        (("alarm", 6), 3),
        (("valid", 7), 0),
        (("alarm", 9), 1),
    ]
    inbox.close()

    full = Recorder(lambda items: items and items[-1][0] == 4)
    bounded = get_sink().inbox(full, label="kinds-full", capacity=2)
    _in_threads(lambda: [bounded.put(i, i % 2) for i in range(5)])
    full.wait()
    assert full.items == [(0, 0), (4, 3)]
    assert bounded.statistics().merged == 3
    bounded.close()


def test_a_lingering_inbox_takes_what_arrives_meanwhile_in_one_batch():
    # Tango channels linger: a steady stream costs one hub wake-up per batch.
    seen = []
    first = Event()
    rest = Event()

    def handler(item, merged):
        seen.append(item)
        if item == 0:
            first.set()
        elif item == 50:
            rest.set()

    inbox = get_sink().inbox(handler, label="linger", linger=0.5)
    started = time.perf_counter()
    inbox.put(0)
    assert first.wait(TIMEOUT)
    assert time.perf_counter() - started < 0.4  # an idle inbox delays nothing
    # The inbox lingers: these puts do not wake the hub, the timer takes them.
    _in_threads(lambda: [inbox.put(i) for i in range(1, 51)])
    assert not inbox.settled
    assert rest.wait(TIMEOUT)
    assert seen == list(range(51))
    inbox.close()
    assert inbox.statistics().handled == 51
    with pytest.raises(ValueError, match="linger"):
        get_sink().inbox(handler, label="bad", linger=2.0)


def test_the_hub_spends_a_bounded_time_on_one_inbox_per_turn():
    # Inbox "slow" has 400 items of 1 ms each queued before "quick" gets one;
    # with a 4 ms budget, "quick" must be served long before "slow" is done.
    order = []
    finished = Event()

    def slow(item, merged):
        time.sleep(0.001)  # CPU-bound work: blocks the hub thread
        order.append(("slow", item))

    def quick(item, merged):
        order.append(("quick", item))
        finished.set()

    sink = get_sink()
    slow_inbox = sink.inbox(slow, label="slow", budget=0.004)
    quick_inbox = sink.inbox(quick, label="quick")

    def produce():
        for i in range(400):
            slow_inbox.put(i)
        quick_inbox.put("tick")

    _in_threads(produce)
    assert finished.wait(TIMEOUT)
    slow_before_quick = order.index(("quick", "tick"))
    assert slow_before_quick < 100, f"{slow_before_quick} slow items ran first"
    done = Event()
    slow_inbox.handler = lambda item, merged: done.set() if item == 399 else None
    assert done.wait(TIMEOUT)
    assert slow_inbox.statistics().handled == 400
    slow_inbox.close()
    quick_inbox.close()


def test_a_cooperatively_waiting_handler_delays_only_its_own_inbox():
    import gevent

    release = Event()
    got = []
    other_done = Event()

    def waiting(item, merged):
        release.wait(TIMEOUT)
        got.append(item)

    def other(item, merged):
        other_done.set()

    sink = get_sink()
    blocked = sink.inbox(waiting, label="blocked")
    free = sink.inbox(other, label="free")
    _in_threads(lambda: (blocked.put(1), blocked.put(2), free.put("x")))
    assert other_done.wait(TIMEOUT)
    assert got == []
    release.set()
    deadline = time.monotonic() + TIMEOUT
    while got != [1, 2] and time.monotonic() < deadline:
        gevent.sleep(0.005)
    assert got == [1, 2]
    blocked.close()
    free.close()


def test_a_full_inbox_merges_values_and_drops_what_it_cannot_merge(caplog):
    rec = Recorder(lambda items: items and items[-1][0] == 99)
    inbox = get_sink().inbox(rec, label="bounded", capacity=10)
    _in_threads(lambda: [inbox.put(i) for i in range(100)])
    assert inbox.statistics().depth == 10
    rec.wait()
    assert rec.items == [(i, 0) for i in range(9)] + [(99, 90)]
    stats = inbox.statistics()
    assert (stats.max_depth, stats.merged, stats.dropped) == (10, 90, 0)
    inbox.close()

    barriers = Recorder(lambda items: len(items) == 2)
    full = get_sink().inbox(barriers, label="barriers-only", capacity=2)
    with caplog.at_level(logging.WARNING, "HardwareRepository.bridge"):
        _in_threads(lambda: (full.put_barrier("a"), full.put_barrier("b"), full.put(1)))
    assert "barriers-only: inbox full" in caplog.text
    barriers.wait()
    assert barriers.items == [("a", 0), ("b", 0)]
    assert full.statistics().dropped == 1
    full.close()


def test_a_failing_handler_is_logged_and_the_next_items_still_arrive(caplog):
    seen = []
    done = Event()

    def handler(item, merged):
        if item == "bad":
            raise ValueError("broken receiver")
        seen.append(item)
        if item == "after":
            done.set()

    inbox = get_sink().inbox(handler, label="failing")
    with caplog.at_level(logging.ERROR, "HardwareRepository.bridge"):
        _in_threads(lambda: [inbox.put(x) for x in ("before", "bad", "after")])
        assert done.wait(TIMEOUT)
    assert seen == ["before", "after"]
    assert "failing: handling 'bad' failed" in caplog.text
    assert "broken receiver" in caplog.text
    inbox.close()


def test_close_drops_what_is_queued_and_ignores_later_items():
    rec = Recorder()
    inbox = get_sink().inbox(rec, label="closing")
    _in_threads(lambda: [inbox.put(i) for i in range(5)])
    inbox.close()
    inbox.close()  # idempotent
    _in_threads(lambda: inbox.put(5))
    sentinel = Recorder(lambda items: True)
    probe = get_sink().inbox(sentinel, label="probe")
    _in_threads(lambda: probe.put("after"))
    sentinel.wait()  # the hub ran its queue: nothing reached the closed inbox
    assert rec.items == []
    stats = inbox.statistics()
    assert (stats.received, stats.handled, stats.dropped) == (6, 0, 6)
    probe.close()


def test_put_into_the_inbox_of_a_finished_hub_raises():
    made = {}

    def hub_thread():
        import gevent

        bridge = get_bridge()
        made["inbox"] = sink_for(bridge).inbox(lambda item, merged: None, label="x")
        bridge.close()
        gevent.get_hub().destroy(destroy_loop=True)

    _in_threads(hub_thread)
    with pytest.raises(BridgeClosedError, match="x: the hub bridge"):
        made["inbox"].put(1)


def test_bad_capacity_and_budget_are_refused():
    with pytest.raises(ValueError, match="capacity"):
        get_sink().inbox(lambda i, m: None, label="c", capacity=0)
    with pytest.raises(ValueError, match="budget"):
        get_sink().inbox(lambda i, m: None, label="b", budget=0.0)


@pytest.mark.parametrize("toggle_coalesce", [False, True], ids=["plain", "toggling"])
def test_a_stream_keeps_its_order_through_lane_backlog_and_merges(toggle_coalesce):
    # A small capacity and a handler that yields make the stream alternate
    # between the lane (no lock), the backlog and merges at capacity; the
    # toggling case also switches coalescing on and off under the producer.
    n = 20_000
    rec = Recorder(lambda items: items[-1][0] == n - 1)
    inbox = get_sink().inbox(rec, label="stream", capacity=64, budget=0.001)

    def handler(item, merged):
        rec(item, merged)
        if toggle_coalesce and len(rec.items) % 50 == 0:
            inbox.coalesce = not inbox.coalesce

    inbox.handler = handler
    producer = threading.Thread(target=lambda: [inbox.put(i) for i in range(n)])
    producer.start()
    rec.wait()
    producer.join(TIMEOUT)
    seen = [item for item, _ in rec.items]
    assert seen == sorted(set(seen)), "out of order or handled twice"
    stats = inbox.statistics()
    assert stats.received == n
    assert stats.handled + stats.merged == n
    assert stats.handled == len(rec.items)
    assert sum(merged for _, merged in rec.items) == stats.merged
    assert (stats.depth, stats.dropped) == (0, 0)
    inbox.close()


def test_a_put_into_an_inbox_being_served_takes_no_lock():
    rec = Recorder(lambda items: len(items) == 101)
    inbox = get_sink().inbox(rec, label="lane")
    _in_threads(lambda: inbox.put(0))  # queued for the hub, which has not run
    lock = get_sink()._lock
    with lock:  # held by the hub thread while another thread puts
        _in_threads(lambda: [inbox.put(i) for i in range(1, 101)])
    rec.wait()
    assert rec.items == [(i, 0) for i in range(101)]
    inbox.close()


def test_closing_under_a_streaming_thread_accounts_for_every_item():
    n = 50_000
    after_close = []

    def handler(item, merged):
        if inbox.closed:
            after_close.append(item)
        elif item == 1000:
            inbox.close()
            closed.set()

    closed = Event()
    inbox = get_sink().inbox(handler, label="closing-stream")
    producer = threading.Thread(target=lambda: [inbox.put(i) for i in range(n)])
    producer.start()
    assert closed.wait(TIMEOUT)
    producer.join(TIMEOUT)
    assert not producer.is_alive()
    assert after_close == []
    stats = inbox.statistics()
    assert stats.received == n
    assert stats.depth == 0
    assert stats.handled == 1001
    # The rest was dropped by close() or later puts, or merged while full.
    assert stats.dropped + stats.merged == n - 1001
    assert stats.dropped > 0


def test_a_batch_being_handled_counts_against_the_capacity():
    # A coalescing inbox with values of alternating kinds fills its backlog;
    # the hub takes it as one batch and its handler waits in the first item.
    # What is put meanwhile must merge into what is queued, not start a
    # second full backlog behind the batch.
    release = Event()
    started = Event()
    got = []

    def handler(item, merged):
        got.append(item)
        started.set()
        release.wait(TIMEOUT)

    inbox = get_sink().inbox(handler, label="batch-full", capacity=10, coalesce=True)
    try:
        _in_threads(lambda: [inbox.put(i, i % 2) for i in range(30)])
        assert inbox.statistics().depth == 10
        assert started.wait(TIMEOUT)
        _in_threads(lambda: [inbox.put(i, i % 2) for i in range(100, 130)])
        waiting = inbox.statistics()
        assert waiting.depth <= 10, waiting
        inbox.coalesce = False  # the lane too stops at the capacity
        _in_threads(lambda: [inbox.put(i) for i in range(200, 230)])
        waiting = inbox.statistics()
        assert waiting.depth <= 10, waiting
    finally:
        release.set()
    _settle(inbox)
    stats = inbox.statistics()
    assert stats.max_depth <= 10, stats
    assert got[-1] == 229
    assert (stats.received, stats.handled + stats.merged) == (90, 90)
    inbox.close()


def test_statistics_count_an_item_the_hub_is_taking():
    # The hub takes an item without the lock and counts it as handled just
    # after: statistics() from another thread in between must not lose the
    # item from ``received`` (which would go backwards).
    for _ in range(3):
        assert _received_while_draining(20_000) == []


def _received_while_draining(n):
    """Drain ``n`` items on the lane; return the wrong ``received`` seen."""
    import sys

    inbox = get_sink().inbox(lambda item, merged: None, label="taking", capacity=n)
    _in_threads(lambda: [inbox.put(i) for i in range(n)])  # all on the lane
    seen = []
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            received = inbox.statistics().received
            if received != n:
                seen.append(received)

    watcher = threading.Thread(target=watch)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often, also mid-take
    watcher.start()
    try:
        _settle(inbox)
    finally:
        stop.set()
        sys.setswitchinterval(interval)
        watcher.join(TIMEOUT)
    assert not watcher.is_alive()
    assert inbox.statistics().handled == n
    inbox.close()
    return seen


def _settle(inbox):
    import gevent

    deadline = time.monotonic() + TIMEOUT
    while not inbox.settled and time.monotonic() < deadline:
        gevent.sleep(0.002)
    assert inbox.settled, inbox.statistics()


def test_a_run_handler_takes_the_lane_in_order_and_the_handler_the_merged():
    n = 5_000
    delivered: list[tuple[int, int]] = []  # (item, merged), in the hub's order
    run_sizes: list[int] = []
    done = Event()

    def on_run(items):
        run_sizes.append(len(items))
        delivered.extend((i, 0) for i in items)
        if items[-1] == n - 1:
            done.set()

    def on_item(item, merged):
        delivered.append((item, merged))
        if item == n - 1:
            done.set()

    inbox = get_sink().inbox(on_item, label="runs", capacity=100, run_handler=on_run)
    producer = threading.Thread(target=lambda: [inbox.put(i) for i in range(n)])
    producer.start()
    assert done.wait(TIMEOUT)
    producer.join(TIMEOUT)
    assert run_sizes, "a burst is handed over in runs"
    assert all(1 <= size <= RUN for size in run_sizes)
    items = [i for i, _ in delivered]
    assert items == sorted(set(items)), "out of order or handled twice"
    stats = inbox.statistics()
    assert stats.handled == len(items)
    assert stats.handled + stats.merged == n
    assert sum(merged for _, merged in delivered) == stats.merged
    inbox.close()


def test_a_failing_run_handler_is_logged_and_later_runs_still_arrive(caplog):
    runs: list[list[int]] = []
    done = Event()

    def on_run(items):
        runs.append(list(items))
        if runs[0] is runs[-1]:
            raise ValueError("broken run receiver")
        if 199 in items:
            done.set()

    def on_item(item, merged):
        runs.append([item])
        if item == 199:
            done.set()

    inbox = get_sink().inbox(on_item, label="failing-runs", run_handler=on_run)
    with caplog.at_level(logging.ERROR, "HardwareRepository.bridge"):
        _in_threads(lambda: [inbox.put(i) for i in range(100)])
        _in_threads(lambda: [inbox.put(i) for i in range(100, 200)])
        assert done.wait(TIMEOUT)
    assert "failing-runs: handling a run of" in caplog.text
    assert "broken run receiver" in caplog.text
    assert [i for run in runs for i in run] == list(range(200))
    inbox.close()
