"""This package's TangoShutter and MachineInfo read mxcubecore's XML for those classes.

On the demo's real Tango servers; their own format is covered by
``tests/hardware_objects``.
"""

from __future__ import annotations

import textwrap

import pytest
import tango

from HardwareRepository.BaseHardwareObjects import HardwareObjectState
from HardwareRepository.errors import ConfigError

pytestmark = [pytest.mark.tango, pytest.mark.slow]


@pytest.fixture
def load(hwr, tmp_path, demo_servers):
    """Return ``load(name, xml)``: write the file, load it with our classes."""
    config = tmp_path / "own"
    config.mkdir()
    repo = hwr.init_hardware_repository(str(config))

    def load_object(name: str, xml: str, optional: bool = False):
        text = textwrap.dedent(xml).lstrip()
        (config / f"{name}.xml").write_text(text)
        return repo.get_hardware_object(f"/{name}", optional=optional)

    return load_object


def test_tango_shutter_from_mxcubecore_xml(load, demo_servers, wait_until):
    shutter = load(
        "shutter",
        f"""
        <object class="TangoShutter">
          <username>Safety Shutter</username>
          <tangoname>{demo_servers.device_url("demo/shutter/safety")}</tangoname>
          <command type="tango" name="Open">Open</command>
          <command type="tango" name="Close">Close</command>
          <channel type="tango" name="State" polling="200">State</channel>
          <values>{{"CLOSED": "CLOSE", "TRAVELLING": ["MOVING", "BUSY"]}}</values>
        </object>
        """,
    )
    wait_until(lambda: shutter.get_shutter_state() == "CLOSED", what="closed")
    assert shutter.get_state() is HardwareObjectState.READY
    seen, states = [], []
    shutter.connect("shutterStateChanged", seen.append)
    shutter.connect("stateChanged", states.append)
    shutter.open(wait=True, timeout=10)
    assert shutter.is_open()
    shutter.close(wait=True, timeout=10)
    assert "TRAVELLING" in seen  # the renamed Tango MOVING state
    assert seen[-1] == "CLOSED"
    assert HardwareObjectState.BUSY in states


def test_bad_values_map_names_the_file(load, demo_servers):
    with pytest.raises(ConfigError, match=r"shutter\.xml.*<values> must be a JSON"):
        load(
            "shutter",
            f"""
            <object class="TangoShutter">
              <tangoname>{demo_servers.device_url("demo/shutter/safety")}</tangoname>
              <command type="tango" name="Open">Open</command>
              <command type="tango" name="Close">Close</command>
              <channel type="tango" name="State" polling="200">State</channel>
              <values>{{'CLOSED': 'CLOSE'}}</values>
            </object>
            """,
        )


def test_machine_info_from_mxcubecore_xml(load, demo_servers, wait_until):
    info = load(
        "machine-info",
        f"""
        <object class="MachineInfo">
          <tangoname>{demo_servers.device_url("demo/machine/info")}</tangoname>
          <parameters>["current", "lifetime", "message"]</parameters>
          <channel type="tango" name="current" polling="200">Current</channel>
          <channel type="tango" name="lifetime" polling="200">Lifetime_</channel>
          <channel type="tango" name="message" polling="200">Message</channel>
        </object>
        """,
    )
    values = []
    info.connect("valueChanged", values.append)
    wait_until(
        lambda: values and values[-1]["lifetime"] is not None and values[-1]["current"],
        what="machine values",
    )
    device = tango.DeviceProxy(demo_servers.device_url("demo/machine/info"))
    assert values[-1]["lifetime"] == device.Lifetime_
    assert set(info.get_value()) == {"current", "lifetime", "message"}
    assert info.get_current() > 0


def test_machine_info_parameter_without_channel(load, demo_servers):
    with pytest.raises(ConfigError, match="no channel named 'refill'"):
        load(
            "machine-info",
            f"""
            <object class="MachineInfo">
              <tangoname>{demo_servers.device_url("demo/machine/info")}</tangoname>
              <parameters>["current", "refill"]</parameters>
              <channel type="tango" name="current" polling="200">Current</channel>
            </object>
            """,
        )


@pytest.mark.parametrize(
    "body",
    [
        "",  # only <tangoname>: the channels and the command are created
        """
        <channel type="tango" name="axisPosition" polling="200">Position</channel>
        <channel type="tango" name="axisState" polling="200">State</channel>
        <command type="tango" name="stopAxis">Stop</command>
        <channel type="tango" name="velocity" polling="1000">Velocity</channel>
        """,
    ],
    ids=["tangoname-only", "mxcubecore-names"],
)
def test_tango_motor_from_mxcubecore_xml(load, demo_servers, body, wait_until):
    phi = load(
        "phi",
        f"""
        <object class="TangoMotor">
          <username>Phi</username>
          <actuator_name>phi</actuator_name>
          <tangoname>{demo_servers.device_url("demo/motor/phi")}</tangoname>
          <polling>200</polling>
          <default_limits>(-180, 180)</default_limits>
          {body}
        </object>
        """,
    )
    assert type(phi).__module__ == "HardwareObjects.TangoMotor"
    assert phi.get_limits() == (-180, 180)
    wait_until(lambda: phi.get_value() is not None, what="a first position")
    values, states = [], []
    phi.connect("valueChanged", values.append)
    phi.connect("stateChanged", states.append)
    target = round(phi.get_value() + 3.0, 3)
    phi.set_value(target, wait=True, timeout=10)
    wait_until(lambda: abs(phi.get_value() - target) < 1e-3, what="phi at target")
    wait_until(phi.is_ready, what="ready after the move")
    assert HardwareObjectState.BUSY in states
    assert abs(values[-1] - target) < 1e-3
    phi.stop()


def test_tango_motor_without_tangoname_says_so(load):
    with pytest.raises(ConfigError, match="no channel 'position' configured and no"):
        load("phi", '<object class="TangoMotor"><username>Phi</username></object>')
