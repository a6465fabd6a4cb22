"""The typed backend contract: what the object layer does for any backend.

The backends here are written against the protocols only, as a new control
system would be; their "client" is a real thread that publishes readings and
connection changes, like a control system's event thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

import gevent
import pytest

from HardwareRepository.bridge import AsyncResult, Event
from HardwareRepository.commands import (
    ChannelObject,
    CommandObject,
    ConnectionListener,
    Quality,
    Reading,
    ReadingListener,
)
from HardwareRepository.errors import NotConnectedError, Timeout

TIMEOUT = 10.0


class ThreadedChannelBackend:
    """A channel backend whose device lives in another thread."""

    def __init__(self) -> None:
        self.device_value: float = 1.0
        self.on_reading: ReadingListener[float] | None = None
        self.on_connection: ConnectionListener | None = None
        self.writes: list[float] = []
        self.reads = 0
        self.calls: list[str] = []

    def source(self) -> str:
        return "threaded device x/y/1 value"

    def connect(self, on_connection: ConnectionListener) -> None:
        self.calls.append("connect")
        self.on_connection = on_connection

    def read(self, timeout: float | None) -> Reading[float]:
        self.reads += 1
        result: AsyncResult[Reading[float]] = AsyncResult()
        threading.Thread(
            target=lambda: result.set(Reading(self.device_value, Quality.ALARM, 5.0))
        ).start()
        return result.get(timeout or TIMEOUT)

    def write(self, value: float, timeout: float | None) -> None:
        self.writes.append(value)

    def subscribe(self, on_reading: ReadingListener[float]) -> None:
        self.calls.append("subscribe")
        self.on_reading = on_reading

    def unsubscribe(self) -> None:
        self.calls.append("unsubscribe")
        self.on_reading = None

    def close(self) -> None:
        self.calls.append("close")

    def publish_from_thread(self, *events: Any) -> None:
        """Run the device thread: each event is a Reading or a bool."""

        def run() -> None:
            for event in events:
                if isinstance(event, bool):
                    assert self.on_connection is not None
                    self.on_connection(event)
                else:
                    assert self.on_reading is not None
                    self.on_reading(event)

        thread = threading.Thread(target=run)
        thread.start()
        thread.join(TIMEOUT)


class SlowCommandBackend:
    def __init__(self) -> None:
        self.calls: list[tuple[tuple[Any, ...], dict[str, Any], float | None]] = []
        self.aborted = 0
        self.closed = 0

    def source(self) -> str:
        return "threaded device x/y/1 command go"

    def call(
        self, args: tuple[Any, ...], kwargs: Mapping[str, Any], timeout: float | None
    ) -> str:
        self.calls.append((args, dict(kwargs), timeout))
        if args and args[0] == "slow":
            gevent.sleep(TIMEOUT)
        return f"done {args}"

    def abort(self) -> None:
        self.aborted += 1

    def close(self) -> None:
        self.closed += 1


def test_a_channel_follows_its_backend_from_another_thread():
    backend = ThreadedChannelBackend()
    channel = ChannelObject("value", backend=backend)
    assert backend.calls == ["connect", "subscribe"]
    assert channel.source() == "threaded device x/y/1 value"
    seen: list[Any] = []
    done = Event()
    hub_thread = threading.get_ident()
    threads: set[int] = set()

    def on(name):
        def receiver(*args):
            threads.add(threading.get_ident())
            seen.append((name, *args))
            if name == "update" and args == (3.0,):
                done.set()

        return receiver

    receivers = {s: on(s) for s in ("update", "qualityChanged", "connected")}
    for signal, receiver in receivers.items():
        channel.connect_signal(signal, receiver)
    backend.publish_from_thread(
        True,
        Reading(2.0, Quality.VALID, 100.0),
        Reading(3.0, Quality.CHANGING, 101.0),
    )
    assert done.wait(TIMEOUT)
    assert threads == {hub_thread}
    # Coalescing may merge 2.0 into 3.0, never reorder or lose the last one.
    assert seen[0] == ("connected",)
    assert seen[-2:] == [("qualityChanged", Quality.CHANGING), ("update", 3.0)]
    assert channel.is_connected()
    assert (channel.get_value(), channel.quality, channel.timestamp) == (
        3.0,
        Quality.CHANGING,
        101.0,
    )
    stats = channel.delivery_statistics()
    assert stats.received == 3
    assert stats.handled + stats.merged == 3
    assert stats.dropped == 0
    channel.close()
    assert backend.calls[-2:] == ["unsubscribe", "close"]
    with pytest.raises(NotConnectedError, match="x/y/1 value is closed"):
        channel.get_value(force=True)


def test_a_forced_read_goes_through_the_backend_and_emits_only_a_change():
    backend = ThreadedChannelBackend()
    channel = ChannelObject("value", backend=backend)
    updates: list[Any] = []
    channel.connect_signal("update", updates.append)
    assert channel.get_value() == 1.0  # nothing cached: read
    assert (backend.reads, updates, channel.quality) == (1, [1.0], Quality.ALARM)
    assert channel.get_value() == 1.0  # cached
    assert backend.reads == 1
    assert channel.get_value(force=True) == 1.0  # unchanged: no update
    assert (backend.reads, updates) == (2, [1.0])
    backend.device_value = 7.0
    assert channel.get_value(force=True) == 7.0
    assert updates == [1.0, 7.0]
    channel.set_value(8.5)
    assert backend.writes == [8.5]
    channel.close()


def test_a_command_calls_its_backend_with_timeout_wait_and_abort():
    backend = SlowCommandBackend()
    command = CommandObject("go", timeout=3.0, backend=backend)
    assert command.source() == "threaded device x/y/1 command go"
    assert command(1, speed=2) == "done (1,)"
    assert backend.calls == [((1,), {"speed": 2}, 3.0)]
    pending = command("x", wait=False, timeout=4.0)
    assert pending.get(TIMEOUT) == "done ('x',)"
    assert backend.calls[-1] == (("x",), {}, 4.0)
    started = time.monotonic()
    with pytest.raises(Timeout, match=r"x/y/1 command go did not reply within 0\.05 s"):
        command("slow", timeout=0.05)
    assert time.monotonic() - started < TIMEOUT / 2
    running = command("slow", wait=False, timeout=None)
    gevent.sleep(0)
    command.abort()
    assert backend.aborted == 1
    with pytest.raises(NotConnectedError, match="aborted"):
        running.get(TIMEOUT)
    command.close()
    assert backend.closed == 1


class NapCommandBackend(SlowCommandBackend):
    def call(
        self, args: tuple[Any, ...], kwargs: Mapping[str, Any], timeout: float | None
    ) -> str:
        gevent.sleep(0.3)
        return "rested"


def test_a_command_timeout_counts_from_the_call_even_after_a_blocked_hub():
    # A guard beside the bridge's fix for waits (tests/bridge/test_timeouts):
    # after a long synchronous call in the hub's thread the loop's cached clock
    # is stale; gevent.Timeout, which bounds a command, already allows for it.
    command = CommandObject("nap", backend=NapCommandBackend())
    gevent.sleep(0)
    time.sleep(1.5)  # blocks the thread: the loop's clock stands still
    assert command(timeout=1.0) == "rested"
