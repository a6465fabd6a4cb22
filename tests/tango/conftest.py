"""Fixtures of the Tango tests: real device servers in child processes.

Servers shared by a module are module-scoped (started before the first test's
leak snapshot, stopped after the last); tests that kill and restart a server
start their own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import tango
from tango_test_devices import ValuesDevice

from HardwareRepository import Poller
from HardwareRepository.bridge import Event, native
from HardwareRepository.Command import Tango
from HardwareRepository.testing.tango_servers import TangoServerProcess

VALUES = "test/values/1"


@pytest.fixture(scope="session")
def tango_event_system() -> None:
    """Create cppTango's process-wide event consumer before any leak snapshot.

    The first event subscription of a process starts Tango's ZMQ event
    consumer: native threads plus eventfd/epoll descriptors that live as long
    as the process. They belong to cppTango, not to the code under test, so
    they are created here once, by subscribing to a short-lived server.
    """
    with TangoServerProcess({VALUES: ValuesDevice}) as server:
        proxy = tango.DeviceProxy(server.device_url(VALUES))
        event_id = proxy.subscribe_event(
            "Scalar", tango.EventType.CHANGE_EVENT, lambda event: None
        )
        proxy.unsubscribe_event(event_id)
        del proxy


@pytest.fixture(scope="module")
def values_server(tango_event_system: None) -> Iterator[TangoServerProcess]:
    """A running server with one :class:`ValuesDevice` named ``test/values/1``."""
    with TangoServerProcess({VALUES: ValuesDevice}) as server:
        yield server


@pytest.fixture
def values_url(values_server: TangoServerProcess) -> str:
    """The full name of the shared ``test/values/1`` device."""
    return values_server.device_url(VALUES)


@pytest.fixture
def tango_items() -> Iterator[Callable[..., Any]]:
    """Create Tango commands/channels from XML-style attributes; close them after.

    ``tango_items("channel", "name", "Attribute", tangoname=..., polling=...)``.
    Poller threads are ended at teardown too, so the leak check sees none.
    """
    made: list[Any] = []

    def make(kind: str, name: str, text: str, **attrs: Any) -> Any:
        factory = Tango.make_channel if kind == "channel" else Tango.make_command
        item = factory(name, text, attrs, None)
        made.append(item)
        return item

    yield make
    for item in reversed(made):
        item.close()
    assert Poller.shutdown(timeout=10), "poller threads did not end"


class Recorder:
    """Record a channel's or command's signals; wait for a condition on them.

    Receivers run in the hub thread; :meth:`wait_for` waits cooperatively on an
    event set by every record (no sleeping, no polling).
    """

    SIGNALS = (
        "update",
        "qualityChanged",
        "connectionStateChanged",
        "commandFailed",
        "commandReplyArrived",
    )

    def __init__(self, item: Any, signals: tuple[str, ...] = SIGNALS) -> None:
        self.events: list[tuple[str, float, tuple[Any, ...]]] = []
        self._changed = Event()
        self._receivers = []
        for signal in signals:
            receiver = self._receiver(signal)
            self._receivers.append(receiver)  # keep them alive
            item.connect_signal(signal, receiver, weak=False)

    def _receiver(self, signal: str) -> Callable[..., None]:
        def receive(*args: Any) -> None:
            self.events.append((signal, native.monotonic(), args))
            self._changed.set()

        return receive

    def values(self, signal: str = "update") -> list[Any]:
        """Return the first argument of each ``signal`` received, in order."""
        return [args[0] for name, _, args in self.events if name == signal]

    def wait_for(
        self, condition: Callable[[], Any], timeout: float, what: str = ""
    ) -> Any:
        """Wait until ``condition()`` is truthy and return it; fail after timeout s."""
        deadline = native.monotonic() + timeout
        while True:
            result = condition()
            if result:
                return result
            self._changed.clear()
            result = condition()
            if result:
                return result
            remaining = deadline - native.monotonic()
            if remaining <= 0 or not self._changed.wait(remaining):
                pytest.fail(
                    f"timed out after {timeout} s waiting for {what or condition}; "
                    f"recorded: {self.events[-10:]}"
                )

    def wait_until_events_flow(
        self, trigger: Callable[[], Any], timeout: float = 10.0
    ) -> int:
        """Call ``trigger()`` until an ``update`` follows it; return the count then.

        A new subscription's first event is read synchronously, but cppTango
        joins the ZMQ stream a moment later: an event pushed in between is
        lost. Tests that count events start only once one has come through.
        """
        deadline = native.monotonic() + timeout
        while True:
            count = len(self.values())
            self._changed.clear()
            trigger()
            wait_until = min(deadline, native.monotonic() + 0.5)
            while len(self.values()) == count:
                remaining = wait_until - native.monotonic()
                if remaining <= 0:
                    break
                self._changed.wait(remaining)
            if len(self.values()) > count:
                return len(self.values())
            if native.monotonic() >= deadline:
                pytest.fail(f"no event came through within {timeout} s")

    def first_after(self, signal: str, start: float, predicate=None) -> float | None:
        """Return when the first ``signal`` after ``start`` matching predicate came."""
        for name, when, args in self.events:
            if (
                name == signal
                and when >= start
                and (predicate is None or predicate(*args))
            ):
                return when
        return None


@pytest.fixture
def recorder() -> Callable[..., Recorder]:
    """Return :class:`Recorder` (as a factory)."""
    return Recorder
