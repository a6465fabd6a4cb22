"""The green proxy in a GUI thread whose hub is the package's Qt loop."""

from __future__ import annotations

import pytest
import tango
from qtpy import QtCore

from HardwareRepository.bridge import Event, _native
from HardwareRepository.tango import DeviceProxy

pytestmark = pytest.mark.qt


def test_calls_and_events_on_the_qt_loop(qt_hub, qapp, url):
    ticks = []
    timer = QtCore.QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(1)
    values: list[int] = []
    threads: set[int] = set()
    target = [-1]
    done = Event()

    def on_count(event: tango.EventData) -> None:
        threads.add(_native.get_ident())
        if not event.err:
            values.append(event.attr_value.value)
            if values[-1] == target[0]:
                done.set()

    def push(count: int, timeout: float) -> bool:
        done.clear()
        target[0] = dev.read_attribute("Count").value + count
        dev.command_inout("PushCount", count)
        return done.wait(timeout)

    dev = DeviceProxy(url)
    try:
        assert dev.command_inout("Sleep", 0.2) == 0.2  # Qt timers run meanwhile
        assert ticks, "the Qt loop stood still while the call waited"
        assert dev.read_attribute("wave", wait=False).get(10).value.shape == (256,)
        event_id = dev.subscribe_event("Count", tango.EventType.CHANGE_EVENT, on_count)
        # cppTango joins the event stream a moment after the subscription's
        # synchronous first reading (events pushed in between are lost, with
        # plain PyTango too): push one value at a time until one arrives.
        for _ in range(50):
            if push(1, 0.2):
                break
        else:
            pytest.fail(f"no pushed event arrived after the first reading: {values}")
        joined = len(values)
        assert push(200, 30)
        dev.unsubscribe_event(event_id)
    finally:
        timer.stop()
        dev.close()
    assert threads == {_native.get_ident()}
    first = values[joined - 1] + 1
    assert values[joined:] == list(range(first, first + 200))
