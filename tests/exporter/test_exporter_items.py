"""Exporter commands, channels and the mxCuBE Exporter class, in the hub."""

from __future__ import annotations

import time

import gevent
import pytest

from HardwareRepository.Command.Exporter import Exporter, parse_address
from HardwareRepository.CommandContainer import (
    NOT_INITIALIZED,
    CommandContainer,
    Quality,
)
from HardwareRepository.demo.processes import MDServerProcess
from HardwareRepository.errors import (
    CommandFailedError,
    ConfigError,
    NotConnectedError,
    Timeout,
)


class Owner(CommandContainer):
    """A container whose ``exporter_address`` property items inherit."""

    def __init__(self, address: str | None) -> None:
        super().__init__()
        self.address = address

    def get_property(self, name, default=None):
        return self.address if name == "exporter_address" else default


def wait_until(condition, timeout: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        gevent.sleep(0.01)


@pytest.fixture
def owner(md_server):
    container = Owner(md_server.address)
    yield container
    container.close_commands_and_channels()


def test_address_forms():
    assert parse_address("wid30bmd2s:9001") == ("wid30bmd2s", 9001)
    with pytest.raises(ConfigError, match="not 'host:port'"):
        parse_address("wid30bmd2s")
    with pytest.raises(ConfigError, match="exporter channel 'x' has no server"):
        Owner(None).add_channel({"type": "exporter", "name": "x"}, "State")


def test_items_share_the_inherited_or_the_element_address(owner, md_server):
    state = owner.add_channel({"type": "exporter", "name": "state"}, "State")
    phase = owner.add_channel(
        {"type": "exporter", "name": "phase", "exporter_address": md_server.address},
        "CurrentPhase",
    )
    limits = owner.add_command(
        {
            "type": "exporter",
            "name": "limits",
            "address": md_server.host,
            "port": md_server.port,
        },
        "getMotorLimits",
    )
    wait_until(lambda: state.value is not NOT_INITIALIZED, what="State read")
    assert state.value == "Ready"
    assert phase.get_value() == "Centring"
    assert limits("Kappa") == [-5.0, 240.0]
    assert md_server.address in state.source()
    assert "getMotorLimits" in limits.source()


def test_a_channel_follows_events_in_order(owner):
    position = owner.add_channel({"type": "exporter", "name": "pos"}, "OmegaPosition")
    motor_state = owner.add_channel({"type": "exporter", "name": "st"}, "OmegaState")
    wait_until(lambda: position.value is not NOT_INITIALIZED, what="first value")
    start = position.value
    seen: list[float] = []
    states: list[str] = []
    position.connect_signal("update", seen.append)
    motor_state.connect_signal("update", states.append)
    position.set_value(start + 12.0)
    wait_until(lambda: states[-1:] == ["Ready"] and len(states) > 1, what="stop")
    assert seen[-1] == pytest.approx(start + 12.0)
    assert seen[1:] == sorted(seen[1:])
    assert len(seen) > 3
    assert position.get_quality() is Quality.VALID
    assert "Moving" in states


def test_polling_reads_a_property_without_events(owner):
    light = owner.add_channel(
        {"type": "exporter", "name": "light", "polling": 100}, "FrontLightLevel"
    )
    values: list[float] = []
    light.connect_signal("update", values.append)
    wait_until(lambda: values, what="a polled value")
    light.set_value(0.75)
    wait_until(lambda: values[-1] == 0.75, what="the written value")
    light.set_value(1.0)


def test_command_errors_name_server_and_method_and_never_block_the_hub(owner):
    set_phase = owner.add_command(
        {"type": "exporter", "name": "set_phase"}, "startSetPhase"
    )
    sleep = owner.add_command({"type": "exporter", "name": "sleep"}, "simSleep")
    with pytest.raises(CommandFailedError, match=r"startSetPhase on .*unknown phase"):
        set_phase("Nowhere")
    ticks = []
    ticker = gevent.spawn(lambda: [ticks.append(gevent.sleep(0.01)) for _ in range(20)])
    with pytest.raises(Timeout):
        sleep(1, timeout=0.15)
    assert ticks  # the hub ran other greenlets during the wait
    ticker.kill()
    result = sleep(0, wait=False)
    assert result.get(3) is None


def test_phase_change_through_the_mxcube_exporter_class(owner, md_server):
    exporter = Exporter(md_server.host, md_server.port)
    try:
        phases: list[str] = []
        exporter.register("CurrentPhase", phases.append)
        assert exporter.get_server_object_name() == "SIMULATED MD"
        exporter.execute("startSetPhase", ["Transfer"])
        assert exporter.read_property("State") == "Running"
        wait_until(lambda: phases == ["Transfer"], what="phase event")
        assert exporter.get_state() == "Ready"
        exporter.execute("startSetPhase", ["Centring"])
        wait_until(lambda: phases[-1] == "Centring", what="phase back")
        exporter.execute("abort")
    finally:
        exporter.close()
    with pytest.raises(NotConnectedError, match="closed"):
        exporter.read_property("State")


def test_a_server_going_away_disconnects_within_2_s_and_comes_back_fresh():
    with MDServerProcess() as server:
        owner = Owner(server.address)
        try:
            light = owner.add_channel(
                {"type": "exporter", "name": "l"}, "FrontLightLevel"
            )
            wait_until(lambda: light.value == 1.0, what="first value")
            light.set_value(0.2)
            assert light.get_value(force=True) == 0.2
            states: list[bool] = []
            light.connect_signal("connectionStateChanged", states.append)
            server.kill()
            gone = time.monotonic()
            wait_until(lambda: not light.is_connected(), timeout=2.0, what="disconnect")
            assert time.monotonic() - gone < 2.0
            assert light.get_quality() is Quality.INVALID
            server.start()
            wait_until(lambda: light.value == 1.0, timeout=5.0, what="fresh value")
            assert light.is_connected()
            assert states == [False, True]
        finally:
            owner.close_commands_and_channels()
