"""Command/channel framework on the ``sim`` type: waits, timeouts, threads, signals."""

from __future__ import annotations

import threading
import types

import gevent
import pytest

from HardwareRepository.bridge import AsyncResult, Event
from HardwareRepository.Command import get_type, register_type, unregister_type
from HardwareRepository.Command.Sim import SimChannel, SimCommand
from HardwareRepository.CommandContainer import (
    NOT_INITIALIZED,
    ChannelObject,
    CommandContainer,
    CommandObject,
    Quality,
)
from HardwareRepository.errors import (
    CommandFailedError,
    ConfigError,
    NotConnectedError,
    Timeout,
)


def _recorder(obj, *signals):
    seen = []
    for signal in signals:
        obj.connect_signal(signal, lambda *a, s=signal: seen.append((s, *a)))
    return seen


def _in_thread(func):
    """Run ``func`` in a real thread while this greenlet lets the hub run."""
    done = Event()
    box = {}

    def body():
        try:
            box["value"] = func()
        except BaseException as exc:
            box["error"] = exc
        finally:
            done.set()

    thread = threading.Thread(target=body)
    thread.start()
    assert done.wait(10)
    thread.join(10)
    if "error" in box:
        raise box["error"]
    return box.get("value")


def test_command_returns_value_and_emits_signals():
    cmd = SimCommand("move", "mv", value=42)
    seen = _recorder(
        cmd, "commandBeginWaitReply", "commandReplyArrived", "commandFailed"
    )
    assert cmd(1.5) == 42
    assert cmd.calls == [(1.5,)]
    assert seen == [
        ("commandBeginWaitReply", "move"),
        ("commandReplyArrived", 42, "move"),
    ]
    cmd.close()


def test_command_failure_raises_and_emits_command_failed():
    cmd = SimCommand("open", fail="shutter interlocked")
    seen = _recorder(cmd, "commandFailed")
    with pytest.raises(CommandFailedError, match=r"sim command 'open'.*interlocked"):
        cmd()
    assert len(seen) == 1
    assert isinstance(seen[0][1], CommandFailedError)
    assert seen[0][2] == "open"
    cmd.close()


def test_delay_waits_cooperatively_without_blocking_the_hub():
    cmd = SimCommand("slow", value="done", delay=0.2)
    ticks = []

    def ticker():
        while True:
            ticks.append(1)
            gevent.sleep(0.01)

    other = gevent.spawn(ticker)
    try:
        assert cmd() == "done"
    finally:
        other.kill()
    assert len(ticks) >= 5  # the other greenlet ran during the command
    cmd.close()


def test_wait_false_returns_async_result():
    cmd = SimCommand("slow", value=7, delay=0.05)
    result = cmd(wait=False)
    assert isinstance(result, AsyncResult)
    assert not result.ready()
    assert result.get(5) == 7
    cmd.close()


def test_timeout_interrupts_and_names_the_command():
    cmd = SimCommand("home", "Home", delay=5.0)
    seen = _recorder(cmd, "commandFailed")
    with pytest.raises(Timeout, match=r"sim command 'home' \(Home\) did not reply"):
        cmd(timeout=0.05)
    assert isinstance(seen[0][1], Timeout)
    result = cmd(wait=False, timeout=0.05)
    with pytest.raises(Timeout):
        result.get(5)
    cmd.close()


def test_command_from_a_plain_thread_runs_in_the_hub():
    cmd = SimCommand("move", delay=0.02)
    hub_thread = threading.get_ident()
    where = []
    cmd.connect_signal(
        "commandReplyArrived", lambda *a: where.append(threading.get_ident())
    )
    assert _in_thread(lambda: cmd(3)) == 3
    assert where == [hub_thread]
    failing = SimCommand("x", fail="nope")  # created in the hub thread
    with pytest.raises(CommandFailedError, match="nope"):
        _in_thread(failing)
    result = _in_thread(lambda: cmd(4, wait=False))
    assert result.get(5) == 4
    cmd.close()
    failing.close()


def test_closed_command_refuses_calls_and_abort_kills_background_runs():
    cmd = SimCommand("long", delay=10)
    result = cmd(wait=False)
    gevent.sleep(0)
    cmd.abort()
    with pytest.raises(NotConnectedError):
        result.get(5)
    cmd.close()
    with pytest.raises(NotConnectedError, match="closed"):
        cmd()


def test_channel_update_signal_connect_notify_and_quality():
    chan = SimChannel("pos", value=1.0)
    seen = _recorder(chan, "update", "qualityChanged")
    assert seen == [("update", 1.0)]  # current value sent to the new receiver
    chan.set_value((1, 2))  # a tuple arrives as one argument
    chan.update(3.0, Quality.ALARM)
    assert seen[1:] == [
        ("update", (1, 2)),
        ("qualityChanged", Quality.ALARM),
        ("update", 3.0),
    ]
    assert chan.get_value() == 3.0
    assert chan.get_quality() is Quality.ALARM
    chan.close()


def test_channel_without_value_and_disconnect_marks_quality_invalid():
    chan = ChannelObject("beam")
    assert chan.value is NOT_INITIALIZED
    with pytest.raises(NotConnectedError, match="no value received yet"):
        chan.get_value()
    seen = _recorder(chan, "connectionStateChanged", "connected", "disconnected")
    chan.set_connected(True)
    chan.update(5)
    chan.set_connected(False)
    assert chan.get_quality() is Quality.INVALID
    assert chan.get_value() == 5  # the last value is kept
    assert seen == [
        ("connectionStateChanged", True),
        ("connected",),
        ("connectionStateChanged", False),
        ("disconnected",),
    ]
    chan.close()


def test_update_threadsafe_delivers_in_the_hub_thread_latest_value_wins():
    chan = SimChannel("pos", value=0)
    hub_thread = threading.get_ident()
    got = []
    arrived = Event()

    def on_update(value):
        got.append((value, threading.get_ident()))
        if value == 999:
            arrived.set()

    chan.connect_signal("update", on_update)

    def produce():
        for i in range(1000):
            chan.simulate_value(i)

    _in_thread(produce)
    assert arrived.wait(5)
    assert all(ident == hub_thread for _, ident in got)
    values = [v for v, _ in got]
    assert values == sorted(values)  # never out of order
    assert values[-1] == 999
    chan.close()


def test_sim_channel_disconnected_and_readonly_and_failing():
    down = SimChannel("beam", connected=False, value=1)
    with pytest.raises(NotConnectedError, match="simulated server is down"):
        down.get_value()
    down.simulate_connection(True)
    assert down.is_connected()
    assert down.get_value() == 1
    ro = SimChannel("state", value="ON", readonly=True)
    with pytest.raises(NotImplementedError, match="read-only"):
        ro.set_value("OFF")
    bad = SimChannel("flux", value=1, fail="detector saturated")
    with pytest.raises(CommandFailedError, match="saturated"):
        bad.get_value()
    for chan in (down, ro, bad):
        chan.close()
    assert not down.is_connected()


def test_container_creates_items_by_registered_type_and_inherits_device_names():
    created = []

    def make_channel(name, text, attrs, owner):
        created.append((name, text, dict(attrs)))
        return SimChannel(name, text, value=attrs.get("tangoname"))

    provider = types.SimpleNamespace(
        make_channel=make_channel,
        INHERITED_PROPERTIES={
            "tangoname": ("tangoname",),
            "tinename": ("tinename", "tine_name"),
        },
    )
    register_type("fakecs", provider)
    try:

        class Owner(CommandContainer):
            def get_property(self, name, default=None):
                return {"tangoname": "id00/md/1", "tine_name": "/P11/x"}.get(
                    name, default
                )

        owner = Owner()
        chan = owner.add_channel(
            {"type": "fakecs", "name": "position", "polling": 500}, " Position "
        )
        other = owner.add_channel(
            {"type": "fakecs", "name": "other", "tangoname": "id00/other/1"}, "X"
        )
        assert created[0] == (
            "position",
            "Position",
            {"polling": 500, "tangoname": "id00/md/1", "tinename": "/P11/x"},
        )
        assert other.get_value() == "id00/other/1"
        assert owner.get_channel_value("position") == "id00/md/1"
        with pytest.raises(ConfigError, match="type 'fakecs' has no commands"):
            owner.add_command({"type": "fakecs", "name": "c"})
        with pytest.raises(ConfigError, match="failed to load"):
            owner.get_command_object("c")
        with pytest.raises(
            ConfigError, match=r"no channel named 'nope' \(known: other, position\)"
        ):
            owner.get_channel_object("nope")
        assert owner.get_channel_object("nope", optional=True) is None
        owner.close_commands_and_channels()
        assert chan.closed
    finally:
        unregister_type("fakecs")


def test_registry_is_lazy_and_refuses_duplicates():
    register_type("lazything", "module_that_does_not_exist_xyz")  # not imported yet
    try:
        with pytest.raises(ConfigError, match="'lazything' is unavailable"):
            get_type("lazything")
        with pytest.raises(ValueError, match="already registered"):
            register_type("lazything", "other")
        with pytest.raises(TypeError, match="neither make_command nor make_channel"):
            register_type("bad", object())
    finally:
        unregister_type("lazything")
    assert get_type("SIM") is get_type("sim")


def test_command_object_contract_for_type_modules():
    class Echo(CommandObject):
        def _execute(self, *args, **kwargs):
            return (args, kwargs)

    cmd = Echo("echo", timeout=1.0)
    assert cmd(1, 2, key="v") == ((1, 2), {"key": "v"})
    assert cmd.is_connected()
    cmd.add_argument("phase", "combo", combo_items=[("A", "a")])
    assert cmd.get_combo_argument_items("phase") == [("A", "a")]
    assert cmd.userName() == "echo"
    cmd.close()
    assert not cmd.is_connected()
