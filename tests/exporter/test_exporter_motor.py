"""ExporterMotor loaded from mxCuBE-format XML, on the SIMULATED MD server."""

from __future__ import annotations

import time

import gevent
import pytest

from HardwareRepository.BaseHardwareObjects import HardwareObjectState
from HardwareRepository.HardwareRepository import (
    init_hardware_repository,
    uninit_hardware_repository,
)


def wait_until(condition, timeout: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        gevent.sleep(0.01)


@pytest.fixture
def repo(tmp_path, md_server):
    (tmp_path / "kappa.xml").write_text(
        f"""<device class="ExporterMotor">
  <username>Kappa</username>
  <exporter_address>{md_server.address}</exporter_address>
  <actuator_name>Kappa</actuator_name>
  <unit>deg</unit>
</device>
"""
    )
    (tmp_path / "phase.xml").write_text(
        f"""<object class="HardwareRepository.BaseHardwareObjects.HardwareObject">
  <exporter_address>{md_server.address}</exporter_address>
  <channel type="exporter" name="phase">CurrentPhase</channel>
  <channel type="exporter" name="state" polling="500">State</channel>
  <command type="exporter" name="set_phase" timeout="5000">startSetPhase</command>
</object>
"""
    )
    repository = init_hardware_repository(str(tmp_path))
    yield repository
    uninit_hardware_repository()


def test_the_motor_moves_reports_state_limits_and_stops(repo):
    kappa = repo.get_hardware_object("kappa")
    wait_until(lambda: kappa.get_state() is HardwareObjectState.READY, what="ready")
    wait_until(lambda: kappa.get_limits() == (-5.0, 240.0), what="limits")
    assert kappa.is_connected()
    start = kappa.get_value()
    states: list[HardwareObjectState] = []
    kappa.connect("stateChanged", states.append)
    kappa.set_value(start + 4.0, wait=True, timeout=10)
    assert kappa.get_value() == pytest.approx(start + 4.0)
    assert HardwareObjectState.BUSY in states
    assert kappa.get_state_name() == "READY"
    kappa.set_value(start + 100.0)
    wait_until(lambda: kappa.get_value() > start + 5.0, what="moving")
    kappa.stop()
    wait_until(lambda: kappa.get_state() is HardwareObjectState.READY, what="stop")
    assert kappa.get_value() < start + 100.0
    kappa.set_value(start, wait=True, timeout=30)


def test_beyond_a_limit_the_axis_stops_there_in_warning(repo):
    kappa = repo.get_hardware_object("kappa")
    wait_until(lambda: kappa.get_state() is HardwareObjectState.READY, what="ready")
    kappa.set_value(-8.0, wait=True, timeout=10)
    assert kappa.get_value() == pytest.approx(-5.0)
    assert kappa.get_state_name() == "LOWLIM"
    assert kappa.get_state() is HardwareObjectState.WARNING
    assert kappa.get_max_speed() == 20.0
    kappa.home(timeout=10)  # the simulated homing goes to 0
    assert kappa.get_value() == pytest.approx(0.0)
    assert kappa.get_state() is HardwareObjectState.READY


def test_a_phase_change_from_mxcube_xml(repo):
    md = repo.get_hardware_object("phase")
    phase = md.get_channel_object("phase")
    wait_until(lambda: phase.is_connected() and phase.value == "Centring")
    md.execute_command("set_phase", "DataCollection")
    wait_until(lambda: phase.value == "DataCollection", what="new phase")
    wait_until(lambda: md.get_channel_value("state") == "Ready", what="ready")
    md.execute_command("set_phase", "Centring")
    wait_until(lambda: phase.value == "Centring", what="phase back")
