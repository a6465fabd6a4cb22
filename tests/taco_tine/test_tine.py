"""TINE commands and channels through the SIMULATED TINE client."""

from __future__ import annotations

import logging
import threading
import time

import gevent
import pytest

from HardwareRepository.bridge import AsyncResult, Event, native
from HardwareRepository.Command import Tine
from HardwareRepository.CommandContainer import Quality
from HardwareRepository.errors import (
    CommandFailedError,
    CommunicationError,
    ConfigError,
    NotConnectedError,
    Timeout,
)

SERVER = "/P14/Attenuators/Filter"


def make_channel(tine, prop="FILTER", **kwargs):
    kwargs.setdefault("timeout", 0.02)
    kwargs.setdefault("retry", 0.02)
    kwargs.setdefault("retry_max", 0.08)
    return Tine.TineChannel("filter", prop, SERVER, client=tine, **kwargs)


class CallbackSpy:
    """Wrap the channel's TINE callback to see which threads call it."""

    def __init__(self, channel):
        self.threads = set()
        self.codes = []
        inner = channel.backend._on_callback

        def spy(link_id, cc, data):
            self.threads.add(threading.get_ident())
            self.codes.append(cc)
            inner(link_id, cc, data)

        channel.backend._on_callback = spy


# -- attach modes --------------------------------------------------------------
def test_timer_link_calls_back_every_interval_and_emits_changes_only(
    tine, record, watch_log
):
    server = tine.define_server(SERVER, {"FILTER": 1.0})
    channel = Tine.TineChannel("f", "FILTER", SERVER, timeout=0.01, client=tine)
    rec = record(channel)
    try:
        rec.wait_for(lambda: rec.values == [1.0])
        assert channel.is_connected()
        server.publish("FILTER", 2.5)
        rec.wait_for(lambda: rec.values == [1.0, 2.5])
        # timer callbacks keep coming with the same value; none is re-emitted
        link = tine._links[channel.link_id]
        spy = []
        five = Event()
        inner = link.callback

        def counting(*args):
            spy.append(args)
            if len(spy) >= 5:
                five.set()
            inner(*args)

        link.callback = counting
        assert five.wait(10.0)
        assert {cc for _, cc, _ in spy} == {0}
        assert rec.values == [1.0, 2.5]
        assert rec.threads == {threading.get_ident()}
    finally:
        channel.close()


def test_callbacks_come_from_a_foreign_thread_and_signals_from_the_hub(tine, record):
    server = tine.define_server(SERVER, {"FILTER": 1})
    channel = make_channel(tine, attach="event", timeout=5.0)
    rec = record(channel)
    spy = CallbackSpy(channel)
    try:
        server.publish("FILTER", 2)
        rec.wait_for(lambda: rec.values[-1:] == [2])
        assert spy.threads
        assert threading.get_ident() not in spy.threads
        assert rec.threads == {threading.get_ident()}
    finally:
        channel.close()


def test_event_link_delivers_published_values(tine, record):
    server = tine.define_server(SERVER, {"FILTER": "OUT"})
    channel = make_channel(tine, attach="event", timeout=5.0)
    rec = record(channel)
    try:
        rec.wait_for(lambda: rec.values == ["OUT"])
        for state in ("IN", "MOVING", "OUT"):
            server.publish("FILTER", state)
            rec.wait_for(lambda state=state: rec.values[-1:] == [state])
        assert rec.values == ["OUT", "IN", "MOVING", "OUT"]
    finally:
        channel.close()


@pytest.mark.parametrize(
    ("tolerance", "small", "big"),
    [((0.5, 0.0), 10.3, 10.8), ((0.0, 5.0), 10.4, 11.0)],
    ids=["absolute", "relative"],
)
def test_datachange_link_applies_the_tolerance(tine, record, tolerance, small, big):
    server = tine.define_server(SERVER, {"CURRENT": 10.0})
    channel = make_channel(
        tine, "CURRENT", attach="datachange", tolerance=tolerance, timeout=0.01
    )
    rec = record(channel)
    try:
        rec.wait_for(lambda: rec.values == [10.0])
        server.publish("CURRENT", small)  # within tolerance of 10.0: not sent
        server.publish("CURRENT", big)
        rec.wait_for(lambda: rec.values == [10.0, big])
        assert tine._links[channel.link_id].absolute == tolerance[0]
        assert tine._links[channel.link_id].relative == tolerance[1]
    finally:
        channel.close()


def test_size_is_passed_to_the_link(tine, record):
    tine.define_server(SERVER, {"SPECTRUM": list(range(10))})
    channel = make_channel(tine, "SPECTRUM", size=4, attach="event", timeout=5.0)
    rec = record(channel)
    try:
        rec.wait_for(lambda: rec.values == [[0, 1, 2, 3]])
        assert tine._links[channel.link_id].size == 4
    finally:
        channel.close()


# -- completion codes, link loss, recovery -----------------------------------------
def test_code_103_is_ignored(tine, record, watch_log):
    server = tine.define_server(SERVER, {"FILTER": 1})
    channel = make_channel(tine, attach="event", timeout=5.0)
    rec = record(channel)
    try:
        rec.wait_for(lambda: rec.values == [1])
        with watch_log("HardwareRepository.Command.Tine", "code 103 ignored") as log:
            server.send_code("FILTER", Tine.CC_IGNORED)
            log.wait_count(1)
        assert channel.is_connected()
        assert rec.connections == [True]
        assert channel.last_error is None
    finally:
        channel.close()


def test_error_code_disconnects_and_verbose_reaches_the_user_log(
    tine, record, watch_log
):
    server = tine.define_server(SERVER, {"FILTER": 1})
    channel = make_channel(
        tine, attach="event", timeout=5.0, verbose=True, message="Filter lost"
    )
    rec = record(channel)
    try:
        rec.wait_for(lambda: rec.values == [1])
        with watch_log("user_level_log", "Filter lost") as user:
            server.send_code("FILTER", 77)
            user.wait_count(1)
        rec.wait_for(lambda: rec.connections == [True, False])
        assert channel.last_error[0] == 77
        assert channel.get_quality() is Quality.INVALID
        assert channel.get_value() == 1  # the last value is kept
    finally:
        channel.close()


@pytest.mark.parametrize("mode", ["timer", "event", "datachange"])
def test_link_loss_and_recovery_re_emits_the_value(tine, record, mode, watch_log):
    server = tine.define_server(SERVER, {"FILTER": 4})
    channel = make_channel(tine, attach=mode, timeout=0.02)
    rec = record(channel)
    try:
        rec.wait_for(lambda: rec.values == [4])
        with watch_log("HardwareRepository.Command.Tine", "connected again") as log:
            server.stop()
            rec.wait_for(lambda: rec.connections == [True, False])
            assert channel.last_error[0] == tine.LINK_TIMEOUT
            assert not channel.is_connected()
            server.start()
            rec.wait_for(lambda: rec.values == [4, 4])
            log.wait_count(1)
        assert rec.connections == [True, False, True]
        assert channel.get_quality() is Quality.VALID
        assert channel.last_error is None
    finally:
        channel.close()


def test_value_loss_and_recovery_queued_while_the_hub_is_busy_keep_their_order(
    tine, record
):
    # A value, a link error and the recovery value arrive from a TINE thread
    # before the hub runs: they must be applied in that order, ending
    # connected with quality VALID (the value of before the loss once came
    # after the recovery and left the channel INVALID while connected).
    tine.define_server(SERVER, {"FILTER": 4})
    channel = make_channel(tine, attach="event", timeout=5.0)
    rec = record(channel)
    try:
        rec.wait_for(lambda: rec.values == [4] and channel.is_connected())
        link_id = channel.link_id
        done = native.allocate_lock()
        done.acquire()

        def tine_thread():
            channel.backend._on_callback(link_id, 0, 5)
            channel.backend._on_callback(link_id, 117, None)
            channel.backend._on_callback(link_id, 0, 6)
            done.release()

        native.start_new_thread(tine_thread, ())
        assert done.acquire(True, 10.0)  # a native wait: the hub does not run
        rec.wait_for(lambda: rec.values == [4, 5, 6])
        assert rec.connections == [True, False, True]
        assert rec.qualities == [Quality.VALID, Quality.INVALID, Quality.VALID]
        assert channel.is_connected()
        assert channel.get_quality() is Quality.VALID
    finally:
        channel.close()


class SlowFirstAttach:
    """The simulated client, whose first ``notify`` waits until released."""

    def __init__(self, tine):
        self._tine = tine
        self.release = Event()
        self.first_link = AsyncResult()
        self.detached = []
        self.detach_seen = Event()
        self._calls = 0

    def __getattr__(self, name):
        return getattr(self._tine, name)

    def notify(self, *args, **kwargs):
        self._calls += 1
        if self._calls > 1:
            return self._tine.notify(*args, **kwargs)
        assert self.release.wait(30.0)
        link_id = self._tine.notify(*args, **kwargs)
        self.first_link.set(link_id)
        return link_id

    def detach(self, link_id):
        self._tine.detach(link_id)
        self.detached.append(link_id)
        self.detach_seen.set()


def test_an_attach_that_returns_after_its_wait_was_abandoned_is_detached(tine, record):
    # The first attach outlives its wait (timeout + 1 s), the channel retries
    # and attaches again; when the first one finally returns, its link must be
    # detached, not kept beside (or instead of) the second one.
    tine.define_server(SERVER, {"FILTER": 4})
    client = SlowFirstAttach(tine)
    channel = Tine.TineChannel(
        "f", "FILTER", SERVER, attach="event", timeout=0.02, retry=0.02, client=client
    )
    rec = record(channel)
    try:
        rec.wait_for(lambda: rec.values == [4] and channel.is_connected())
        second = channel.link_id
        client.release.set()
        first = client.first_link.get(10.0)
        assert client.detach_seen.wait(10.0), "the late link was never detached"
        assert client.detached == [first]
        assert channel.link_id == second
        assert tine.link_count() == 1
    finally:
        client.release.set()
        channel.close()


def test_attach_failure_is_retried_with_backoff(tine, record, watch_log):
    with watch_log("HardwareRepository.Command.Tine", "retrying in") as retries:
        channel = make_channel(tine, attach="event", timeout=5.0)
        retries.wait_count(3)
    rec = record(channel)
    try:
        assert not channel.is_connected()
        assert "non existent server" in channel.last_error[1]
        assert channel.backend.backoff.failures >= 3
        tine.define_server(SERVER, {"FILTER": 9})
        rec.wait_for(lambda: rec.values == [9])
        assert channel.is_connected()
    finally:
        channel.close()


def test_close_detaches_the_link(tine, record):
    tine.define_server(SERVER, {"FILTER": 1})
    channel = make_channel(tine, attach="event", timeout=5.0)
    rec = record(channel)
    rec.wait_for(lambda: rec.values == [1])
    assert tine.link_count() == 1
    channel.close()
    assert tine.link_count() == 0
    assert channel.link_id is None
    with pytest.raises(NotConnectedError):
        channel.get_value()


def test_close_while_attaching_leaves_no_link(tine):
    server = tine.define_server(SERVER, {"FILTER": 1})
    server.stop()  # attach to a known server that is down still opens a link
    channel = make_channel(tine, attach="event", timeout=5.0)
    channel.close()
    gevent.sleep(0)
    assert tine.link_count() == 0


# -- reads, writes, timeouts ---------------------------------------------------------
def test_get_value_before_the_first_callback_reads_synchronously(tine):
    tine.define_server(SERVER, {"FILTER": 3})
    channel = make_channel(tine, attach="event", timeout=5.0)
    try:
        assert channel.get_value(force=True) == 3
    finally:
        channel.close()


def test_get_value_failure_and_timeout(tine):
    server = tine.define_server(SERVER, {"FILTER": 3})
    channel = make_channel(tine, attach="event", timeout=5.0)
    try:
        server.fail("FILTER", 55)
        with pytest.raises(CommunicationError) as info:
            channel.get_value(force=True)
        assert info.value.__cause__.errno == 55
        server.fail("FILTER", None)
        server.stop()
        started = time.monotonic()
        with pytest.raises(CommunicationError) as info:
            channel.get_value(force=True, timeout=0.1)
        assert info.value.__cause__.errno == tine.LINK_TIMEOUT
        assert 0.05 < time.monotonic() - started < 2.0
    finally:
        channel.close()


def test_set_value_writes_through_the_client(tine, record):
    server = tine.define_server(SERVER, {"FILTER": 1})
    channel = make_channel(tine, attach="event", timeout=5.0)
    rec = record(channel)
    try:
        channel.set_value(5)
        assert server.writes == [("FILTER", 5)]
        rec.wait_for(lambda: rec.values[-1:] == [5])
        server.fail("FILTER", 66)
        with pytest.raises(CommandFailedError):
            channel.set_value(6)
    finally:
        channel.close()


def test_command_sets_the_property_and_returns_the_reply(tine, record):
    server = tine.define_server(SERVER, {})
    server.on_set("FILTER.SET", lambda data: f"moved to {data}")
    command = Tine.TineCommand("set", "FILTER.SET", SERVER, client=tine)
    rec = record(command)
    try:
        assert command(3) == "moved to 3"
        assert command() == "moved to []"  # mxCuBE's default argument
        assert rec.replies == [("moved to 3", "set"), ("moved to []", "set")]
    finally:
        command.close()


def test_command_list_args_is_the_default_argument(tine):
    server = tine.define_server(SERVER, {})
    server.on_set("GO", lambda data: data)
    command = Tine.TineCommand("go", "GO", SERVER, list_args="1, 2", client=tine)
    try:
        assert command() == [1, 2]
        assert command("x") == "x"
    finally:
        command.close()


def test_command_failure_emits_and_raises(tine, record):
    server = tine.define_server(SERVER, {"GO": 0})
    server.fail("GO", 42)
    command = Tine.TineCommand("go", "GO", SERVER, client=tine)
    rec = record(command)
    try:
        with pytest.raises(CommandFailedError) as info:
            command(1)
        assert info.value.__cause__.errno == 42
        assert rec.failures[0][0] is info.value
    finally:
        command.close()


def test_command_timeout_and_wait_false(tine):
    server = tine.define_server(SERVER, {})
    server.on_set("SLOW", lambda data: "done")
    command = Tine.TineCommand("slow", "SLOW", SERVER, timeout=2.0, client=tine)
    try:
        server.delay = 0.4
        started = time.monotonic()
        with pytest.raises(Timeout):
            command(1, timeout=0.05)
        assert time.monotonic() - started < 0.3
        result = command(1, wait=False)
        assert isinstance(result, AsyncResult)
        assert result.get(5.0) == "done"
    finally:
        command.close()


def test_command_from_a_plain_thread(tine, in_plain_thread):
    server = tine.define_server(SERVER, {})
    server.on_set("ADD", lambda data: sum(data))
    command = Tine.TineCommand("add", "ADD", SERVER, client=tine)
    try:
        assert in_plain_thread(command, [1, 2, 3], timeout=5.0).get(10.0) == 6
    finally:
        command.close()


# -- configuration parsing ----------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "expected"),
    [(None, (0.0, 0.0)), ("0.5%", (0.0, 0.5)), (0.01, (0.01, 0.0)), ("2", (2.0, 0.0))],
)
def test_parse_tolerance(raw, expected):
    assert Tine.parse_tolerance(raw) == expected


@pytest.mark.parametrize("raw", ["a%", "-1", "x"])
def test_bad_tolerance(raw):
    with pytest.raises(ConfigError, match="tolerance"):
        Tine.parse_tolerance(raw)


def test_bad_attach_mode_and_size(tine):
    attrs = {"tinename": SERVER, "simulated": True}
    with pytest.raises(ConfigError, match="attach"):
        Tine.make_channel("c", "P", {**attrs, "attach": "sometimes"}, None)
    with pytest.raises(ConfigError, match="size"):
        Tine.make_channel("c", "P", {**attrs, "size": -3}, None)


def test_tolerance_outside_datachange_is_ignored_with_a_warning(tine, caplog):
    tine.define_server(SERVER, {"P": 1})
    caplog.set_level(logging.WARNING, "HardwareRepository.Command.Tine")
    channel = Tine.make_channel(
        "c", "P", {"tinename": SERVER, "simulated": True, "tolerance": "1%"}, None
    )
    try:
        assert channel.tolerance == (0.0, 0.0)
        assert any('"datachange" only' in r.getMessage() for r in caplog.records)
    finally:
        channel.close()
