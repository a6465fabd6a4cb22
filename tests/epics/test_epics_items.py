"""EPICS commands and channels against a real caproto IOC."""

from __future__ import annotations

import time

import gevent
import pytest
from epics_helpers import PREFIX, wait_until

from HardwareRepository.CommandContainer import (
    NOT_INITIALIZED,
    CommandContainer,
    Quality,
)
from HardwareRepository.errors import NotConnectedError


@pytest.fixture
def items(epics_ioc):
    container = CommandContainer()
    yield container
    container.close_commands_and_channels()


def channel(container, name, pv, **attrs):
    return container.add_channel({"type": "epics", "name": name, **attrs}, pv)


def command(container, name, pv, **attrs):
    return container.add_command({"type": "epics", "name": name, **attrs}, pv)


class Ticker:
    """A greenlet noting the longest gap between its wake-ups (hub not blocked)."""

    def __init__(self) -> None:
        self.max_gap = 0.0
        self._greenlet = gevent.spawn(self._run)

    def _run(self) -> None:
        last = time.monotonic()
        while True:
            gevent.sleep(0.005)
            now = time.monotonic()
            self.max_gap = max(self.max_gap, now - last)
            last = now

    def stop(self) -> float:
        self._greenlet.kill()
        return self.max_gap


def test_a_monitor_follows_a_move_and_caput_wait_ends_with_it(items):
    rbv = channel(items, "position", PREFIX + "m1.RBV")
    dmov = channel(items, "done", PREFIX + "m1.DMOV")
    move = command(items, "move", PREFIX + "m1.VAL", wait=True, timeout=20000)
    wait_until(lambda: rbv.is_connected() and dmov.is_connected(), what="connected")
    wait_until(lambda: rbv.value is not NOT_INITIALIZED, what="first value")
    start = float(rbv.get_value(force=True))
    positions: list[float] = []
    rbv.connect_signal("update", positions.append)
    ticker = Ticker()
    began = time.monotonic()
    move(start + 1.0)  # 2 units/s: about half a second
    took = time.monotonic() - began
    assert ticker.stop() < 0.2  # the hub kept running while the put waited
    assert took > 0.3
    assert float(rbv.get_value(force=True)) == pytest.approx(start + 1.0)
    assert dmov.get_value(force=True) == 1
    wait_until(lambda: positions and positions[-1] == pytest.approx(start + 1.0))
    assert len(positions) > 3
    assert positions == sorted(positions)
    assert rbv.get_quality() is Quality.VALID
    assert rbv.timestamp is not None


def test_a_put_without_wait_returns_before_the_move_ends(items):
    dmov = channel(items, "done", PREFIX + "m1.DMOV")
    val = channel(items, "target", PREFIX + "m1.VAL")
    wait_until(lambda: dmov.is_connected() and val.is_connected(), what="connected")
    target = float(val.get_value(force=True)) - 1.0
    seen: list[int] = []
    dmov.connect_signal("update", seen.append)
    began = time.monotonic()
    val.set_value(target)
    assert time.monotonic() - began < 0.3
    wait_until(lambda: 0 in seen, what="DMOV 0")
    wait_until(lambda: seen[-1] == 1, what="DMOV back to 1")
    stop = command(items, "stop", PREFIX + "m1.STOP")
    stop(1)  # stopping a motor at rest does nothing


def test_stop_ends_a_move_early(items):
    rbv = channel(items, "position", PREFIX + "m1.RBV")
    val = command(items, "move", PREFIX + "m1.VAL")
    stop = command(items, "stop", PREFIX + "m1.STOP")
    wait_until(rbv.is_connected, what="connected")
    start = float(rbv.get_value(force=True))
    val(start + 5.0)
    wait_until(lambda: float(rbv.value) > start + 0.2, what="moving")
    stop(1)
    gevent.sleep(0.3)
    stopped = float(rbv.get_value(force=True))
    assert start + 0.2 < stopped < start + 4.0
    val(start, wait_put=True)


def test_polling_reads_the_pv_periodically(items):
    polled = channel(items, "polled", PREFIX + "m1.RBV", polling=100)
    move = command(items, "move", PREFIX + "m1.VAL", wait=True, timeout=20000)
    wait_until(lambda: polled.value is not NOT_INITIALIZED and polled.is_connected())
    values: list[float] = []
    polled.connect_signal("update", values.append)
    start = float(polled.value)
    move(start + 0.6)
    wait_until(lambda: values and values[-1] == pytest.approx(start + 0.6))
    assert len(values) >= 2  # seen during the move, not only at its end
    move(start, wait_put=True)


def test_waveform_and_string(items):
    wave = channel(items, "wave", PREFIX + "wave")
    text = channel(items, "text", PREFIX + "message")
    assert list(wave.get_value(force=True)) == [0.0] * 16
    text.set_value("written", wait=True)
    assert text.get_value(force=True) == "written"
    wave.set_value([1.0, 2.0, 3.0], wait=True)
    assert list(wave.get_value(force=True)[:3]) == [1.0, 2.0, 3.0]
    reader = command(items, "read", PREFIX + "message")
    assert reader() == "written"
    text.set_value("hello from caproto", wait=True)


def test_a_missing_pv_is_a_named_unconnected_channel_and_never_blocks(items):
    ticker = Ticker()
    missing = channel(items, "ghost", PREFIX + "no_such_pv", timeout=500)
    assert not missing.is_connected()
    with pytest.raises(NotConnectedError, match="no_such_pv"):
        missing.get_value()  # nothing cached
    with pytest.raises(NotConnectedError, match=r"no_such_pv.*not connected within"):
        missing.get_value(force=True)
    assert ticker.stop() < 0.2
    assert "no_such_pv" in missing.source()


def test_an_ioc_that_dies_disconnects_the_channel_and_it_comes_back(items, epics_ioc):
    rbv = channel(items, "position", PREFIX + "m1.RBV")
    states: list[bool] = []
    rbv.connect_signal("connectionStateChanged", states.append)
    wait_until(lambda: rbv.value is not NOT_INITIALIZED, what="first value")
    epics_ioc.kill()
    died = time.monotonic()
    wait_until(lambda: not rbv.is_connected(), timeout=2.0, what="disconnected")
    assert time.monotonic() - died < 2.0
    assert rbv.get_quality() is Quality.INVALID
    epics_ioc.start()
    wait_until(rbv.is_connected, timeout=20.0, what="reconnected")
    assert states[-2:] == [False, True]
    assert float(rbv.get_value(force=True)) == 0.0  # a fresh IOC's value
