"""EpicsMotor loaded from XML, on the caproto IOC's motor record fields."""

from __future__ import annotations

import pytest
from epics_helpers import PREFIX, wait_until

from HardwareRepository.BaseHardwareObjects import HardwareObjectState
from HardwareRepository.HardwareRepository import (
    init_hardware_repository,
    uninit_hardware_repository,
)


@pytest.fixture
def repo(tmp_path, epics_ioc):
    (tmp_path / "table.xml").write_text(
        f"""<device class="EpicsMotor">
  <username>Table</username>
  <pv_prefix>{PREFIX}m1</pv_prefix>
  <unit>mm</unit>
</device>
"""
    )
    (tmp_path / "signals.xml").write_text(
        f"""<object class="HardwareRepository.BaseHardwareObjects.HardwareObject">
  <channel type="epics" name="velocity" polling="200">{PREFIX}m1.VELO</channel>
  <channel type="epics" name="message">{PREFIX}message</channel>
  <command type="epics" name="read_egu">{PREFIX}m1.EGU</command>
</object>
"""
    )
    repository = init_hardware_repository(str(tmp_path))
    yield repository
    uninit_hardware_repository()


def test_the_epics_motor_moves_stops_and_knows_its_limits(repo):
    table = repo.get_hardware_object("table")
    wait_until(lambda: table.get_state() is HardwareObjectState.READY, what="ready")
    wait_until(lambda: table.get_limits() == (-10.0, 10.0), what="limits")
    wait_until(lambda: table.get_value() is not None, what="position")
    assert table.get_unit() == "mm"
    start = table.get_value()
    positions: list[float] = []
    table.connect("valueChanged", positions.append)
    table.set_value(start + 0.8, wait=True, timeout=10)
    assert table.get_value() == pytest.approx(start + 0.8)
    assert len(positions) > 2
    table.set_value(start + 6.0)
    wait_until(lambda: table.get_value() > start + 1.2, what="moving")
    assert table.get_state_name() == "MOVING"
    table.stop()
    wait_until(lambda: table.get_state() is HardwareObjectState.READY, what="stop")
    assert table.get_value() < start + 5.0
    table.set_value(start, wait=True, timeout=20)


def test_epics_items_as_mxcube_files_write_them(repo):
    signals = repo.get_hardware_object("signals")
    wait_until(lambda: signals.get_channel_object("velocity").is_connected())
    assert signals.get_channel_value("velocity", force=True) == 2.0
    wait_until(
        lambda: signals.get_channel_object("message").value == "hello from caproto"
    )
    assert signals.execute_command("read_egu") == "mm"
