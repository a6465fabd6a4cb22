"""One vocabulary of states for every view (issue #18)."""

from __future__ import annotations

import pytest

from HardwareRepository.BaseHardwareObjects import HardwareObjectState
from HardwareRepository.HardwareRepository import HardwareRepository
from HardwareRepository.states import (
    describe_state,
    native_state_name,
    object_state_text,
)

MOTOR = """\
<device class="TangoMotor">
  <channel type="sim" name="position" value="1.5">Position</channel>
  <channel type="sim" name="state" value="MOVING">State</channel>
  <command type="sim" name="stop">Stop</command>
</device>
"""


def test_a_state_prints_as_its_name_never_its_number():
    state = HardwareObjectState.READY
    assert str(state) == "READY"
    assert f"{state}" == "READY"
    assert f"{state:>7}" == "  READY"
    assert repr(state) == "<HardwareObjectState.READY: 3>"
    # Names and values stay mxCuBE's.
    assert state.value == 3
    assert HardwareObjectState["BUSY"] is HardwareObjectState.BUSY


@pytest.mark.parametrize(
    ("state", "native", "text"),
    [
        (HardwareObjectState.READY, "", "READY"),
        (HardwareObjectState.READY, "ready", "READY"),
        (HardwareObjectState.READY, "ON", "READY (ON)"),
        (HardwareObjectState.READY, "closed", "READY (CLOSED)"),
        (HardwareObjectState.WARNING, "ALARM", "WARNING (ALARM)"),
        (None, "DISCONNECTED", "UNKNOWN (DISCONNECTED)"),
    ],
)
def test_describe_state(state, native, text):
    assert describe_state(state, native) == text


def test_an_object_states_in_the_vocabulary(tmp_path):
    (tmp_path / "motor.xml").write_text(MOTOR)
    repository = HardwareRepository(str(tmp_path))
    try:
        motor = repository.get_hardware_object("motor")
        assert native_state_name(motor) == "MOVING"
        assert object_state_text(motor) == "BUSY (MOVING)"
        motor.position_channel.set_connected(False)
        assert object_state_text(motor) == "UNKNOWN (DISCONNECTED)"
    finally:
        repository.shutdown()
