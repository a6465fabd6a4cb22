"""Issue 17: never show a dead or frozen device as live; never run a call given up.

Each test runs its own server (it kills, freezes or restarts it). Freezing is a
real SIGSTOP of the server process, resumed with SIGCONT. The limits asked of
the channels are the issue's 2 s plus a margin for a loaded test machine; the
figures themselves are measured in ``benchmarks/bench_liveness.py``. Before the
health check a frozen server kept every channel connected and VALID until it
resumed, and a killed one kept event channels live for 10-25 s.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator

import gevent
import pytest
import tango
from tango_test_devices import ValuesDevice

from HardwareRepository import Poller
from HardwareRepository.bridge import native
from HardwareRepository.Command import Tango
from HardwareRepository.Command.Tango import TangoTimeout
from HardwareRepository.CommandContainer import Quality
from HardwareRepository.errors import NotConnectedError
from HardwareRepository.HardwareRepository import HardwareRepository
from HardwareRepository.testing.tango_servers import TangoServerProcess

pytestmark = [pytest.mark.tango, pytest.mark.slow]

DEVICE = "test/values/3"
# seconds: the 2 s, plus room for a shared 2-core machine
LIVENESS_LIMIT = 3.0


@pytest.fixture
def server(tango_event_system) -> Iterator[TangoServerProcess]:
    """A running server of this test only; resumed and stopped at the end."""
    process = TangoServerProcess({DEVICE: ValuesDevice})
    process.start()
    yield process
    if process.pid is not None:
        os.kill(process.pid, signal.SIGCONT)
    process.close()


def _freeze(server: TangoServerProcess) -> None:
    assert server.pid is not None
    os.kill(server.pid, signal.SIGSTOP)


def _thaw(server: TangoServerProcess) -> None:
    assert server.pid is not None
    os.kill(server.pid, signal.SIGCONT)


def _channels(tango_items, url: str) -> dict:
    return {
        "events": tango_items(
            "channel", "ev", "Scalar", tangoname=url, polling="events"
        ),
        "polled": tango_items("channel", "po", "Scalar", tangoname=url, polling=500),
        "read": tango_items("channel", "rd", "Text", tangoname=url),
    }


def _all_live(recorders, channels) -> None:
    for name, channel in channels.items():
        recorders[name].wait_for(channel.is_connected, 10, f"{name} connected")
        assert channel.quality is Quality.VALID


@pytest.mark.parametrize("fault", ["frozen", "killed"])
def test_every_channel_and_command_of_a_faulty_device_goes_stale(
    server, tango_items, recorder, fault
):
    url = server.device_url(DEVICE)
    channels = _channels(tango_items, url)
    echo = tango_items("command", "echo", "Echo", tangoname=url)
    recorders = {name: recorder(c) for name, c in channels.items()}
    recorders["echo"] = recorder(echo)
    _all_live(recorders, channels)
    recorders["echo"].wait_for(echo.is_connected, 10, "the command connected")

    start = native.monotonic()
    if fault == "frozen":
        _freeze(server)
    else:
        server.kill()
    for name, channel in channels.items():
        recorders[name].wait_for(
            lambda c=channel: not c.is_connected(), LIVENESS_LIMIT, f"{name} stale"
        )
        assert channel.quality is Quality.INVALID
    recorders["echo"].wait_for(
        lambda: not echo.is_connected(), LIVENESS_LIMIT, "the command disconnected"
    )
    assert native.monotonic() - start < LIVENESS_LIMIT
    assert channels["events"].value == 1.5  # the last value is kept, marked stale

    if fault == "frozen":
        _thaw(server)
    else:
        server.start()
    back = native.monotonic()
    for name, channel in channels.items():
        recorders[name].wait_for(
            lambda c=channel: c.is_connected(), LIVENESS_LIMIT, f"{name} live again"
        )
    events = recorders["events"]
    events.wait_for(
        lambda: events.first_after("update", back), LIVENESS_LIMIT, "a fresh event"
    )
    assert channels["events"].quality is Quality.VALID
    assert echo("back") == "back"


def test_values_arriving_while_the_device_is_down_do_not_revive_a_channel(
    server, tango_items, recorder
):
    url = server.device_url(DEVICE)
    channel = tango_items("channel", "ev", "Scalar", tangoname=url, polling="events")
    rec = recorder(channel)
    rec.wait_for(channel.is_connected, 10, "connected")
    _freeze(server)
    rec.wait_for(lambda: not channel.is_connected(), LIVENESS_LIMIT, "stale")
    # A value still queued from before the freeze must not make it look live.
    channel.sink.push_value(9.0, tango.AttrQuality.ATTR_VALID, 0.0)
    gevent.sleep(0.1)  # let the sink drain (nothing is expected to arrive)
    assert not channel.is_connected()
    assert channel.value == 1.5
    _thaw(server)
    rec.wait_for(channel.is_connected, LIVENESS_LIMIT, "live again")
    assert channel.value == 1.5  # the device's value, read afresh


class _MissedEvents:
    """An error event as Tango delivers it when its ZMQ queue overflowed.

    SIMULATED: losing events on purpose is not deterministic, so the test
    hands the channel's sink the error event Tango would send.
    """

    err = True

    def __init__(self) -> None:
        error = tango.DevError()
        error.reason = "API_MissedEvents"
        error.desc = "Missed some events! Zmq queue has reached HWM?"
        error.origin = "test"
        self.errors = [error]
        self.reception_date = tango.TimeVal.now()


def test_lost_events_make_the_channel_read_the_value_again(
    server, tango_items, recorder
):
    url = server.device_url(DEVICE)
    channel = tango_items("channel", "seq", "Sequence", tangoname=url, polling="events")
    push = tango_items("command", "push", "PushSequence", tangoname=url)
    silently = tango_items("command", "set", "SetSequenceSilently", tangoname=url)
    rec = recorder(channel)
    rec.wait_for(channel.is_connected, 10, "connected")
    rec.wait_until_events_flow(lambda: push(1))
    push(3)
    rec.wait_for(lambda: channel.value == 3, 10, "the pushed values")
    silently(10)  # the device moves on; its event is "lost"
    channel.sink.push_event(_MissedEvents())
    rec.wait_for(lambda: channel.value == 10, 5, "the value read again")
    assert channel.missed_event_reports == 1
    assert channel.is_connected()


def _counter(url: str) -> int:
    proxy = tango.DeviceProxy(url)
    return int(proxy.read_attribute("Counter").value)


def test_writes_given_up_while_the_device_is_frozen_are_never_sent(server, tango_items):
    url = server.device_url(DEVICE)
    counter = tango_items("channel", "counter", "Counter", tangoname=url)
    counter.set_value(0)
    _freeze(server)
    results: dict[int, BaseException | None] = {}

    def write(value: int) -> None:
        try:
            counter.set_value(value, timeout=0.5)
        except BaseException as exc:
            results[value] = exc
        else:
            results[value] = None

    writers = [gevent.spawn(write, value) for value in (1, 2, 3, 4)]
    gevent.joinall(writers, timeout=10)
    errors = [results[value] for value in (1, 2, 3, 4)]
    assert all(isinstance(e, TangoTimeout) for e in errors), errors
    first, *later = errors
    assert first.sent is True
    assert "sent, outcome unknown" in str(first)
    for error in later:
        assert error.sent is False
        assert "not sent" in str(error)
        assert DEVICE in str(error)
        assert "Counter" in str(error)
    _thaw(server)
    # The sent write arrives when the server resumes; the others never do.
    deadline = native.monotonic() + 10
    while _counter(url) != 1 and native.monotonic() < deadline:
        gevent.sleep(0.05)
    assert _counter(url) == 1
    gevent.sleep(0.5)  # any dropped write that was sent anyway would land now
    assert _counter(url) == 1


def test_command_timeout_and_killed_caller_drop_the_queued_call(server, tango_items):
    url = server.device_url(DEVICE)
    counter = tango_items("channel", "counter", "Counter", tangoname=url)
    sleep = tango_items("command", "sleep", "Sleep", tangoname=url)
    counter.set_value(0)
    # The device's ordered lane is busy with a slow command...
    busy = sleep(1.0, wait=False)
    gevent.sleep(0.1)
    # ... so a command timing out while it waits its turn was never sent,
    with pytest.raises(TangoTimeout, match="not sent") as info:
        sleep(0.01, timeout=0.2)
    assert info.value.sent is False
    assert "Sleep" in str(info.value)
    # and a write whose greenlet is killed while it waits is dropped too.
    writer = gevent.spawn(counter.set_value, 7)
    gevent.sleep(0.1)
    writer.kill()
    assert busy.get(10) == 1.0
    counter.set_value(5)  # the lane goes on, in order
    assert _counter(url) == 5
    gevent.sleep(0.3)
    assert _counter(url) == 5


def test_a_closed_channel_raises(server, recorder):
    # Issue 17 item 7: it returned its last value, as if still live.
    url = server.device_url(DEVICE)
    channel = Tango.make_channel(
        "ev", "Scalar", {"tangoname": url, "polling": "events"}, None
    )
    try:
        rec = recorder(channel)
        rec.wait_for(lambda: channel.value == 1.5, 10, "the first event")
        assert channel.get_value() == 1.5
    finally:
        channel.close()
    with pytest.raises(NotConnectedError, match="closed"):
        channel.get_value()
    assert Poller.shutdown(timeout=10)


def test_closed_event_channels_leave_no_callback_map_noise(server, capfd):
    # Issue 17 item 8: after event channels were closed, cppTango printed
    # "Event ... not found in event callback map !!!" for every event the
    # server went on pushing. A guard: this scenario (and closing while the
    # server was dead, then restarting it) did not reproduce the stream on the
    # code before the fix either; an event in flight at the moment of closing
    # may be reported (plain PyTango does the same), a steady stream must not.
    url = server.device_url(DEVICE)
    channels = [
        Tango.make_channel(
            f"seq{i}", "Sequence", {"tangoname": url, "polling": "events"}, None
        )
        for i in range(3)
    ]
    pusher = tango.DeviceProxy(url)
    pusher.set_timeout_millis(20_000)
    pushing = threading.Thread(
        target=pusher.command_inout, args=("PushSequenceFor", [50.0, 4.0])
    )
    try:
        deadline = native.monotonic() + 10
        while not all(c.is_connected() for c in channels):
            assert native.monotonic() < deadline, "channels did not connect"
            gevent.sleep(0.02)
        pushing.start()
        gevent.sleep(0.5)
    finally:
        for channel in channels:
            channel.close()
    capfd.readouterr()
    gevent.sleep(2.0)  # the server pushes 100 more events meanwhile
    pushing.join(20)
    noise = [
        line
        for line in capfd.readouterr().err.splitlines()
        if "not found in event callback map" in line
    ]
    assert len(noise) <= 1, noise
    assert Poller.shutdown(timeout=10)


def test_shutdown_reports_the_device_whose_call_is_still_in_flight(
    server, tmp_path, caplog
):
    # Issue 17 item 7: shutdown blamed whichever object happened to close
    # last and did not report the device threads it left running.
    url = server.device_url(DEVICE)
    (tmp_path / "slow.xml").write_text(
        f"<object><tangoname>{url}</tangoname>"
        '<command type="tango" name="sleep">Sleep</command></object>'
    )
    (tmp_path / "other.xml").write_text(
        '<object><channel type="sim" name="x" value="1">X</channel></object>'
    )
    repo = HardwareRepository(str(tmp_path))
    repo.load_all()
    sleep = repo.get_hardware_object("/slow").get_command_object("sleep")
    pending = sleep(2.5, wait=False, timeout=10)
    gevent.sleep(0.3)  # the call is sent
    problems = repo.shutdown(timeout=1.0)
    assert any(f"Tango device {url}" in p and "command Sleep" in p for p in problems), (
        problems
    )
    assert not any("other" in p for p in problems), problems
    with pytest.raises(NotConnectedError):
        pending.get(5)
    assert Tango.lingering(10) == []  # the threads end once the call returns
    assert Poller.shutdown(timeout=10)


def test_a_change_lost_while_subscribing_is_read_back(
    server, tango_items, recorder, monkeypatch
):
    # cppTango joins the event stream a moment after the subscription's
    # synchronous first reading: an event pushed in between is lost (seen in
    # the suite under load). The channel reads once more READ_BACK_DELAY s
    # after subscribing. Here the change comes with no event at all.
    monkeypatch.setattr(
        Tango.TangoChannelBackend, "read_back_delay", 2.0
    )  # the change comes first
    url = server.device_url(DEVICE)
    silently = tango_items("command", "set", "SetSequenceSilently", tangoname=url)
    silently(0)
    channel = tango_items("channel", "seq", "Sequence", tangoname=url, polling="events")
    rec = recorder(channel)
    rec.wait_for(channel.is_connected, 10, "the first event")
    silently(42)
    rec.wait_for(lambda: channel.value == 42, 5, "the value read back")
    assert channel.statistics()["received"] == 1  # no event carried it
