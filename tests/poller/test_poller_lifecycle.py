"""Stop, error -> restart, garbage collection, period changes, shared polled calls."""

from __future__ import annotations

import gc
import itertools
import logging
import time
import weakref

import gevent
from _poller_helpers import (
    Counter,
    Recorder,
    Sequence,
    wait_delivered,
    wait_until,
    witness_ticks,
)

from HardwareRepository import Poller
from HardwareRepository.bridge import Event

# -- stop -------------------------------------------------------------------------


class Blocking:
    """``read()`` signals it started, then blocks until released."""

    def __init__(self) -> None:
        self.entered = Event()
        self.release = Event()
        self.calls = 0

    def read(self) -> int:
        self.calls += 1
        self.entered.send()
        assert self.release.wait(30), "never released"
        return self.calls


def test_stop_with_a_call_in_flight_delivers_nothing_afterwards():
    source = Blocking()
    rec = Recorder()
    p = Poller.poll(source.read, (), 5, rec.value, rec.error, False)
    assert source.entered.wait(10)
    assert p.statistics().in_flight
    p.stop()
    source.release.send()
    wait_until(lambda: not p.statistics().in_flight, what="the call to return")
    wait_delivered(p)
    witness_ticks(5)
    assert rec.values == []
    assert rec.errors == []
    assert source.calls == 1, "polling went on after stop()"


def test_stop_in_a_callback_drops_the_values_already_queued():
    counter = Counter()
    got = []
    p = None

    def callback(value):
        got.append(value)
        # Let more values queue up behind this one, then stop.
        while p.statistics().values_queued < 4:
            gevent.sleep(0.002)
        p.stop()

    p = Poller.poll(counter.read, (), 1, callback, None, False)
    wait_until(lambda: p.is_stopped(), what="the callback to stop the poller")
    wait_until(lambda: not p.statistics().in_flight, what="the last call to return")
    wait_delivered(p)
    assert p.statistics().values_queued >= 4
    assert got == [1]


def test_stop_is_idempotent_and_forgets_the_poller():
    counter = Counter()
    p = Poller.poll(counter.read, (), 5)
    assert Poller.get_poller(p.get_id()) is p
    p.stop()
    p.stop()
    assert Poller.get_poller(p.get_id()) is None
    assert p.is_stopped()
    assert p.statistics().state == "stopped"
    assert p.statistics().next_due is None


def test_stop_all_stops_every_poller():
    counters = [Counter() for _ in range(3)]
    pollers = [Poller.poll(c.read, (), 5) for c in counters]
    assert Poller.stop_all() == 3
    assert all(p.is_stopped() for p in pollers)
    assert Poller.stop_all() == 0


# -- errors and restart ------------------------------------------------------------


class FailingAt:
    """``read()`` returns 1, 2, ... and raises one given exception at call ``n``."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.calls = 0
        self.exception = RuntimeError("motor controller timeout")

    def read(self) -> int:
        self.calls += 1
        if self.calls == self.n:
            raise self.exception
        return self.calls


def test_error_fires_once_with_original_exception_and_id_then_no_polling():
    source = FailingAt(3)
    rec = Recorder()
    p = Poller.poll(source.read, (), 2, rec.value, rec.error, False)
    exc, poller_id = rec.wait_error()
    assert exc is source.exception
    assert exc.__traceback__ is not None
    assert poller_id == p.get_id()
    witness_ticks(10)
    assert source.calls == 3, "polling went on after the error"
    assert len(rec.errors) == 1
    assert rec.values == [1, 2]
    stats = p.statistics()
    assert (stats.state, stats.errors, stats.next_due) == ("failed", 1, None)
    # A failed poller stays registered, for get_poller(id).restart().
    assert Poller.get_poller(poller_id) is p
    p.stop()


def test_restart_delay_from_the_error_callback_resumes_polling():
    source = FailingAt(2)
    rec = Recorder()
    restarted = []

    def on_error(exc, poller_id):
        rec.error(exc, poller_id)
        restarted.append(Poller.get_poller(poller_id).restart(50))

    p = Poller.poll(source.read, (), 2, rec.value, on_error, False)
    values = rec.wait_values(3)
    assert values[:3] == [1, 3, 4]
    (new,) = restarted
    assert new is not None
    assert new.get_id() != p.get_id()
    assert Poller.get_poller(p.get_id()) is None
    assert Poller.get_poller(new.get_id()) is new
    assert p.is_stopped()
    assert not new.is_stopped()
    assert new.get_polling_period() == 2
    assert len(rec.errors) == 1
    new.stop()


def test_restart_waits_for_its_delay():
    source = FailingAt(1)
    rec = Recorder()
    p = Poller.poll(source.read, (), 5, rec.value, rec.error)
    rec.wait_error()
    t0 = time.monotonic()
    new = p.restart(100)
    rec.wait_values(1)
    assert time.monotonic() - t0 >= 0.095
    new.stop()


def test_restart_with_a_new_callable():
    source = FailingAt(1)
    replacement = Counter()
    rec = Recorder()
    p = Poller.poll(source.read, (), 2, rec.value, rec.error, False)
    rec.wait_error()
    new = p.restart(replacement.read, 10)
    assert rec.wait_values(3)[:3] == [1, 2, 3]
    assert replacement.count >= 3
    assert source.calls == 1
    new.stop()


def test_restart_does_not_redeliver_an_unchanged_value():
    source = Sequence([5, 5, 5, 6])
    rec = Recorder()
    p = Poller.poll(source.read, (), 2, rec.value)
    rec.wait_values(1)
    new = p.restart()
    assert rec.wait_values(2) == [5, 6]
    new.stop()


# -- garbage collection and references ---------------------------------------------


class Device:
    """An owner that polls itself, with bound-method callbacks."""

    def __init__(self) -> None:
        self.count = 0
        self.values: list[int] = []
        self.poller = Poller.poll(self.read, (), 2, self.on_value, self.on_error)

    def read(self) -> int:
        self.count += 1
        return self.count

    def on_value(self, value: int) -> None:
        self.values.append(value)

    def on_error(self, exc: BaseException, poller_id: int) -> None:
        raise AssertionError(f"unexpected error {exc!r}")


def test_gc_of_the_polled_object_stops_polling_and_forgets_the_poller():
    counter = Counter()
    rec = Recorder()
    p = Poller.poll(counter.read, (), 2, rec.value, rec.error)
    rec.wait_values(2)
    probe = weakref.ref(counter)
    del counter
    gc.collect()
    assert probe() is None
    assert Poller.get_poller(p.get_id()) is None
    wait_until(lambda: p.statistics().state == "collected", what="collection")
    wait_until(lambda: not p.statistics().in_flight, what="the last call")
    queued = p.statistics().values_queued
    witness_ticks(10)
    assert p.statistics().values_queued == queued
    assert rec.errors == []


def test_a_poller_never_keeps_its_owner_alive():
    device = Device()
    values = device.values
    wait_until(lambda: len(values) >= 2, what="the device's values")
    poller_id = device.poller.get_id()
    probe = weakref.ref(device)
    del device
    gc.collect()
    assert probe() is None, "the poller kept its owner alive"
    assert Poller.get_poller(poller_id) is None


def test_collected_bound_method_callback_stops_the_poller():
    class Listener:
        def __init__(self):
            self.values = []

        def on_value(self, value):
            self.values.append(value)

    counter = Counter()
    listener = Listener()
    p = Poller.poll(counter.read, (), 2, listener.on_value)
    values = listener.values
    wait_until(lambda: values, what="a value")
    del listener
    gc.collect()
    wait_until(lambda: p.is_stopped(), what="the poller to stop")
    assert Poller.get_poller(p.get_id()) is None


def test_lambda_polled_call_is_collected_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="HardwareRepository.Poller"):
        # The first call waits 2 s, so the lambda is certainly gone before it
        # (with no delay a pool thread could call it first, on a busy machine).
        p = Poller.poll(lambda: 1, (), 2, start_delay=2000)
        gc.collect()
        wait_until(lambda: p.is_stopped(), what="the poller to end")
    assert Poller.get_poller(p.get_id()) is None
    assert "garbage-collected before its first call" in caplog.text


def test_builtin_polled_call_is_held_strongly():
    rec = Recorder()
    p = Poller.poll(time.monotonic, (), 2, rec.value)
    rec.wait_values(2)
    p.stop()


# -- period changes -----------------------------------------------------------------


def test_shorter_period_takes_effect_at_the_next_tick():
    counter = Counter()
    rec = Recorder()
    p = Poller.poll(counter.read, (), 60_000, rec.value)
    rec.wait_values(1)
    assert p.statistics().next_due - time.monotonic() > 50
    p.set_polling_period(5)
    assert p.get_polling_period() == 5
    rec.wait_values(4)
    p.stop()


def test_longer_period_takes_effect_at_the_next_tick():
    counter = Counter()
    rec = Recorder()
    p = Poller.poll(counter.read, (), 2, rec.value)
    rec.wait_values(2)
    p.set_polling_period(60_000)
    wait_until(lambda: not p.statistics().in_flight, what="the current call")
    calls = counter.count
    witness_ticks(10)
    assert counter.count <= calls + 1
    assert p.statistics().next_due - time.monotonic() > 50
    p.stop()


def test_deadlines_are_absolute_not_shifted_by_the_call_duration():
    starts = []
    done = Event()

    class Slow:
        def read(self):
            starts.append(time.monotonic())
            if len(starts) == 9:
                done.send()
            time.sleep(0.05)
            return len(starts)

    source = Slow()
    p = Poller.poll(source.read, (), 100, None, None, False)
    assert done.wait(20)
    p.stop()
    mean = (starts[8] - starts[0]) / 8
    # Sleeping the period after each call (mxCuBE) would give 150 ms.
    assert mean < 0.125, f"mean interval {mean * 1e3:.1f} ms"


def test_calls_of_one_poller_never_overlap():
    state = {"inside": 0, "max": 0, "calls": 0}

    class Overrunning:
        def read(self):
            state["inside"] += 1
            state["max"] = max(state["max"], state["inside"])
            time.sleep(0.02)
            state["calls"] += 1
            state["inside"] -= 1
            return state["calls"]

    source = Overrunning()
    rec = Recorder()
    p = Poller.poll(source.read, (), 1, rec.value, rec.error, False)
    rec.wait_values(5)
    p.stop()
    assert state["max"] == 1


# -- polling the same call twice ---------------------------------------------------


def test_same_call_twice_keeps_both_callers_callbacks_and_shares_the_call():
    counter = Counter()
    first, second = Recorder(), Recorder()
    p1 = Poller.poll(counter.read, (), 50, first.value, None, False)
    p2 = Poller.poll(counter.read, (), 5, second.value, None, False)
    assert p1 is not p2
    assert p1.get_id() != p2.get_id()
    second.wait_values(5)
    first.wait_values(5)
    s1, s2 = p1.statistics(), p2.statistics()
    assert s1.shared_by == s2.shared_by == 2
    assert s1.effective_period == 5
    assert s1.period == 50
    # One call feeds both: the two callers see the same values, no gaps.
    n = min(len(first.values), len(second.values))
    start = max(first.values[0], second.values[0])
    common1 = [v for v in first.values[:n] if v >= start]
    common2 = [v for v in second.values[:n] if v >= start]
    k = min(len(common1), len(common2))
    assert k >= 2
    assert common1[:k] == common2[:k]
    # Stopping one leaves the other polling, at its own period.
    p2.stop()
    assert p1.statistics().effective_period == 50
    count = len(first.values)
    first.wait_values(count + 2)
    p1.stop()


def test_same_callable_with_other_args_is_polled_separately():
    class Multi:
        def read(self, channel):
            return channel * 10

    source = Multi()
    a, b = Recorder(), Recorder()
    pa = Poller.poll(source.read, (1,), 5, a.value)
    pb = Poller.poll(source.read, (2,), 5, b.value)
    assert a.wait_values(1) == [10]
    assert b.wait_values(1) == [20]
    assert pa.statistics().shared_by == pb.statistics().shared_by == 1
    pa.stop()
    pb.stop()


def test_diagnostics_report_calls_errors_duration_lateness_next_due():
    source = FailingAt(6)
    rec = Recorder()
    p = Poller.poll(source.read, (), 5, rec.value, rec.error, False)
    rec.wait_values(2)
    running = p.statistics()
    assert running.state == "polling"
    assert running.calls >= 2
    assert running.errors == 0
    assert running.last_call_duration is not None
    assert running.last_call_duration >= 0
    assert running.lateness is not None
    assert running.max_lateness >= 0
    assert running.in_flight or running.next_due is not None
    assert running.last_latency is not None
    assert running.last_latency >= 0
    assert "FailingAt.read" in running.polled_call
    rec.wait_error()
    failed = p.statistics()
    assert (failed.calls, failed.errors, failed.state) == (6, 1, "failed")
    p.stop()


# -- phases of pollers created together ----------------------------------------------


def test_pollers_created_together_are_spread_over_their_period():
    counters = [Counter() for _ in range(40)]
    pollers = [Poller.poll(c.read, (), 1000, None, None, False) for c in counters]
    # The first calls run at once (no start_delay) ...
    wait_until(lambda: all(c.count == 1 for c in counters), what="the first calls")
    wait_until(
        lambda: all(p.statistics().next_due is not None for p in pollers),
        what="every next deadline",
    )
    now = time.monotonic()
    dues = sorted(p.statistics().next_due for p in pollers)
    # ... and the next ones come at most one period after the first call ...
    assert dues[0] - now > 0.0
    assert dues[-1] - now < 1.0
    # ... spread over the period instead of all together.
    assert dues[-1] - dues[0] > 0.8
    assert max(b - a for a, b in itertools.pairwise(dues)) < 0.2
    for p in pollers:
        p.stop()


def test_pollers_of_one_period_share_few_deadlines():
    counters = [Counter() for _ in range(200)]
    pollers = [Poller.poll(c.read, (), 100, None, None, False) for c in counters]
    wait_until(lambda: all(c.count >= 3 for c in counters), what="3 calls each")
    wait_until(
        lambda: all(p.statistics().next_due is not None for p in pollers),
        what="every next deadline",
    )
    stats = [p.statistics() for p in pollers]
    # Phases are rounded to at most 64 slots per period: far fewer distinct
    # deadlines than pollers, and each group is fired in one scheduler wake-up.
    assert len({s.next_due for s in stats}) <= 64
    for p in pollers:
        p.stop()
