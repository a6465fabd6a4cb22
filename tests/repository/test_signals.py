"""Signal semantics: weak bound methods, strong lambdas, error policy, greenlet."""

from __future__ import annotations

import gc
import logging

import pytest
from greenlet import getcurrent

from HardwareRepository._signals import raise_receiver_errors
from HardwareRepository.BaseHardwareObjects import HardwareObject, HardwareObjectState


class Listener:
    def __init__(self):
        self.got = []

    def slot(self, *args):
        self.got.append(args)


def test_bound_methods_are_weak_lambdas_are_strong():
    ho = HardwareObject("/ho")
    listener = Listener()
    got = []
    ho.connect("valueChanged", listener.slot)
    ho.connect("valueChanged", lambda v: got.append(v))
    ho.emit("valueChanged", 1)
    assert listener.got == [(1,)]
    del listener
    gc.collect()
    assert ho._receiver_count("valueChanged") == 1  # the dead method was dropped
    ho.emit("valueChanged", 2)
    assert got == [1, 2]


def test_strong_bound_method_on_request():
    ho = HardwareObject("/ho")
    box = []

    class Temp:
        def slot(self, v):
            box.append(v)

    ho.connect("x", Temp().slot, weak=False)
    gc.collect()
    ho.emit("x", 5)
    assert box == [5]


def test_receivers_run_synchronously_in_emitter_greenlet_in_order():
    ho = HardwareObject("/ho")
    order = []
    ho.connect("s", lambda: order.append(("a", getcurrent())))
    ho.connect("s", lambda: order.append(("b", getcurrent())))
    ho.emit("s")
    assert order == [("a", getcurrent()), ("b", getcurrent())]


def test_failing_receiver_is_logged_others_still_run(caplog):
    ho = HardwareObject("/ho")
    got = []

    def bad(v):
        raise ValueError("receiver bug")

    ho.connect("s", bad)
    ho.connect("s", got.append)
    with caplog.at_level(logging.ERROR, logger="HardwareRepository.signals"):
        ho.emit("s", 1)
    assert got == [1]
    record = caplog.records[0]
    assert "signal 's'" in record.getMessage()
    assert record.exc_info[0] is ValueError


def test_raise_switch_raises_after_all_receivers_ran():
    ho = HardwareObject("/ho")
    got = []
    ho.connect("s", lambda v: 1 / 0)
    ho.connect("s", got.append)
    with raise_receiver_errors(), pytest.raises(ZeroDivisionError):
        ho.emit("s", 1)
    assert got == [1]


def test_tuple_splat_compat_and_sender_form_and_disconnect():
    sender = HardwareObject("/sender")
    receiver = HardwareObject("/receiver")
    got = []
    receiver.connect(sender, "pos", lambda *a: got.append(a))
    sender.emit("pos", (1, 2))
    sender.emit("pos", ((1, 2),))
    assert got == [(1, 2), ((1, 2),)]
    slot = got.append
    receiver.connect(sender, "other", slot)
    receiver.disconnect(sender, "other", slot)
    sender.emit("other", 3)
    assert got == [(1, 2), ((1, 2),)]


def test_connect_notify_reemits_state_and_wait_ready():
    ho = HardwareObject("/ho")
    ho.update_state(HardwareObjectState.BUSY)
    states = []
    ho.connect("stateChanged", states.append)
    assert states == [HardwareObjectState.BUSY]
    ho.update_state(HardwareObjectState.BUSY)  # no change, no signal
    ho.update_state(HardwareObjectState.READY)
    assert states == [HardwareObjectState.BUSY, HardwareObjectState.READY]
    ho.wait_ready(timeout=0.01)
    assert ho.is_ready()
    ho.update_state(HardwareObjectState.FAULT)
    with pytest.raises(TimeoutError, match="/ho not ready"):
        ho.wait_ready(timeout=0.01)
    with pytest.raises(ValueError, match="not a HardwareObjectState"):
        ho.update_state(42)
