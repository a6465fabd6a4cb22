"""The seed's Poller semantics, one by one: threads, order, compare, None callbacks."""

from __future__ import annotations

import logging

import gevent
import pytest
from _poller_helpers import Counter, Recorder, Sequence, wait_delivered, wait_until
from gevent._hub_local import get_hub_if_exists
from greenlet import getcurrent

from HardwareRepository import Poller
from HardwareRepository.bridge import Event, Thread, native
from HardwareRepository.errors import InvalidThreadUseError


def test_polled_call_runs_in_a_real_thread_without_hub_callbacks_in_caller_hub():
    seen = {}

    class Probe:
        def read(self):
            seen["thread"] = native.get_ident()
            seen["hub"] = get_hub_if_exists()
            seen["greenlet_parent"] = getcurrent().parent
            return 1

    probe = Probe()
    rec = Recorder()
    p = Poller.poll(probe.read, (), 10, rec.value, rec.error)
    rec.wait_values(1)
    p.stop()
    main = native.get_ident()
    assert seen["thread"] != main
    assert seen["hub"] is None, "a gevent hub was created in the pool thread"
    assert seen["greenlet_parent"] is None, "the polled call ran in a greenlet"
    assert rec.threads == {main}


def test_callbacks_run_in_the_hub_of_the_thread_that_called_poll():
    counter = Counter()

    def in_thread():
        rec = Recorder()
        p = Poller.poll(counter.read, (), 5, rec.value)
        rec.wait_values(3)
        p.stop()
        return rec.threads, native.get_ident()

    worker = Thread(target=in_thread, name="poll-caller")
    worker.start(timeout=10)
    threads, ident = worker.get(timeout=10)
    worker.join(timeout=10)
    assert threads == {ident}
    assert ident != native.get_ident()
    assert ident not in counter.threads


def test_values_arrive_in_production_order_even_when_callbacks_wait():
    counter = Counter()
    got = []
    done = Event()

    def slow_callback(value):
        # Every third callback waits cooperatively; later values must not
        # overtake it.
        if value % 3 == 0:
            gevent.sleep(0.01)
        got.append(value)
        if len(got) == 30:
            done.send()

    p = Poller.poll(counter.read, (), 1, slow_callback, None, False)
    assert done.wait(10)
    p.stop()
    assert got[:30] == list(range(1, 31))


def test_compare_true_delivers_only_changes():
    source = Sequence([1, 1, 2, 2, 2, 3])
    rec = Recorder()
    p = Poller.poll(source.read, (), 2, rec.value, rec.error, True)
    rec.wait_values(3)
    wait_until(lambda: p.statistics().calls >= 10, what="10 calls")
    wait_delivered(p)
    p.stop()
    assert rec.values == [1, 2, 3]
    assert p.statistics().values_queued == 3


def test_compare_false_delivers_every_call():
    source = Sequence([1, 1, 2])
    rec = Recorder()
    p = Poller.poll(source.read, (), 2, rec.value, rec.error, False)
    values = rec.wait_values(6)
    p.stop()
    assert values[:6] == [1, 1, 2, 2, 2, 2]


def test_first_value_is_always_delivered_unless_it_equals_start_value():
    rec = Recorder()
    source = Sequence([7])
    p = Poller.poll(source.read, (), 2, rec.value)
    assert rec.wait_values(1) == [7]
    p.stop()

    rec2 = Recorder()
    source2 = Sequence([7, 7, 8])
    p2 = Poller.poll(source2.read, (), 2, rec2.value, start_value=7)
    assert rec2.wait_values(1) == [8]
    p2.stop()


def test_none_callbacks_are_accepted():
    counter = Counter()
    p = Poller.poll(counter.read, (), 2, None, None)
    wait_until(lambda: p.statistics().calls >= 3, what="3 calls")
    wait_delivered(p)
    p.stop()
    assert p.statistics().callbacks_run >= 3


def test_error_without_error_callback_is_logged_and_stops_polling(caplog):
    class Failing:
        calls = 0

        def read(self):
            self.calls += 1
            raise OSError("device unplugged")

    source = Failing()
    p = Poller.poll(source.read, (), 2, None, None)
    with caplog.at_level(logging.ERROR, logger="HardwareRepository.Poller"):
        wait_until(lambda: p.statistics().errors == 1, what="the error")
        wait_delivered(p)
    assert p.statistics().state == "failed"
    assert source.calls == 1
    records = [r for r in caplog.records if r.exc_info]
    assert records, caplog.text
    assert isinstance(records[0].exc_info[1], OSError)
    assert "Failing.read" in records[0].getMessage()
    p.stop()


def test_callback_exception_is_logged_and_polling_continues(caplog):
    counter = Counter()
    rec = Recorder()

    def flaky(value):
        rec.value(value)
        if value == 2:
            raise ZeroDivisionError("callback bug")

    with caplog.at_level(logging.ERROR, logger="HardwareRepository.Poller"):
        p = Poller.poll(counter.read, (), 2, flaky)
        rec.wait_values(5)
        p.stop()
    assert rec.values[:5] == [1, 2, 3, 4, 5]
    assert any(
        r.exc_info and isinstance(r.exc_info[1], ZeroDivisionError)
        for r in caplog.records
    )


def test_lambda_callbacks_work():
    counter = Counter()
    got = []
    p = Poller.poll(counter.read, (), 2, lambda v: got.append(v))
    wait_until(lambda: len(got) >= 3, what="3 values via a lambda")
    p.stop()
    assert got[:3] == [1, 2, 3]


def test_a_slow_callback_does_not_delay_other_pollers():
    release = Event()
    slow_counter, fast_counter = Counter(), Counter()
    slow_got = []

    def slow(value):
        slow_got.append(value)
        release.wait(10)

    fast = Recorder()
    p_slow = Poller.poll(slow_counter.read, (), 2, slow, None, False)
    wait_until(lambda: slow_got, what="the slow callback to start")
    p_fast = Poller.poll(fast_counter.read, (), 2, fast.value, None, False)
    fast.wait_values(10)
    assert slow_got == [1], "the slow poller's later values overtook its callback"
    release.send()
    p_slow.stop()
    p_fast.stop()


def test_poll_from_a_polled_call_is_refused():
    class Nested:
        def read(self):
            return Poller.poll(int)

    source = Nested()
    rec = Recorder()
    p = Poller.poll(source.read, (), 2, rec.value, rec.error)
    exc, poller_id = rec.wait_error()
    assert isinstance(exc, InvalidThreadUseError)
    assert poller_id == p.get_id()
    p.stop()


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"polling_period": 0}, ValueError),
        ({"polling_period": -5}, ValueError),
        ({"polling_period": "fast"}, TypeError),
        ({"start_delay": -1}, ValueError),
        ({"value_changed_callback": 3}, TypeError),
        ({"error_callback": "x"}, TypeError),
    ],
)
def test_bad_arguments_raise(kwargs, error):
    counter = Counter()
    with pytest.raises(error):
        Poller.poll(counter.read, **kwargs)
    with pytest.raises(TypeError):
        Poller.poll(42)


def test_poller_whose_hub_thread_ended_stops_itself(caplog):
    counter = Counter()
    started = Event()
    holder = []

    got = []

    def in_thread():
        # A lambda callback is held strongly, so the poller outlives the thread.
        holder.append(Poller.poll(counter.read, (), 2, lambda v: got.append(v)))
        wait_until(lambda: len(got) >= 2, what="2 values in the thread")
        started.send()
        # Return without stopping: the thread's hub and bridge are closed.

    worker = Thread(target=in_thread, name="short-lived-owner")
    with caplog.at_level(logging.ERROR, logger="HardwareRepository.Poller"):
        worker.start(timeout=10)
        assert started.wait(10)
        worker.join(timeout=10)
        (p,) = holder
        wait_until(p.is_stopped, what="the orphaned poller to stop")
    assert Poller.get_poller(p.get_id()) is None
    assert "bridge is closed" in caplog.text
