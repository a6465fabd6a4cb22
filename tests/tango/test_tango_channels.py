"""TangoChannel against a real device server: values, events, polling, info."""

from __future__ import annotations

import logging
import threading

import gevent
import numpy
import pytest
import tango

from HardwareRepository import Poller
from HardwareRepository.bridge import native
from HardwareRepository.Command import Tango
from HardwareRepository.Command._tango import _device
from HardwareRepository.Command.Tango import (
    FALLBACK_POLLING_PERIOD,
    TangoCommunicationError,
    TangoTimeout,
)
from HardwareRepository.CommandContainer import CommandContainer, Quality
from HardwareRepository.errors import ConfigError, Timeout

pytestmark = pytest.mark.tango


def _equal(a, b) -> bool:
    if isinstance(a, numpy.ndarray) or isinstance(b, numpy.ndarray):
        return (
            numpy.shape(a) == numpy.shape(b)
            and numpy.asarray(a).dtype == numpy.asarray(b).dtype
            and bool(numpy.array_equal(a, b))
        )
    return type(a) is type(b) and a == b


ROUND_TRIPS = [
    ("Scalar", -2.25, -2.25),
    ("Spectrum", numpy.array([1.0, 2.5, -3.0]), numpy.array([1.0, 2.5, -3.0])),
    (
        "Image",
        numpy.arange(6, dtype=numpy.uint16).reshape(2, 3) * 1000,
        numpy.arange(6, dtype=numpy.uint16).reshape(2, 3) * 1000,
    ),
    ("Text", "déjà vu", "déjà vu"),
    ("Flag", True, True),
    ("Counter", 42, 42),
    ("Mode", 2, 2),
    ("Mode", "OFF", 0),  # an enum label is written as its index
]


@pytest.mark.parametrize(("attribute", "written", "read"), ROUND_TRIPS)
def test_round_trip(values_url, tango_items, attribute, written, read):
    channel = tango_items("channel", attribute.lower(), attribute, tangoname=values_url)
    channel.set_value(written)
    value = channel.get_value()
    assert _equal(value, read), f"{attribute}: wrote {written!r}, read {value!r}"


def test_devstate_round_trip(values_url, tango_items):
    state = tango_items("channel", "state", "State", tangoname=values_url)
    set_state = tango_items("command", "set", "SetDeviceState", tangoname=values_url)
    try:
        for name in ("FAULT", "MOVING", "ON"):
            set_state(name)
            value = state.get_value()
            assert value == getattr(tango.DevState, name)
            assert isinstance(value, tango.DevState)
    finally:
        set_state("ON")


def test_read_as_str(values_url, tango_items):
    text = tango_items("channel", "text", "Text", tangoname=values_url)
    text.set_value("abc")
    as_bytes = tango_items("channel", "raw", "Bytes", tangoname=values_url)
    as_str = tango_items(
        "channel", "str", "Bytes", tangoname=values_url, read_as_str=True
    )
    numpy.testing.assert_array_equal(as_bytes.get_value(), [97, 98, 99])
    assert as_str.get_value() == "abc"


def test_get_info_is_the_attribute_configuration(values_url, tango_items):
    scalar = tango_items("channel", "scalar", "Scalar", tangoname=values_url)
    mode = tango_items("channel", "mode", "Mode", tangoname=values_url)
    info = scalar.get_info()
    assert info.name == "Scalar"
    assert info.unit == "mm"
    assert info.format == "%6.3f"
    assert mode.get_enum_labels() == ["OFF", "STANDBY", "RUNNING"]
    assert scalar.get_enum_labels() == []
    with pytest.raises(ValueError, match="RUNNNING"):
        mode.set_value("RUNNNING")


def test_read_failure_carries_reasons(values_url, tango_items):
    broken = tango_items("channel", "broken", "Broken", tangoname=values_url)
    with pytest.raises(TangoCommunicationError) as info:
        broken.get_value()
    assert "TEST_ReadFailed" in info.value.reasons
    assert values_url in str(info.value)
    assert "Broken" in str(info.value)


def test_read_timeout_names_device_and_attribute(values_url, tango_items):
    # Tango serialises calls per device: a slow command holds up the read.
    sleep = tango_items("command", "sleep", "Sleep", tangoname=values_url)
    scalar = tango_items("channel", "scalar", "Scalar", tangoname=values_url)
    pending = sleep(1.5, wait=False)
    try:
        gevent.sleep(0.2)  # let the command reach the server first (no event exists)
        with pytest.raises(Timeout) as info:
            scalar.get_value(timeout=0.3)
        assert isinstance(info.value, TangoTimeout)
        assert values_url in str(info.value)
        assert "Scalar" in str(info.value)
    finally:
        assert pending.get(10) == 1.5


def test_channel_without_polling_reads_each_time(values_url, tango_items, recorder):
    counter = tango_items("channel", "counter", "Counter", tangoname=values_url)
    writer = tango_items("channel", "w", "Counter", tangoname=values_url)
    rec = recorder(counter)
    rec.wait_for(counter.is_connected, 10, "the first read")
    writer.set_value(5)
    assert counter.get_value() == 5
    writer.set_value(6)
    assert counter.get_value() == 6
    assert rec.values()[-2:] == [5, 6]


# -- events ---------------------------------------------------------------------------
def test_events_deliver_values_in_order(values_url, tango_items, recorder):
    # Issue 17 item 5: the writes start only once the subscription exists (its
    # first event, the current value, has arrived), so every write's event
    # comes after it, whatever value an earlier test left on the device.
    channel = tango_items(
        "channel", "scalar", "Scalar", tangoname=values_url, polling="events"
    )
    writer = tango_items("channel", "writer", "Scalar", tangoname=values_url)
    rec = recorder(channel)
    rec.wait_for(channel.is_connected, 10, "the subscription's first event")
    initial = rec.wait_until_events_flow(lambda: writer.set_value(0.5))
    for value in (1.0, 2.0, 3.0, 4.0):
        writer.set_value(value)
    rec.wait_for(lambda: rec.values()[-1:] == [4.0], 10, "the last event")
    assert rec.values()[initial:] == [1.0, 2.0, 3.0, 4.0]
    assert not channel.polling_fallback
    assert channel.get_value() == 4.0  # cached, no read


@pytest.mark.parametrize(
    ("tango_quality", "quality"),
    [
        (tango.AttrQuality.ATTR_ALARM, Quality.ALARM),
        (tango.AttrQuality.ATTR_WARNING, Quality.WARNING),
        (tango.AttrQuality.ATTR_CHANGING, Quality.CHANGING),
    ],
)
def test_events_keep_values_of_any_quality(
    values_url, tango_items, recorder, tango_quality, quality
):
    channel = tango_items(
        "channel", "reading", "Reading", tangoname=values_url, polling="events"
    )
    push = tango_items("command", "push", "PushReading", tangoname=values_url)
    rec = recorder(channel)
    rec.wait_for(channel.is_connected, 10, "the subscription's first event")
    rec.wait_until_events_flow(lambda: push([0.0, int(tango.AttrQuality.ATTR_VALID)]))
    assert channel.quality is Quality.VALID
    push([7.5, int(tango_quality)])
    rec.wait_for(lambda: 7.5 in rec.values(), 10, "the value of other quality")
    assert channel.get_quality() is quality
    assert rec.values("qualityChanged")[-1] is quality
    push([8.0, int(tango.AttrQuality.ATTR_VALID)])
    rec.wait_for(lambda: channel.quality is Quality.VALID, 10, "valid again")
    assert rec.values()[-2:] == [7.5, 8.0]


def test_invalid_quality_keeps_the_last_value(values_url, tango_items, recorder):
    channel = tango_items(
        "channel", "reading", "Reading", tangoname=values_url, polling="events"
    )
    push = tango_items("command", "push", "PushReading", tangoname=values_url)
    rec = recorder(channel)
    rec.wait_for(channel.is_connected, 10, "the subscription's first event")
    rec.wait_until_events_flow(lambda: push([3.0, int(tango.AttrQuality.ATTR_VALID)]))
    assert channel.value == 3.0
    push([0.0, int(tango.AttrQuality.ATTR_INVALID)])
    rec.wait_for(lambda: channel.quality is Quality.INVALID, 10, "quality INVALID")
    assert channel.value == 3.0
    assert channel.is_connected()


def test_event_burst_arrives_complete_and_in_order(values_url, tango_items, recorder):
    channel = tango_items(
        "channel", "sequence", "Sequence", tangoname=values_url, polling="events"
    )
    push = tango_items("command", "push", "PushSequence", tangoname=values_url)
    rec = recorder(channel, ("update",))
    rec.wait_for(lambda: rec.values(), 10, "the first event")
    sink = channel.sink
    received_before = sink.received
    push(2000)
    rec.wait_for(lambda: rec.values()[-1] == 2000, 20, "the last pushed value")
    values = rec.values()[1:]
    # Everything Tango handed to the channel reached the receivers, in order.
    assert len(values) == sink.received - received_before
    assert values == sorted(set(values))
    assert values[-1] == 2000


@pytest.mark.parametrize(
    ("attribute", "reason"),
    [
        ("Counter", "API_AttributePollingNotStarted"),
        ("Unconfigured", "API_EventPropertiesNotSet"),
    ],
)
def test_events_fall_back_to_polling(
    values_url, tango_items, recorder, caplog, attribute, reason
):
    caplog.set_level(logging.WARNING, "HardwareRepository.Command.Tango")
    channel = tango_items(
        "channel", "c", attribute, tangoname=values_url, polling="events"
    )
    rec = recorder(channel)
    rec.wait_for(lambda: rec.values(), 10, "the first polled value")
    assert channel.polling_fallback
    messages = [r.getMessage() for r in caplog.records]
    assert any(reason in m and "polling it every" in m for m in messages), messages
    if attribute == "Counter":
        writer = tango_items("channel", "w", "Counter", tangoname=values_url)
        writer.set_value(-17)
        timeout = 3 * FALLBACK_POLLING_PERIOD / 1000
        rec.wait_for(lambda: rec.values()[-1] == -17, timeout, "the polled change")


# -- polling --------------------------------------------------------------------------
def test_polling_delivers_changes_only(values_url, tango_items, recorder):
    writer = tango_items("channel", "w", "Text", tangoname=values_url)
    writer.set_value("one")
    channel = tango_items("channel", "text", "Text", tangoname=values_url, polling=50)
    rec = recorder(channel, ("update",))
    rec.wait_for(lambda: rec.values() == ["one"], 10, "the first value")
    writer.set_value("two")
    rec.wait_for(lambda: rec.values()[-1:] == ["two"], 10, "the change")
    # An absence cannot be awaited: let ten periods pass, then check that the
    # unchanged value was not delivered again.
    gevent.sleep(0.5)
    assert rec.values() == ["one", "two"]


# -- configuration --------------------------------------------------------------------
def test_channel_through_a_container_inherits_tangoname(values_url):
    class Owner(CommandContainer):
        def get_property(self, name, default=None):
            return values_url if name == "tangoname" else default

    owner = Owner()
    try:
        channel = owner.add_channel(
            {"type": "tango", "name": "text", "polling": "1000.0", "timeout": 5000},
            "Text",
        )
        assert channel.device_name == values_url
        assert channel.mode == "poll"
        assert channel.polling_period == 1000.0
        assert channel.timeout == 5.0
        assert isinstance(owner.get_channel_value("text", force=True), str)
    finally:
        owner.close_commands_and_channels()


@pytest.mark.parametrize(
    ("attrs", "message"),
    [
        ({}, "tangoname"),
        ({"tangoname": "a/b/c", "polling": "often"}, "polling"),
        ({"tangoname": "a/b/c", "polling": -5}, "polling"),
        ({"tangoname": "a/b/c", "timeout": "soon"}, "timeout"),
        ({"tangoname": "a/b/c", "read_as_str": "maybe"}, "read_as_str"),
        # issue 17: values that loaded as ok and broke the device or a core
        ({"tangoname": "a/b/c", "polling": "nan"}, "polling"),
        ({"tangoname": "a/b/c", "polling": "inf"}, "polling"),
        ({"tangoname": "a/b/c", "polling": "1e-300"}, "at least 10 ms"),
        ({"tangoname": "a/b/c", "timeout": 1e-300}, "timeout"),
        ({"tangoname": "a/b/c", "timeout": 2**31}, "timeout"),
        ({"tangoname": "a/b/c", "timeout": float("nan")}, "timeout"),
    ],
)
def test_configuration_errors(attrs, message):
    owner = CommandContainer()
    with pytest.raises(ConfigError, match=message):
        owner.add_channel({"type": "tango", "name": "x", **attrs}, "X")
    assert not _device._links  # nothing opened is left behind


def test_a_channel_that_fails_to_start_releases_its_device(monkeypatch):
    # Issue 17: the link (and its too-long timeout) outlived the failed item.
    def refuse(*args, **kwargs):
        raise ValueError("refused by the test")

    monkeypatch.setattr(Poller, "poll", refuse)
    with pytest.raises(ValueError, match="refused"):
        Tango.TangoChannel("x", "X", "a/b/c", polling=100)
    assert not _device._links


def test_coalescing_merges_queued_values_but_never_a_change_of_quality(
    values_url, tango_items, recorder, monkeypatch
):
    # Issue 12: the channel's events enter the hub through an inbox of the
    # bridge's sink, with the Tango quality as merge kind. The hub is held
    # (the main greenlet joins a plain thread natively) while the server
    # pushes, so what queues up is exact.
    monkeypatch.setattr(
        Tango.TangoChannelBackend, "read_back_delay", 60.0
    )  # no read-back barrier
    channel = tango_items(
        "channel", "reading", "Reading", tangoname=values_url, polling="events"
    )
    push = tango_items("command", "push", "PushReading", tangoname=values_url)
    rec = recorder(channel, ("update", "qualityChanged"))
    rec.wait_until_events_flow(lambda: push([0.5, int(tango.AttrQuality.ATTR_VALID)]))
    # The subscription's notice (it arms the read-back) and the device's first
    # health verdict enter the same inbox as barriers: had one come between
    # two pushed values, they could not merge. Let both arrive first.
    backend = channel._tango
    deadline = native.monotonic() + 10
    while not (backend._device_alive and backend._read_back_timer.pending):
        assert native.monotonic() < deadline, "no subscription notice or verdict"
        gevent.sleep(0.01)
    channel.coalesce = True
    valid, alarm = tango.AttrQuality.ATTR_VALID, tango.AttrQuality.ATTR_ALARM
    pushed = [(1.0, valid), (2.0, valid), (3.0, alarm), (4.0, alarm), (5.0, valid)]
    sink = channel.sink
    received_before = sink.received
    merged_before = channel.statistics()["merged"]
    updates_before = len(rec.values())
    arrived = threading.Event()

    def push_while_the_hub_is_held() -> None:
        proxy = tango.DeviceProxy(values_url)
        for value, quality in pushed:
            proxy.command_inout("PushReading", [value, int(quality)])
        deadline = native.monotonic() + 10
        while sink.received < received_before + len(pushed):
            if native.monotonic() > deadline:
                return
            native.sleep(0.005)  # a plain thread: wait for Tango's event thread
        arrived.set()

    thread = threading.Thread(target=push_while_the_hub_is_held)
    thread.start()
    thread.join(20)
    assert arrived.is_set(), "the events did not reach the channel's callback"
    rec.wait_for(lambda: rec.values()[-1] == 5.0, 10, "the last pushed value")
    assert rec.values()[updates_before:] == [2.0, 4.0, 5.0]
    assert rec.values("qualityChanged")[-2:] == [Quality.ALARM, Quality.VALID]
    assert channel.statistics()["merged"] - merged_before == 2


def test_the_tango_backend_runs_a_plain_channel_object(values_url, recorder):
    # The backend honours the package's ChannelBackend contract: the generic
    # ChannelObject, with no Tango code of its own, follows, reads and writes.
    from HardwareRepository.commands import ChannelObject

    backend = Tango.TangoChannelBackend(
        "plain",
        "Counter",
        values_url,
        kind="events",
        period_ms=None,
        timeout=5.0,
        read_as_str=False,
    )
    channel = ChannelObject("plain", backend=backend)
    try:
        assert channel.backend is backend
        assert channel.source() == backend.source()
        rec = recorder(channel)
        rec.wait_for(channel.is_connected, 10, "connected")
        channel.set_value(7)
        rec.wait_for(lambda: 7 in rec.values(), 10, "the written value as an event")
        assert channel.get_value() == 7
        assert channel.get_quality() is Quality.VALID
        reading = backend.read(5.0)
        assert reading.value == 7
        assert reading.quality is Quality.VALID
        assert reading.timestamp > 0
        assert channel.get_value(force=True) == 7
    finally:
        channel.close()
    assert not channel.is_connected()
    assert not _device._links  # the device is released with its last item
