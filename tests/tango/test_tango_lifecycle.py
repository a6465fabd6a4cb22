"""Connection lifecycle: loading while the server is down, kill and restart.

Each test runs its own server, on a fixed port that survives restarts. The
delays measured here are printed (``pytest -s``) and summarised in
docs/tango.md.
"""

from __future__ import annotations

import pytest
import tango
from tango_test_devices import ValuesDevice

from HardwareRepository.bridge import native
from HardwareRepository.CommandContainer import CommandContainer, Quality
from HardwareRepository.errors import NotConnectedError
from HardwareRepository.testing.tango_servers import TangoServerProcess

pytestmark = [pytest.mark.tango, pytest.mark.slow]

DEVICE = "test/values/2"
# Tango's client notices a dead server by the missing heartbeat (sent every
# 9 s, declared lost after ~10 s) and re-subscribes every 10 s: an event
# channel may take up to ~20 s each way.
EVENT_DELAY = 25.0


@pytest.fixture
def server(tango_event_system) -> TangoServerProcess:
    """A server of this test only (not started yet); stopped at the end."""
    process = TangoServerProcess({DEVICE: ValuesDevice})
    yield process
    process.close()


class Owner(CommandContainer):
    """A bare object whose items inherit ``tangoname`` from its property."""

    def __init__(self, tangoname: str) -> None:
        super().__init__()
        self.tangoname = tangoname

    def get_property(self, name, default=None):
        return self.tangoname if name == "tangoname" else default


@pytest.fixture
def owner(server) -> Owner:
    obj = Owner(server.device_url(DEVICE))
    yield obj
    obj.close_commands_and_channels()
    from HardwareRepository import Poller

    assert Poller.shutdown(timeout=10)


def _since(start: float) -> float:
    return native.monotonic() - start


def test_object_loads_while_server_is_down_and_connects_later(server, owner, recorder):
    owner.add_channel({"type": "tango", "name": "polled", "polling": 100}, "Pid")
    owner.add_channel(
        {"type": "tango", "name": "events", "polling": "events"}, "Scalar"
    )
    owner.add_channel({"type": "tango", "name": "read"}, "Text")
    owner.add_command({"type": "tango", "name": "echo"}, "Echo")
    assert owner.get_item_errors() == {}
    channels = {c.name(): c for c in owner.get_channels()}
    recorders = {name: recorder(c) for name, c in channels.items()}
    echo = owner.get_command_object("echo")
    for channel in channels.values():
        assert not channel.is_connected()
    assert not echo.is_connected()

    start = native.monotonic()
    server.start()
    started = native.monotonic()
    print(f"\nserver start took {started - start:.2f} s")
    recorders["polled"].wait_for(lambda: recorders["polled"].values(), 6, "polled")
    print(f"polled channel connected {_since(started):.2f} s after the start")
    recorders["read"].wait_for(channels["read"].is_connected, 6, "read channel")
    assert channels["read"].get_value() == "hello"
    recorders["events"].wait_for(
        lambda: recorders["events"].values(), EVENT_DELAY, "event channel"
    )
    print(f"event channel connected {_since(started):.2f} s after the start")
    assert channels["events"].is_connected()
    assert channels["events"].value == 1.5
    assert not channels["events"].polling_fallback
    assert channels["polled"].value == server.pid
    assert echo("up") == "up"
    assert echo.is_connected()


def test_kill_and_restart(server, owner, recorder):
    server.start()
    polled = owner.add_channel({"type": "tango", "name": "pid", "polling": 100}, "Pid")
    same = owner.add_channel(
        {"type": "tango", "name": "scalar", "polling": 100}, "Scalar"
    )
    events = owner.add_channel(
        {"type": "tango", "name": "events", "polling": "events"}, "Scalar"
    )
    recs = {c.name(): recorder(c) for c in (polled, same, events)}
    first_pid = server.pid
    recs["pid"].wait_for(lambda: polled.value == first_pid, 10, "the first pid")
    recs["scalar"].wait_for(lambda: same.value == 1.5, 10, "the first scalar")
    recs["events"].wait_for(lambda: events.value == 1.5, 10, "the first event")

    killed = native.monotonic()
    server.kill()
    recs["pid"].wait_for(lambda: not polled.is_connected(), 2, "polled disconnection")
    polled_down = _since(killed)
    assert polled.quality is Quality.INVALID
    assert polled.value == first_pid  # the last value is kept
    recs["events"].wait_for(
        lambda: not events.is_connected(), EVENT_DELAY, "event disconnection"
    )
    events_down = _since(killed)
    assert events.quality is Quality.INVALID

    server.start()
    restarted = native.monotonic()
    new_pid = server.pid
    recs["pid"].wait_for(lambda: polled.value == new_pid, 5, "a fresh polled value")
    polled_up = _since(restarted)
    assert polled.is_connected()
    # The scalar is 1.5 again, equal to the last good value: still re-emitted.
    recs["scalar"].wait_for(
        lambda: recs["scalar"].first_after("update", restarted), 5, "re-emission"
    )
    assert recs["scalar"].values() == [1.5, 1.5]
    recs["events"].wait_for(
        lambda: recs["events"].first_after("update", restarted),
        EVENT_DELAY,
        "an event after the restart",
    )
    events_up = _since(restarted)
    assert events.is_connected()
    assert events.quality is Quality.VALID
    print(
        f"\npolled (100 ms): down after {polled_down:.2f} s, fresh value "
        f"{polled_up:.2f} s after restart; events: down after {events_down:.2f} s, "
        f"value {events_up:.2f} s after restart"
    )


def test_channel_without_polling_reports_a_failed_read_and_recovers(
    server, owner, recorder
):
    # A channel read on demand learns of a dead server only when a read fails:
    # that read must make it disconnected (quality INVALID), not just raise
    # while the channel still says connected with a VALID value; it then
    # retries by itself and re-emits the value once the server is back.
    server.start()
    channel = owner.add_channel({"type": "tango", "name": "read"}, "Text")
    rec = recorder(channel)
    rec.wait_for(lambda: channel.value == "hello", 10, "the first read")
    assert channel.is_connected()
    assert channel.quality is Quality.VALID

    server.kill()
    with pytest.raises(NotConnectedError) as info:
        channel.get_value(timeout=2.0)
    assert DEVICE in str(info.value)
    assert "Text" in str(info.value)
    assert not channel.is_connected()
    assert channel.quality is Quality.INVALID
    assert channel.value == "hello"  # the last value is kept, marked INVALID

    server.start()
    restarted = native.monotonic()
    rec.wait_for(
        lambda: rec.first_after("update", restarted), 10, "re-emission after restart"
    )
    assert channel.is_connected()
    assert channel.quality is Quality.VALID
    assert rec.values() == ["hello", "hello"]


def test_event_channel_retries_when_it_cannot_even_subscribe(
    server, owner, recorder, monkeypatch, caplog
):
    # Creating the proxy fails when the Tango database cannot be reached (here:
    # one real failed connection to a closed port). The event channel must
    # say so and retry, not stay silent and dead for good.
    from HardwareRepository.Command._tango._device import DeviceLink

    server.start()
    real_proxy = DeviceLink.proxy
    failures = []

    def proxy_failing_once(link):
        if not failures:
            failures.append(link.device)
            tango.DeviceProxy("tango://127.0.0.1:1/test/nodb/1")  # raises
        return real_proxy(link)

    monkeypatch.setattr(DeviceLink, "proxy", proxy_failing_once)
    caplog.set_level("WARNING", "HardwareRepository.Command.Tango")
    channel = owner.add_channel(
        {"type": "tango", "name": "events", "polling": "events"}, "Scalar"
    )
    rec = recorder(channel)
    rec.wait_for(lambda: channel.value == 1.5, 10, "a value after the retry")
    assert failures == [server.device_url(DEVICE)]
    assert channel.is_connected()
    assert not channel.polling_fallback
    [warning] = [r for r in caplog.records if "disconnected" in r.getMessage()]
    assert DEVICE in warning.getMessage()
    assert "Scalar" in warning.getMessage()
    assert "API_CantConnectToDatabase" in warning.getMessage()
    assert "retrying in" in warning.getMessage()
