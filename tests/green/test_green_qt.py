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
    done = Event()

    def on_count(event: tango.EventData) -> None:
        threads.add(_native.get_ident())
        if not event.err:
            values.append(event.attr_value.value)
            if len(values) > 1 and values[-1] == values[0] + 200:
                done.set()

    dev = DeviceProxy(url)
    try:
        assert dev.command_inout("Sleep", 0.2) == 0.2  # Qt timers run meanwhile
        assert ticks, "the Qt loop stood still while the call waited"
        assert dev.read_attribute("wave", wait=False).get(10).value.shape == (256,)
        event_id = dev.subscribe_event("Count", tango.EventType.CHANGE_EVENT, on_count)
        dev.command_inout("PushCount", 200)
        assert done.wait(30)
        dev.unsubscribe_event(event_id)
    finally:
        timer.stop()
        dev.close()
    assert threads == {_native.get_ident()}
    assert values == list(range(values[0], values[0] + 201))
