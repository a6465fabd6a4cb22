"""mxcubecore's TangoMotor and TangoShutter, unchanged, on the demo's Tango servers.

The classes come from the installed mxcubecore; their Tango channels and
commands are this package's (``mxcubecore.Command.Tango`` is
``HardwareRepository.Command.Tango``). The XML is written as mxCuBE sites
write it for these classes; ``HWR.beamline`` comes from a
``beamline_config.yml``.
"""

from __future__ import annotations

import textwrap

import pytest

from HardwareRepository.BaseHardwareObjects import HardwareObjectState

pytestmark = [pytest.mark.tango, pytest.mark.slow]


@pytest.fixture
def tango_beamline(core, demo_servers, tmp_path):
    """HWR.beamline with mxcubecore's TangoMotor (phi) and TangoShutter."""
    from mxcubecore import HardwareRepository as HWR  # noqa: N814 (mxCuBE's name)

    config = tmp_path / "tango"
    config.mkdir()
    files = {
        "beamline_config.yml": """
            class: mxcubecore.HardwareObjects.Beamline.Beamline
            objects: !!omap
              - safety_shutter: safety-shutter.xml
              - diffractometer: diffractometer.yml
        """,
        "diffractometer.yml": """
            class: HardwareRepository.BaseHardwareObjects.HardwareObject
            objects:
              phi: phi.xml
        """,
        "phi.xml": f"""
            <object class="mxcubecore.HardwareObjects.TangoMotor">
              <username>Phi</username>
              <actuator_name>phi</actuator_name>
              <tangoname>{demo_servers.device_url("demo/motor/phi")}</tangoname>
              <polling>200</polling>
              <tolerance>0.001</tolerance>
              <channel type="tango" name="velocity" polling="1000">Velocity</channel>
            </object>
        """,
        "safety-shutter.xml": f"""
            <object class="mxcubecore.HardwareObjects.TangoShutter">
              <username>Safety shutter</username>
              <tangoname>{demo_servers.device_url("demo/shutter/safety")}</tangoname>
              <command type="tango" name="Open">Open</command>
              <command type="tango" name="Close">Close</command>
              <channel type="tango" name="State" polling="200">State</channel>
              <values>{{"CLOSED": "CLOSE"}}</values>
            </object>
        """,
    }
    for name, text in files.items():
        (config / name).write_text(textwrap.dedent(text).lstrip())
    HWR.init_hardware_repository(str(config))
    yield HWR
    HWR.uninit_hardware_repository()


def test_tango_motor_moves(tango_beamline, wait_until):
    phi = tango_beamline.beamline.diffractometer.phi
    repo = tango_beamline.get_hardware_repository()
    assert type(phi).__module__ == "mxcubecore.HardwareObjects.TangoMotor"
    assert [r.name for r in repo.summary() if r.status == "failed"] == []
    wait_until(phi.is_ready, what="phi ready")
    values, states = [], []
    phi.connect("valueChanged", values.append)
    phi.connect("stateChanged", states.append)
    target = round(phi.get_value() + 5.0, 3)
    phi.set_value(target)
    wait_until(lambda: abs(phi.get_value() - target) < 1e-3, what="phi at target")
    wait_until(phi.is_ready, what="phi ready after the move")
    assert HardwareObjectState.BUSY in states
    assert states[-1] is HardwareObjectState.READY
    assert abs(values[-1] - target) < 1e-3
    assert phi.get_velocity() > 0


def test_tango_shutter_opens_and_closes(tango_beamline, wait_until):
    shutter = tango_beamline.beamline.safety_shutter
    assert type(shutter).__module__ == "mxcubecore.HardwareObjects.TangoShutter"
    wait_until(lambda: shutter.get_value().name == "CLOSED", what="shutter closed")
    assert shutter.get_state() is HardwareObjectState.READY
    values = []
    shutter.connect("valueChanged", values.append)
    shutter.open()
    wait_until(lambda: shutter.is_open, what="shutter open")
    shutter.close()
    wait_until(lambda: shutter.get_value().name == "CLOSED", what="closed again")
    names = [v.name for v in values]
    assert "OPEN" in names
    assert names[-1] == "CLOSED"
