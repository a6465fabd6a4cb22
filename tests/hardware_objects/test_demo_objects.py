"""The hardware-object classes on the demo's real Tango device servers."""

from __future__ import annotations

import time

import gevent
import pytest

from HardwareRepository.BaseHardwareObjects import HardwareObjectState
from HardwareRepository.errors import CommandFailedError
from HardwareRepository.HardwareRepository import (
    init_hardware_repository,
    uninit_hardware_repository,
)

pytestmark = pytest.mark.tango


@pytest.fixture
def repo(demo_config):
    repository = init_hardware_repository(str(demo_config))
    yield repository
    uninit_hardware_repository()


def wait_until(condition, timeout: float = 10.0, what="condition") -> None:
    """Let the hub run until ``condition()`` holds.

    :param what: the condition's description, or a callable giving it at timeout.
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            text = what() if callable(what) else what
            raise AssertionError(f"timed out waiting for {text}")
        gevent.sleep(0.02)


def ready(obj) -> None:
    wait_until(lambda: obj.get_state() is HardwareObjectState.READY, what=f"{obj}")


def test_motor_moves_emits_values_and_ends_ready(repo):
    motor = repo.get_hardware_object("sample-x")
    ready(motor)
    assert motor.get_limits() == (-2.0, 2.0)
    assert motor.get_unit() == "mm"
    positions: list[float] = []
    states: list[HardwareObjectState] = []
    motor.connect("valueChanged", positions.append)
    motor.connect("stateChanged", states.append)
    motor.set_value(0.5, wait=True, timeout=20)
    assert motor.get_value() == pytest.approx(0.5)
    assert motor.get_state() is HardwareObjectState.READY
    assert HardwareObjectState.BUSY in states
    assert any(0.0 < p < 0.5 for p in positions), positions  # seen while moving
    motor.set_value(0.0, wait=True, timeout=20)


def test_motor_target_beyond_a_limit_stops_at_the_limit_in_alarm(repo):
    motor = repo.get_hardware_object("sample-y")
    ready(motor)
    motor.set_value(5.0, wait=True, timeout=30)
    assert motor.get_value() == pytest.approx(2.0)
    assert motor.get_state() is HardwareObjectState.WARNING
    assert motor.get_state_name() == "ALARM"
    motor.set_value(0.0, wait=True, timeout=30)
    assert motor.get_state() is HardwareObjectState.READY


def test_motor_stop_during_a_move(repo):
    motor = repo.get_hardware_object("diff-phi")
    ready(motor)
    motor.set_value(170.0)
    wait_until(lambda: (motor.get_value() or 0) > 5, what="phi moving")
    motor.stop()
    wait_until(lambda: motor.get_state() is HardwareObjectState.READY, what="stop")
    stopped_at = motor.get_value()
    assert 5 < stopped_at < 170
    motor.set_value(0.0, wait=True, timeout=30)


def test_shutter_opens_and_closes_and_reports_an_interlock(repo):
    shutter = repo.get_hardware_object("safety-shutter")
    wait_until(lambda: shutter.get_shutter_state() == "CLOSED", what="closed")
    names: list[str] = []
    shutter.connect("shutterStateChanged", names.append)
    shutter.open(wait=True, timeout=10)
    assert shutter.is_open()
    shutter.close(wait=True, timeout=10)
    assert shutter.get_shutter_state() == "CLOSED"
    assert names[:3] == ["MOVING", "OPEN", "MOVING"]

    import tango

    proxy = tango.DeviceProxy(shutter.get_property("tangoname"))
    proxy.write_attribute("Interlock", True)
    try:
        with pytest.raises(CommandFailedError, match="interlock"):
            shutter.open()
        wait_until(lambda: shutter.get_shutter_state() == "FAULT", what="fault")
        assert shutter.get_state() is HardwareObjectState.FAULT
    finally:
        proxy.write_attribute("Interlock", False)
        del proxy
    shutter.close(wait=True, timeout=10)  # the fault clears with the next move
    assert shutter.get_state() is HardwareObjectState.READY


def test_machine_info_and_the_beamline_equipment(repo):
    info = repo.get_hardware_object("machine-info")
    values: list[dict] = []
    info.connect("valuesChanged", values.append)
    wait_until(lambda: any(v["current"] for v in values), what="a current value")
    assert 0 < info.get_current() <= 200
    assert info.get_message() in ("Beam delivered", "Top-up in progress")
    beamline = repo.get_hardware_object("beamline")
    members = {
        role: beamline.get_object_by_role(role)
        for role in ("omega", "phi", "sample_x", "sample_y", "energy", "safety_shutter")
    }
    wait_until(
        lambda: beamline.get_state() is HardwareObjectState.READY,
        what=lambda: (
            "the beamline ready: "
            + ", ".join(f"{r}={m.get_state().name}" for r, m in members.items())
        ),
    )


def test_a_motor_waits_for_its_first_values(repo):
    # Issue #18: right after loading, get_value() was None, the state UNKNOWN
    # and a limit None, with no documented way to wait for them.
    motor = repo.get_hardware_object("energy")
    motor.wait_first_values(timeout=20)
    assert motor.get_value() == pytest.approx(12.4)
    assert motor.get_state() is HardwareObjectState.READY
    assert motor.get_limits() == (5.0, 20.0)


def test_waiting_for_first_values_that_never_come_names_them(tmp_path):
    from HardwareRepository.errors import Timeout

    (tmp_path / "stuck.xml").write_text(
        '<device class="TangoMotor">\n'
        '  <channel type="sim" name="position" value="1.0">Position</channel>\n'
        '  <channel type="sim" name="state" value="ON">State</channel>\n'
        '  <channel type="sim" name="high_limit" connected="False">High</channel>\n'
        '  <command type="sim" name="stop">Stop</command>\n'
        "</device>\n"
    )
    repository = init_hardware_repository(str(tmp_path))
    try:
        motor = repository.get_hardware_object("stuck")
        with pytest.raises(Timeout, match=r"motor /stuck: no high limit after 0\.2 s"):
            motor.wait_first_values(timeout=0.2)
    finally:
        uninit_hardware_repository()
