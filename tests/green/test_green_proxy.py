"""The green DeviceProxy on a real device server: PyTango's API, cooperative."""

from __future__ import annotations

import gevent
import numpy
import pytest
import tango
from gevent._hub_local import get_hub_if_exists
from green_devices import WAVE_LENGTH

from HardwareRepository.bridge import AsyncResult, Queue, native
from HardwareRepository.errors import BridgeClosedError
from HardwareRepository.tango import DeviceProxy, Timeout, get_device_proxy


@pytest.fixture
def dev(url):
    proxy = DeviceProxy(url)
    yield proxy
    proxy.close()


# -- the seed's examples ------------------------------------------------------------


def test_state_waits_and_returns_the_state(dev):
    assert dev.state() == tango.DevState.ON
    assert dev.status() == "all good"


def test_state_without_waiting_returns_an_async_result(dev):
    result = dev.state(wait=False)
    assert isinstance(result, AsyncResult)
    assert result.get(timeout=10) == tango.DevState.ON


def test_read_attribute_wave_without_waiting_gives_the_spectrum(dev):
    result = dev.read_attribute("wave", wait=False)
    assert isinstance(result, AsyncResult)
    wave = result.get(timeout=10).value
    assert wave.shape == (WAVE_LENGTH,)
    numpy.testing.assert_allclose(
        wave, numpy.sin(numpy.linspace(0, 2 * numpy.pi, WAVE_LENGTH))
    )


def test_the_constructor_without_waiting_returns_an_async_result(url):
    result = DeviceProxy(url, wait=False)
    assert isinstance(result, AsyncResult)
    proxy = result.get(timeout=10)
    try:
        assert isinstance(proxy, DeviceProxy)
        assert proxy.ping() > 0
    finally:
        proxy.close()
    same = get_device_proxy(url, wait=False).get(timeout=10)
    same.close()


def test_the_constructor_of_a_missing_device_raises_devfailed(url):
    host_port = url.split("/")[2]
    with pytest.raises(tango.DevFailed):
        DeviceProxy(f"tango://{host_port}/no/such/device#dbase=no").state()


def test_green_mode_is_refused(url):
    with pytest.raises(TypeError, match="always green"):
        DeviceProxy(url, green_mode=tango.GreenMode.Gevent)


# -- timeouts -------------------------------------------------------------------------


def test_a_timeout_raises_a_timeout_error_naming_device_and_call(dev, url):
    with pytest.raises(TimeoutError) as caught:
        dev.command_inout("Sleep", 1.0, timeout=0.1)
    assert isinstance(caught.value, Timeout)
    assert url in str(caught.value)
    assert "command_inout('Sleep')" in str(caught.value)
    # Caught by "except Exception", unlike gevent.Timeout.
    assert isinstance(caught.value, Exception)
    # The proxy still works once the sleeping call is over.
    assert dev.command_inout("Sleep", 0.0, timeout=10) == 0.0


def test_a_timeout_on_the_async_result_names_device_and_call(dev, url):
    result = dev.command_inout("Sleep", 1.0, wait=False)
    with pytest.raises(Timeout, match="command_inout\\('Sleep'\\)") as caught:
        result.get(timeout=0.05)
    assert url in str(caught.value)
    assert result.get(timeout=10) == 1.0


# -- cooperation --------------------------------------------------------------------


def test_other_greenlets_run_while_a_call_waits(dev):
    waiting = {"now": False}
    ticks_while_waiting = []

    def ticker() -> None:
        while True:
            if waiting["now"]:
                ticks_while_waiting.append(native.monotonic())
            gevent.sleep(0.005)

    def caller() -> float:
        waiting["now"] = True
        try:
            return dev.command_inout("Sleep", 0.3)
        finally:
            waiting["now"] = False

    tick = gevent.spawn(ticker)
    try:
        assert gevent.spawn(caller).get(timeout=10) == 0.3
    finally:
        tick.kill()
    assert len(ticks_while_waiting) >= 5


def test_many_greenlets_call_at_once(dev):
    calls = [gevent.spawn(dev.command_inout, "Echo", str(i)) for i in range(40)]
    gevent.joinall(calls, timeout=20, raise_error=True)
    assert [call.value for call in calls] == [str(i) for i in range(40)]


def test_a_plain_thread_blocks_as_usual_and_gets_no_hub(dev):
    replies: Queue[object] = Queue()

    def in_thread() -> None:
        try:
            state = dev.state()
            echoed = dev.command_inout("Echo", "plain")
            later = dev.state(wait=False)  # worker threads, an AsyncResult
            replies.put((state, echoed, later.get(10), get_hub_if_exists()))
        except BaseException as exc:
            replies.put(exc)

    native.start_new_thread(in_thread, ())
    assert replies.get(timeout=20) == (
        tango.DevState.ON,
        "plain",
        tango.DevState.ON,
        None,
    )


def test_waiting_inside_the_hub_itself_is_refused(dev):
    from HardwareRepository.errors import InvalidThreadUseError

    outcome = AsyncResult()

    def in_hub() -> None:
        try:
            dev.state()
        except BaseException as exc:
            outcome.set(type(exc))
        else:
            outcome.set(None)

    gevent.get_hub().loop.run_callback(in_hub)
    assert outcome.get(timeout=10) is InvalidThreadUseError


# -- errors ---------------------------------------------------------------------------


def test_a_failing_command_raises_devfailed_with_its_reason(dev):
    with pytest.raises(tango.DevFailed) as caught:
        dev.command_inout("Fail")
    assert caught.value.args[0].reason == "TEST_CommandFailed"
    result = dev.command_inout("Fail", wait=False)
    with pytest.raises(tango.DevFailed):
        result.get(timeout=10)


def test_the_property_calls_fail_like_the_synchronous_proxy_without_database(dev, url):
    plain = tango.DeviceProxy(url)
    for call in (lambda p: p.get_property("x"), lambda p: p.put_property({"x": 1})):
        with pytest.raises(tango.DevFailed) as expected:
            call(plain)
        with pytest.raises(tango.DevFailed) as green:
            call(dev)
        assert green.value.args[0].reason == expected.value.args[0].reason


def test_a_closed_proxy_refuses_calls(url):
    proxy = DeviceProxy(url)
    proxy.close()
    proxy.close()  # idempotent
    with pytest.raises(BridgeClosedError, match="closed"):
        proxy.state()


# -- the rest of the API --------------------------------------------------------------


def test_reads_and_writes(dev):
    dev.write_attribute("Level", 2.5)
    assert dev.read_attribute("Level").value == 2.5
    assert dev.write_read_attribute("Level", 3.5).value == 3.5
    dev.write_attributes([("Level", 4.5)])
    values = dev.read_attributes(["Level", "wave"])
    assert values[0].value == 4.5
    assert values[1].value.shape == (WAVE_LENGTH,)
    replies = dev.write_read_attributes([("Level", 5.5)], ["Level"])
    assert replies[0].value == 5.5
    assert dev.write_attribute("Level", 1.0, wait=False).get(10) is None


def test_attribute_config_round_trip(dev):
    config = dev.get_attribute_config("Level")
    assert config.unit == "mm"
    config.unit = "um"
    dev.set_attribute_config(config)
    assert dev.get_attribute_config("Level", wait=False).get(10).unit == "um"
    config.unit = "mm"
    dev.set_attribute_config(config, timeout=10)


def test_ping_and_pass_through_methods(dev, url):
    assert dev.ping(timeout=10) > 0
    assert dev.dev_name() == "test/green/1"
    dev.set_timeout_millis(4000)
    assert dev.get_timeout_millis() == 4000
    assert isinstance(dev.synchronous, tango.DeviceProxy)


def test_device_attributes_and_commands_as_python_attributes(dev):
    dev.Level = 7.5
    assert dev.Level == 7.5
    assert dev.level == 7.5  # Tango names ignore case
    assert dev.Echo("hi") == "hi"
    assert dev.Sleep(0.0, timeout=10) == 0.0
    with pytest.raises(AttributeError):
        dev.NoSuchThing  # noqa: B018
