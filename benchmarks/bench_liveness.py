"""Liveness figures (issue 17): how soon a dead, frozen or restarted server shows.

A real device server (child process) serves one attribute. For each fault the
same run measures a ``TangoChannel`` (events, and polled every 500 ms) and the
reference, plain PyTango: an event subscription (its error callback) and a loop
that reads every 500 ms with PyTango's default 3 s timeout.

* dead: the server is killed (SIGKILL); time until the channel says
  disconnected / the reference gets an error;
* frozen: the server is stopped (SIGSTOP); same;
* fresh value after restart: time from the server answering again until a new
  value arrives (the event channel; the reference's subscription).

A reference that notices nothing within ``CAP`` seconds is printed as ``CAP``.
"""

from __future__ import annotations

import os
import signal
import threading

import tango

from benchmarks._report import Figure, at_most
from HardwareRepository import Poller
from HardwareRepository.bridge import Event, _native
from HardwareRepository.Command.Tango import TangoChannel
from HardwareRepository.testing.tango_servers import TangoServerProcess

DEVICE = "bench/live/1"
CAP = 15.0  # s: the longest a reference is waited for
TARGET = 2.0  # s


def _server() -> TangoServerProcess:
    from benchmarks.bench_tango import BurstDevice

    return TangoServerProcess({DEVICE: BurstDevice})


class _PlainWatch:
    """Plain PyTango: an event subscription and a 500 ms read loop, in threads."""

    def __init__(self, url: str) -> None:
        self._url = url
        self.proxy = tango.DeviceProxy(url)
        self.event_error_at: float | None = None
        self.event_value_at: float | None = None
        self.read_error_at: float | None = None
        self._stop = threading.Event()
        self.event_id = self.proxy.subscribe_event(
            "Counter", tango.EventType.CHANGE_EVENT, self._on_event
        )
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def reset(self) -> None:
        self.event_error_at = self.event_value_at = self.read_error_at = None

    def _on_event(self, event: tango.EventData) -> None:
        now = _native.monotonic()
        if event.err:
            if self.event_error_at is None:
                self.event_error_at = now
        elif self.event_value_at is None:
            self.event_value_at = now

    def _poll(self) -> None:
        proxy = tango.DeviceProxy(self._url)
        while not self._stop.wait(0.5):
            try:
                proxy.read_attribute("Counter")
            except tango.DevFailed:
                if self.read_error_at is None:
                    self.read_error_at = _native.monotonic()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        try:
            self.proxy.unsubscribe_event(self.event_id)
        except tango.DevFailed:
            pass


def _wait(condition, timeout: float) -> float | None:
    """Wait (cooperatively) for ``condition``; return when it held, or None."""
    deadline = _native.monotonic() + timeout
    changed = Event()
    while _native.monotonic() < deadline:
        if condition():
            return _native.monotonic()
        changed.wait(0.01)
    return None


def _since(start: float, when: float | None) -> float:
    return CAP if when is None else min(CAP, when - start)


def _fault(server: TangoServerProcess, kind: str) -> None:
    if kind == "dead":
        server.kill()
    else:
        assert server.pid is not None
        os.kill(server.pid, signal.SIGSTOP)


def _recover(server: TangoServerProcess, kind: str) -> None:
    if kind == "dead":
        server.start()
    else:
        assert server.pid is not None
        os.kill(server.pid, signal.SIGCONT)


def run() -> list[Figure]:
    """Measure detection and recovery times, channel vs plain PyTango."""
    figures: list[Figure] = []
    with _server() as server:
        url = server.device_url(DEVICE)
        events = TangoChannel("ev", "Counter", url, polling="events")
        polled = TangoChannel("po", "Counter", url, polling=500)
        plain = _PlainWatch(url)
        try:
            _wait(lambda: events.is_connected() and polled.is_connected(), 10)
            for kind in ("dead", "frozen"):
                plain.reset()
                start = _native.monotonic()
                _fault(server, kind)
                ev_down = _wait(lambda: not events.is_connected(), CAP)
                po_down = _wait(lambda: not polled.is_connected(), CAP)
                _wait(
                    lambda: (
                        plain.event_error_at is not None
                        and plain.read_error_at is not None
                    ),
                    max(0.0, CAP - (_native.monotonic() - start)),
                )
                figures.append(
                    at_most(
                        f"liveness: {kind} server -> event channel stale",
                        _since(start, ev_down),
                        "s",
                        TARGET,
                        f"plain PyTango event callback: "
                        f"{_since(start, plain.event_error_at):.2f} s (cap {CAP:g})",
                    )
                )
                figures.append(
                    at_most(
                        f"liveness: {kind} server -> polled (500 ms) channel stale",
                        _since(start, po_down),
                        "s",
                        TARGET,
                        f"plain PyTango 500 ms read loop: "
                        f"{_since(start, plain.read_error_at):.2f} s (cap {CAP:g})",
                    )
                )
                plain.reset()
                _recover(server, kind)
                back = _native.monotonic()
                before = events.timestamp
                ev_up = _wait(
                    lambda b=before: events.is_connected() and events.timestamp != b,
                    CAP,
                )
                _wait(lambda: plain.event_value_at is not None, CAP)
                if kind == "dead":
                    figures.append(
                        at_most(
                            "liveness: restarted server -> fresh event value",
                            _since(back, ev_up),
                            "s",
                            TARGET,
                            f"plain PyTango subscription: "
                            f"{_since(back, plain.event_value_at):.2f} s (cap {CAP:g})",
                        )
                    )
                _wait(lambda: polled.is_connected(), CAP)
        finally:
            plain.close()
            events.close()
            polled.close()
            Poller.shutdown(timeout=10)
    return figures
