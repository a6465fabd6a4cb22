"""TangoCommand against a real device server."""

from __future__ import annotations

import gevent
import numpy
import pytest

from HardwareRepository.bridge import AsyncResult, native
from HardwareRepository.Command.Tango import (
    TangoCommandFailedError,
    TangoNotConnectedError,
)
from HardwareRepository.CommandContainer import CommandContainer
from HardwareRepository.errors import (
    CommandFailedError,
    ConfigError,
    NotConnectedError,
    Timeout,
)
from HardwareRepository.testing.tango_servers import find_free_port

pytestmark = pytest.mark.tango


def test_values_of_every_kind_come_back(values_url, tango_items):
    echo = tango_items("command", "echo", "Echo", tangoname=values_url)
    total = tango_items("command", "sum", "Sum", tangoname=values_url)
    double = tango_items("command", "double", "Double", tangoname=values_url)
    nothing = tango_items("command", "nothing", "Nothing", tangoname=values_url)

    assert echo("héllo") == "héllo"
    assert total([1.0, 2.5, 3.5]) == 7.0
    assert total(1.0, 2.0) == 3.0  # several arguments are one array input
    numpy.testing.assert_array_equal(double(numpy.arange(3.0)), [0.0, 2.0, 4.0])
    assert nothing() is None


def test_reply_signals_and_connection(values_url, tango_items, recorder):
    echo = tango_items("command", "echo", "Echo", tangoname=values_url)
    rec = recorder(echo)
    assert echo("x") == "x"
    assert echo.is_connected()
    assert ("x", "echo") in [
        args for name, _, args in rec.events if name == "commandReplyArrived"
    ]


def test_failure_raises_with_device_command_and_reasons(
    values_url, tango_items, recorder
):
    fail = tango_items("command", "fail", "Fail", tangoname=values_url)
    rec = recorder(fail)
    with pytest.raises(TangoCommandFailedError) as info:
        fail()
    error = info.value
    assert isinstance(error, CommandFailedError)
    assert error.device == values_url
    assert error.target == "command Fail"
    assert error.reasons[0] == "TEST_CommandFailed"
    assert values_url in str(error)
    assert "Fail" in str(error)
    assert "the Fail command always fails" in str(error)
    assert error.__cause__ is not None  # the DevFailed
    failed = [args for name, _, args in rec.events if name == "commandFailed"]
    assert failed == [(error, "fail")]
    assert fail.is_connected()  # the device answered


def test_wait_false_returns_an_async_result(values_url, tango_items):
    echo = tango_items("command", "echo", "Echo", tangoname=values_url)
    fail = tango_items("command", "fail", "Fail", tangoname=values_url)
    result = echo("later", wait=False)
    assert isinstance(result, AsyncResult)
    assert result.get(10) == "later"
    failed = fail(wait=False)
    with pytest.raises(TangoCommandFailedError):
        failed.get(10)


def test_timeout_per_call_names_device_and_command(values_url, tango_items, recorder):
    sleep = tango_items("command", "sleep", "Sleep", tangoname=values_url)
    rec = recorder(sleep)
    start = native.monotonic()
    with pytest.raises(Timeout) as info:
        sleep(2.0, timeout=0.3)
    elapsed = native.monotonic() - start
    assert elapsed < 1.5
    assert values_url in str(info.value)
    assert "Sleep" in str(info.value)
    assert rec.values("commandFailed") == [info.value]
    # A per-call timeout longer than Tango's default (3 s) is honoured.
    assert sleep(3.5, timeout=8) == 3.5


def test_xml_timeout_is_the_default(values_url, tango_items):
    sleep = tango_items("command", "sleep", "Sleep", tangoname=values_url, timeout=300)
    assert sleep.timeout == pytest.approx(0.3)
    with pytest.raises(Timeout, match="Sleep"):
        sleep(1.0)
    with pytest.raises(Timeout, match="Sleep"):
        sleep(1.0, wait=False).get(5)


def test_hub_keeps_running_during_a_slow_command(values_url, tango_items):
    sleep = tango_items("command", "sleep", "Sleep", tangoname=values_url)
    ticks = []

    def ticker():
        while True:
            ticks.append(native.monotonic())
            gevent.sleep(0.01)

    greenlet = gevent.spawn(ticker)
    try:
        assert sleep(1.0) == 1.0
    finally:
        greenlet.kill()
    # A blocked hub would have let the ticker run once or twice at most.
    assert len(ticks) > 30


def test_commands_run_concurrently_from_greenlets(values_url, tango_items):
    echo = tango_items("command", "echo", "Echo", tangoname=values_url)
    greenlets = [gevent.spawn(echo, f"call {i}") for i in range(20)]
    gevent.joinall(greenlets, timeout=20, raise_error=True)
    assert [g.value for g in greenlets] == [f"call {i}" for i in range(20)]


def test_server_down_raises_not_connected(tango_items, recorder):
    url = f"tango://127.0.0.1:{find_free_port()}/test/values/1#dbase=no"
    echo = tango_items("command", "echo", "Echo", tangoname=url)
    rec = recorder(echo)
    with pytest.raises(TangoNotConnectedError) as info:
        echo("x")
    assert isinstance(info.value, NotConnectedError)
    assert url in str(info.value)
    assert info.value.reasons  # Tango's reasons, e.g. API_CantConnectToDevice
    assert rec.values("commandFailed") == [info.value]
    assert not echo.is_connected()


def test_tangoname_inherited_from_the_object(values_url):
    class Owner(CommandContainer):
        def get_property(self, name, default=None):
            return values_url if name == "tangoname" else default

    owner = Owner()
    try:
        echo = owner.add_command({"type": "tango", "name": "echo"}, "Echo")
        assert echo.device_name == values_url
        assert owner.execute_command("echo", "inherited") == "inherited"
    finally:
        owner.close_commands_and_channels()


def test_configuration_errors():
    owner = CommandContainer()
    with pytest.raises(ConfigError, match="tangoname"):
        owner.add_command({"type": "tango", "name": "echo"}, "Echo")
    with pytest.raises(ConfigError, match="command name"):
        owner.add_command({"type": "tango", "name": "x", "tangoname": "a/b/c"}, "")
    with pytest.raises(ConfigError, match="timeout"):
        owner.add_command(
            {"type": "tango", "name": "x", "tangoname": "a/b/c", "timeout": -1}, "X"
        )
