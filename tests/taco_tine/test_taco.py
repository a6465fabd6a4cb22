"""Taco commands and channels through the SIMULATED Taco client."""

from __future__ import annotations

import threading
import time

import gevent
import pytest

from HardwareRepository.bridge import AsyncResult, Event
from HardwareRepository.Command import Taco
from HardwareRepository.CommandContainer import Quality
from HardwareRepository.errors import (
    CommandFailedError,
    ConfigError,
    NotConnectedError,
    Timeout,
)

DEVICE = "id29/flux/1"


def make_channel(taco, command="DevRead", **kwargs):
    kwargs.setdefault("polling", 0.02)
    kwargs.setdefault("timeout", 0.2)
    kwargs.setdefault("retry", 0.02)
    kwargs.setdefault("retry_max", 0.08)
    return Taco.TacoChannel("flux", command, DEVICE, client=taco, **kwargs)


# -- channels ---------------------------------------------------------------------
def test_channel_polls_on_the_poller_and_emits_changes_only(taco, record):
    readings = iter([1.0, 1.0, 1.0, 2.0])
    eight_polls = Event()
    poll_threads = set()

    def read():
        poll_threads.add(threading.get_ident())
        if len(device.calls) >= 7:
            eight_polls.set()
        return next(readings, 2.0)

    device = taco.define_device(DEVICE, {"DevRead": read})
    channel = make_channel(taco)
    rec = record(channel)
    try:
        assert eight_polls.wait(10.0)
        rec.wait_for(lambda: rec.values == [1.0, 2.0])
        assert rec.values == [1.0, 2.0]
        assert threading.get_ident() not in poll_threads
        assert channel.get_value() == 2.0
        assert channel.is_connected()
        assert rec.threads == {threading.get_ident()}
    finally:
        channel.close()


def test_compare_false_emits_after_every_poll(taco, record):
    device = taco.define_device(DEVICE, {"DevRead": 7})
    channel = make_channel(taco, compare=False)
    rec = record(channel)
    try:
        rec.wait_for(lambda: len(rec.values) >= 4)
        assert set(rec.values) == {7}
        assert len(device.calls) >= 4
    finally:
        channel.close()


def test_xml_args_are_literals_passed_to_the_command(taco, record):
    device = taco.define_device(DEVICE, {"DevReadChannel": lambda *a: list(a)})
    channel = make_channel(taco, "DevReadChannel", args="3, 'gain', [1, 2]")
    rec = record(channel)
    try:
        rec.wait_for(lambda: bool(rec.values))
        assert rec.values[0] == [3, "gain", [1, 2]]
        assert device.calls[0] == ("DevReadChannel", (3, "gain", [1, 2]))
    finally:
        channel.close()


@pytest.mark.parametrize(
    "text", ["__import__('os').system('true')", "open('x')", "a + b", "1 +"]
)
def test_args_that_are_not_literals_are_refused(taco, text):
    taco.define_device(DEVICE, {"DevRead": 1})
    with pytest.raises(ConfigError, match="literals"):
        Taco.TacoCommand("c", "DevRead", DEVICE, args=text, client=taco)


def test_link_loss_disconnects_then_recovers_and_re_emits(taco, record):
    device = taco.define_device(DEVICE, {"DevRead": 5})
    channel = make_channel(taco)
    rec = record(channel)
    try:
        rec.wait_for(lambda: rec.values == [5])
        device.stop()
        rec.wait_for(lambda: rec.connections[-1:] == [False])
        assert not channel.is_connected()
        assert channel.get_quality() is Quality.INVALID
        assert isinstance(channel.last_error, NotConnectedError)
        assert "simulated Taco device id29/flux/1" in str(channel.last_error)
        device.start()
        rec.wait_for(lambda: rec.values == [5, 5])
        assert rec.connections == [True, False, True]
        assert channel.get_quality() is Quality.VALID
        assert channel.last_error is None
    finally:
        channel.close()


def test_retries_back_off_while_the_device_stays_down(taco, record, watch_log):
    device = taco.define_device(DEVICE, {"DevRead": 5})
    device.stop()
    with watch_log("HardwareRepository.Command.Taco", "retrying in") as retries:
        channel = make_channel(taco, retry=0.01, retry_max=0.04)
        retries.wait_count(5)
    try:
        rec = record(channel)
        assert channel.backend.backoff.next_delay() == pytest.approx(0.04)
        assert not channel.is_connected()
        device.start()
        rec.wait_for(lambda: rec.values == [5])
        assert channel.backend.backoff.failures == 0
    finally:
        channel.close()


def test_device_error_codes_reach_the_channel_and_the_log(taco, record, watch_log):
    device = taco.define_device(DEVICE, {"DevRead": 5})
    device.fail("DevRead", taco.DevErr_DeviceHardwareError, "amplifier saturated")
    with watch_log("HardwareRepository.Command.Taco", "amplifier saturated") as log:
        channel = make_channel(taco)
        log.wait_count(2)
    try:
        rec = record(channel)
        error = channel.last_error
        assert isinstance(error, CommandFailedError)
        assert error.__cause__.code == taco.DevErr_DeviceHardwareError
        assert "amplifier saturated" in str(error)
        device.fail("DevRead", None)
        rec.wait_for(lambda: rec.values == [5])
    finally:
        channel.close()


def test_channel_loads_while_the_device_is_undefined(taco, record, watch_log):
    with watch_log("HardwareRepository.Command.Taco", "not defined") as log:
        channel = make_channel(taco)
        log.wait_count(1)
    try:
        rec = record(channel)
        assert channel.last_error.__cause__.code == taco.DbErr_DeviceNotDefined
        taco.define_device(DEVICE, {"DevRead": 3})
        rec.wait_for(lambda: rec.values == [3])
    finally:
        channel.close()


def test_get_value_force_reads_in_a_worker_thread(taco):
    counter = iter(range(100))
    hub_thread = threading.get_ident()
    threads = []

    def read():
        threads.append(threading.get_ident())
        return next(counter)

    taco.define_device(DEVICE, {"DevRead": read})
    channel = make_channel(taco, polling=60_000)
    try:
        first = channel.get_value(force=True)
        second = channel.get_value(force=True)
        assert second > first
        assert hub_thread not in threads
    finally:
        channel.close()


def test_get_value_timeout(taco):
    device = taco.define_device(DEVICE, {"DevRead": 1})
    channel = make_channel(taco, polling=60_000, timeout=5.0)
    try:
        channel.get_value(force=True)
        device.delay = 0.5
        started = time.monotonic()
        with pytest.raises(Timeout, match="id29/flux/1"):
            channel.get_value(force=True, timeout=0.05)
        assert time.monotonic() - started < 0.4
    finally:
        device.delay = 0.0
        channel.close()


def test_close_stops_polling(taco, record):
    device = taco.define_device(DEVICE, {"DevRead": 1})
    channel = make_channel(taco)
    rec = record(channel)
    rec.wait_for(lambda: rec.values == [1])
    channel.close()
    calls = len(device.calls)
    gevent.sleep(0.1)  # several periods: polling must not resume
    assert len(device.calls) <= calls + 1
    with pytest.raises(NotConnectedError):
        channel.get_value()


def test_channel_needs_a_period_and_a_device(taco):
    with pytest.raises(ConfigError, match="polling"):
        Taco.make_channel("c", "DevRead", {"taconame": DEVICE, "simulated": True}, None)
    with pytest.raises(ConfigError, match="taconame"):
        Taco.make_channel("c", "DevRead", {"polling": 100, "simulated": True}, None)


# -- commands -----------------------------------------------------------------------
def test_command_executes_with_call_arguments(taco, record):
    device = taco.define_device(DEVICE, {"DevAdd": lambda a, b: a + b})
    command = Taco.TacoCommand("add", "DevAdd", DEVICE, client=taco)
    rec = record(command)
    try:
        assert command(2, 3) == 5
        assert rec.replies == [(5, "add")]
        assert device.calls == [("DevAdd", (2, 3))]
        rec.wait_for(lambda: command.is_connected())
    finally:
        command.close()


def test_command_with_xml_args_refuses_call_arguments(taco, record):
    device = taco.define_device(DEVICE, {"DevSetGain": lambda *a: a})
    command = Taco.TacoCommand("gain", "DevSetGain", DEVICE, args="3", client=taco)
    rec = record(command)
    try:
        assert command() == (3,)
        with pytest.raises(TypeError, match="fixed by the XML"):
            command(4)
        assert [type(e) for e, _ in rec.failures] == [TypeError]
        assert device.calls == [("DevSetGain", (3,))]
    finally:
        command.close()


def test_command_failure_raises_with_the_taco_error(taco, record):
    device = taco.define_device(DEVICE, {"DevMove": None})
    device.fail("DevMove", taco.DevErr_CommandFailed, "limit switch")
    command = Taco.TacoCommand("move", "DevMove", DEVICE, client=taco)
    rec = record(command)
    try:
        with pytest.raises(CommandFailedError, match="limit switch") as info:
            command(1.0)
        assert info.value.__cause__.code == taco.DevErr_CommandFailed
        assert rec.failures[0][0] is info.value
    finally:
        command.close()


def test_unknown_command_fails_clearly(taco):
    taco.define_device(DEVICE, {"DevRead": 1})
    command = Taco.TacoCommand("x", "DevNoSuch", DEVICE, client=taco)
    try:
        with pytest.raises(CommandFailedError, match="no command DevNoSuch"):
            command()
    finally:
        command.close()


def test_command_rpc_timeout_on_a_dead_server(taco, record):
    device = taco.define_device(DEVICE, {"DevRead": 1})
    command = Taco.TacoCommand("r", "DevRead", DEVICE, timeout=0.1, client=taco)
    rec = record(command)
    try:
        assert command() == 1
        device.stop()
        started = time.monotonic()
        with pytest.raises(NotConnectedError) as info:
            command()
        assert info.value.__cause__.code == taco.DevErr_RPCTimedOut
        assert 0.05 < time.monotonic() - started < 2.0
        assert not command.is_connected()
        device.start()
        assert command() == 1
        assert command.is_connected()
        assert rec.connections[-2:] == [False, True]
    finally:
        command.close()


def test_command_call_timeout_and_wait_false(taco):
    device = taco.define_device(DEVICE, {"DevSlow": lambda: "done"})
    command = Taco.TacoCommand("slow", "DevSlow", DEVICE, client=taco)
    try:
        device.delay = 0.3
        started = time.monotonic()
        with pytest.raises(Timeout):
            command(timeout=0.05)
        assert time.monotonic() - started < 0.25
        result = command(wait=False)
        assert isinstance(result, AsyncResult)
        assert result.get(5.0) == "done"
    finally:
        device.delay = 0.0
        command.close()


def test_command_from_a_plain_thread(taco, in_plain_thread):
    taco.define_device(DEVICE, {"DevAdd": lambda a, b: a + b})
    command = Taco.TacoCommand("add", "DevAdd", DEVICE, client=taco)
    try:
        assert in_plain_thread(command, 20, 22, timeout=5.0).get(10.0) == 42
    finally:
        command.close()


def test_data_collector_device(taco):
    device = taco.define_device(DEVICE, {"DevReadValue": 12.5})
    command = Taco.TacoCommand("dc", "DevReadValue", DEVICE, dc=True, client=taco)
    try:
        assert command() == 12.5
        assert device.calls == [("DevReadValue", ())]
    finally:
        command.close()


def test_source_says_simulated(taco):
    taco.define_device(DEVICE, {"DevRead": 1})
    command = Taco.TacoCommand("r", "DevRead", DEVICE, client=taco)
    try:
        assert "SIMULATED" in command.source()
        assert command.simulated
    finally:
        command.close()
