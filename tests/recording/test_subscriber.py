"""The Subscriber's states and both modes, with real threads and greenlets."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from HardwareRepository.bridge import Event
from HardwareRepository.errors import Timeout
from HardwareRepository.recording import Subscriber, SubscriberError, SubscriberState

MODES = ["concurrent", "parallel"]


class Recorder(Subscriber):
    """Collects what it consumes; can be held, made to fail, and traced."""

    def __init__(self, fail_on: Any = None, fail_prepare: bool = False, **kw: Any):
        super().__init__(**kw)
        self.fail_on = fail_on
        self.fail_prepare = fail_prepare
        self.consumed: list[Any] = []
        self.calls: list[str] = []
        self.finished_with: tuple[SubscriberState, str] | None = None
        self.release = Event()
        self.release.send()
        self.holding = Event()  # set while _consume waits for release
        self.consumer_thread: int | None = None

    def feed(self, *events: Any) -> list[bool]:
        return [self._receive(event) for event in events]

    def _prepare(self) -> None:
        self.calls.append("prepare")
        self.consumer_thread = threading.get_ident()
        if self.fail_prepare:
            raise OSError("cannot open the output")

    def _subscribe(self) -> None:
        self.calls.append("subscribe")

    def _unsubscribe(self) -> None:
        self.calls.append("unsubscribe")

    def _consume(self, events: list[Any]) -> None:
        if not self.release.is_set():
            self.holding.send()
            self.release.wait()
        for event in events:
            if event == self.fail_on:
                raise ValueError(f"cannot handle {event!r}")
            self.consumed.append(event)

    def _finish(self, state: SubscriberState, reason: str) -> None:
        self.calls.append("finish")
        self.finished_with = (state, reason)


@pytest.mark.parametrize("mode", MODES)
def test_start_stop_goes_init_on_off_and_drains_in_order(mode):
    sub = Recorder(mode=mode)
    assert sub.state is SubscriberState.INIT
    assert sub.duration() == 0.0
    assert not sub.done()
    sub.start(wait=True, timeout=10)
    assert sub.state is SubscriberState.ON
    assert sub.feed(*range(5000)) == [True] * 5000
    sub.stop(wait=True, timeout=10)
    assert sub.state is SubscriberState.OFF
    assert sub.done()
    assert sub.reason == ""
    assert sub.consumed == list(range(5000))
    assert sub.calls == ["prepare", "subscribe", "unsubscribe", "finish"]
    assert sub.finished_with == (SubscriberState.OFF, "")
    info = sub.info()
    assert (info["received"], info["consumed"], info["dropped"], info["queued"]) == (
        5000,
        5000,
        0,
        0,
    )
    assert info["state"] == "OFF"
    assert info["mode"] == mode
    assert 0 < sub.duration() == info["duration"]


@pytest.mark.parametrize("mode", MODES)
def test_consumer_runs_in_its_mode_s_thread(mode):
    sub = Recorder(mode=mode)
    sub.start(wait=True, timeout=10)
    sub.stop(wait=True, timeout=10)
    same = sub.consumer_thread == threading.get_ident()
    assert same is (mode == "concurrent")


@pytest.mark.parametrize("mode", MODES)
def test_kill_goes_to_fault_without_draining(mode):
    sub = Recorder(mode=mode)
    sub.start(wait=True, timeout=10)
    sub.release.clear()
    sub.feed("first")
    assert sub.holding.wait(10)  # the consumer holds "first"
    sub.feed(*range(100))  # queued behind it
    sub.kill()
    sub.release.send()
    sub.join(timeout=10)
    assert sub.state is SubscriberState.FAULT
    assert sub.reason == "killed"
    assert sub.consumed == ["first"]  # the queued events were not consumed
    assert sub.info()["consumed"] == 1
    assert sub.finished_with == (SubscriberState.FAULT, "killed")
    assert "unsubscribe" in sub.calls
    assert sub.feed("late") == [False]


@pytest.mark.parametrize("mode", MODES)
def test_a_consumer_that_raises_puts_it_in_fault_and_stops_it_cleanly(mode):
    sub = Recorder(mode=mode, fail_on="bad")
    sub.start(wait=True, timeout=10)
    sub.feed("a", "bad", "c")
    sub.join(timeout=10)  # ends by itself
    assert sub.state is SubscriberState.FAULT
    assert sub.reason == "ValueError: cannot handle 'bad'"
    assert sub.consumed == ["a"]
    assert sub.calls == ["prepare", "subscribe", "unsubscribe", "finish"]
    assert sub.finished_with == (SubscriberState.FAULT, sub.reason)
    sub.stop(wait=True, timeout=1)  # a stop after the end changes nothing
    assert sub.state is SubscriberState.FAULT


@pytest.mark.parametrize("mode", MODES)
def test_a_failed_preparation_makes_start_raise(mode):
    sub = Recorder(mode=mode, fail_prepare=True)
    with pytest.raises(SubscriberError, match="OSError: cannot open the output"):
        sub.start(wait=True, timeout=10)
    sub.join(timeout=10)
    assert sub.state is SubscriberState.FAULT
    assert sub.reason == "OSError: cannot open the output"
    assert sub.calls == ["prepare"]  # never subscribed, nothing to finish


@pytest.mark.parametrize("mode", MODES)
def test_a_full_queue_drops_new_events_and_counts_them(mode):
    sub = Recorder(mode=mode, maxsize=10)
    sub.start(wait=True, timeout=10)
    sub.release.clear()
    sub.feed("held")
    assert sub.holding.wait(10)
    accepted = sub.feed(*range(15))
    assert accepted == [True] * 10 + [False] * 5
    info = sub.info()
    assert (info["queued"], info["dropped"], info["maxsize"]) == (10, 5, 10)
    sub.release.send()
    sub.stop(wait=True, timeout=10)
    assert sub.consumed == ["held", *range(10)]  # the oldest are kept, in order
    assert sub.info()["dropped"] == 5


def test_stop_before_start_ends_it_and_start_twice_is_refused():
    sub = Recorder()
    with pytest.raises(RuntimeError, match="never started"):
        sub.join(0)
    sub.stop()
    assert sub.state is SubscriberState.OFF
    assert sub.done()
    sub.join(0)
    with pytest.raises(RuntimeError, match="already started"):
        sub.start()

    other = Recorder(mode="parallel")
    other.start(wait=True, timeout=10)
    with pytest.raises(RuntimeError, match="already started"):
        other.start()
    other.stop(wait=True, timeout=10)


@pytest.mark.parametrize("mode", MODES)
def test_start_without_wait_reaches_on_and_join_times_out_while_on(mode):
    sub = Recorder(mode=mode)
    sub.start()
    sub._settled.wait(10)
    assert sub.state is SubscriberState.ON
    with pytest.raises(Timeout):
        sub.join(timeout=0.05)
    sub.stop(wait=True, timeout=10)
    assert sub.state is SubscriberState.OFF


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="mode"):
        Subscriber(mode="threads")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="bound"):
        Subscriber(maxsize=0)
    with pytest.raises(ValueError, match="tick"):
        Subscriber(tick=0)
