"""Fixtures of the green-proxy tests: one real device server per module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import tango
from green_devices import GreenTestDevice

from HardwareRepository.testing.tango_servers import TangoServerProcess

DEVICE = "test/green/1"


@pytest.fixture(scope="module")
def green_server() -> Iterator[TangoServerProcess]:
    """A running server with one :class:`GreenTestDevice`.

    It also subscribes once with a plain proxy, so that cppTango's process-wide
    event consumer (threads and descriptors that live as long as the process)
    exists before the first test's leak snapshot.
    """
    with TangoServerProcess({DEVICE: GreenTestDevice}) as server:
        plain = tango.DeviceProxy(server.device_url(DEVICE))
        plain.unsubscribe_event(
            plain.subscribe_event(
                "Count", tango.EventType.CHANGE_EVENT, lambda event: None
            )
        )
        del plain
        yield server


@pytest.fixture
def url(green_server: TangoServerProcess) -> str:
    """The full name of the test device."""
    return green_server.device_url(DEVICE)
