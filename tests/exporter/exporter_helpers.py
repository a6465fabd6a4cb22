"""Helpers of the Exporter tests."""

from __future__ import annotations

import time
from collections.abc import Callable

from HardwareRepository.Command.exporter import ExporterClient
from HardwareRepository.demo.processes import MDServerProcess


class Recorder:
    """An ExporterListener that keeps what it is told (called in the I/O thread)."""

    def __init__(self) -> None:
        self.events: list = []
        self.connection: list[bool] = []

    def on_events(self, events) -> None:
        self.events.extend(events)

    def on_connection(self, connected: bool) -> None:
        self.connection.append(connected)

    def values(self, name: str) -> list[str]:
        return [e.text for e in list(self.events) if e.name == name]


def wait_for(
    condition: Callable[[], object], timeout: float = 5.0, what: str = ""
) -> None:
    """Wait (natively; the client has its own thread) until ``condition()`` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.005)


def connected_client(
    server: MDServerProcess, **options
) -> tuple[ExporterClient, Recorder]:
    client = ExporterClient(server.host, server.port, **options)
    recorder = Recorder()
    client.add_listener(recorder)
    client.start()
    wait_for(client.is_connected, what=f"a connection to {server.address}")
    return client, recorder
