"""Overload figure (issue 17): the hub under an event storm and a slow receiver.

A real device server pushes change events on 5 attributes at ``RATE`` Hz each
for ``SECONDS`` s. Five ``TangoChannel`` s (``polling="events"``, coalescing on,
as a GUI or ``hwr monitor`` asks) each have one receiver that works
``WORK`` s per value. A ticker greenlet sleeps 1 ms at a time in the same hub;
its longest gap is the hub's longest stall. Every event Tango delivered must be
accounted for as delivered or merged (none dropped).

Reference, in the same run: plain PyTango callbacks doing the same work in
Tango's thread, and a ticker *thread* sleeping 1 ms at a time (its longest gap
is how long the callbacks starve other Python threads).
"""

from __future__ import annotations

import threading
import time

import tango
from tango.server import Device, attribute, command

from benchmarks._report import Figure, at_most
from HardwareRepository.bridge import Event, _native
from HardwareRepository.Command.Tango import TangoChannel
from HardwareRepository.testing.tango_servers import TangoServerProcess

DEVICE = "bench/storm/1"
ATTRIBUTES = ("A0", "A1", "A2", "A3", "A4")
RATE = 5000  # Hz per attribute
SECONDS = 3.0
WORK = 100e-6  # s of receiver work per value
TARGET_GAP_MS = 50.0


class StormDevice(Device):
    """Five attributes with change events, pushed at a fixed rate by ``Storm``."""

    def init_device(self) -> None:
        super().init_device()
        self._values = dict.fromkeys(ATTRIBUTES, 0)
        for name in ATTRIBUTES:
            self.set_change_event(name, True, False)

    @attribute(dtype=int)
    def A0(self) -> int:
        return self._values["A0"]

    @attribute(dtype=int)
    def A1(self) -> int:
        return self._values["A1"]

    @attribute(dtype=int)
    def A2(self) -> int:
        return self._values["A2"]

    @attribute(dtype=int)
    def A3(self) -> int:
        return self._values["A3"]

    @attribute(dtype=int)
    def A4(self) -> int:
        return self._values["A4"]

    @attribute(dtype=int)
    def Pushed(self) -> int:
        return sum(self._values.values())

    @command(dtype_in=(float,))
    def Storm(self, rate_and_seconds) -> None:
        """Push every attribute ``rate`` times a second for ``seconds``."""
        rate, seconds = rate_and_seconds
        tick = 0.001
        per_tick = max(1, round(rate * tick))
        start = time.perf_counter()
        ticks = round(seconds / tick)
        for index in range(ticks):
            for _ in range(per_tick):
                for name in ATTRIBUTES:
                    self._values[name] += 1
                    self.push_change_event(name, self._values[name])
            delay = start + (index + 1) * tick - time.perf_counter()
            if delay > 0:
                time.sleep(delay)


def _spin(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def _storm(url: str) -> None:
    proxy = tango.DeviceProxy(url)
    proxy.set_timeout_millis(int((SECONDS + 30) * 1000))
    proxy.command_inout("Storm", [float(RATE), SECONDS])


def _channels(url: str) -> dict[str, float]:
    channels = [TangoChannel(n, n, url, polling="events") for n in ATTRIBUTES]
    delivered = dict.fromkeys(ATTRIBUTES, 0)
    receivers = []
    for channel in channels:
        channel.coalesce = True

        name = channel.name()

        def receive(value, name=name):
            _spin(WORK)
            delivered[name] += 1

        receivers.append(receive)
        channel.connect_signal("update", receive, weak=False)
    idle = Event()
    deadline = _native.monotonic() + 10
    while not all(c.is_connected() for c in channels):
        if _native.monotonic() > deadline:
            raise RuntimeError("the storm channels did not connect")
        idle.wait(0.01)
    before = {c.name(): c.statistics() for c in channels}
    delivered_before = dict(delivered)
    gaps: list[float] = []
    worst_at = [0.0]
    running = [True]
    started = _native.monotonic()

    def ticker() -> None:
        last = _native.monotonic()
        while running[0]:
            idle.wait(0.001)
            now = _native.monotonic()
            if not gaps or now - last > max(gaps):
                worst_at[0] = last - started
            gaps.append(now - last)
            last = now

    import gevent

    ticking = gevent.spawn(ticker)
    storm = threading.Thread(target=_storm, args=(url,))
    storm.start()
    while storm.is_alive():
        idle.wait(0.05)
    storm.join()
    # Drain: until every queue is empty and nothing came for a while.
    quiet_since = _native.monotonic()
    last_total = -1
    while _native.monotonic() - quiet_since < 1.0:
        total = sum(c.statistics()["received"] for c in channels)
        if total != last_total or any(c.statistics()["queued"] for c in channels):
            quiet_since = _native.monotonic()
            last_total = total
        idle.wait(0.05)
    running[0] = False
    ticking.join()
    received = merged = dropped = handed = errors = read_backs = 0
    for channel in channels:
        stats = channel.statistics()
        base = before[channel.name()]
        received += stats["received"] - base["received"]
        merged += stats["merged"] - base["merged"]
        dropped += stats["dropped"] - base["dropped"]
        errors += stats["errors"] - base["errors"]
        read_backs += stats["read_backs"] - base["read_backs"]
        handed += delivered[channel.name()] - delivered_before[channel.name()]
        channel.close()
    return {
        "gap_ms": max(gaps) * 1000 if gaps else 0.0,
        "gap_at": worst_at[0],
        "received": received,
        "delivered": handed - read_backs,
        "merged": merged,
        "dropped": dropped,
        "errors": errors,
    }


def _plain(url: str) -> dict[str, float]:
    proxies = []
    counts = dict.fromkeys(ATTRIBUTES, 0)
    ids = []
    for name in ATTRIBUTES:
        proxy = tango.DeviceProxy(url)

        def callback(event, name=name):
            if not event.err:
                _spin(WORK)
                counts[name] += 1

        ids.append(
            (proxy, proxy.subscribe_event(name, tango.EventType.CHANGE_EVENT, callback))
        )
        proxies.append(proxy)
    gaps: list[float] = []
    running = [True]

    def ticker() -> None:
        last = time.monotonic()
        while running[0]:
            time.sleep(0.001)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    ticking = threading.Thread(target=ticker)
    ticking.start()
    _storm(url)
    time.sleep(1.0)
    running[0] = False
    ticking.join()
    for proxy, event_id in ids:
        proxy.unsubscribe_event(event_id)
    return {
        "gap_ms": max(gaps) * 1000 if gaps else 0.0,
        "delivered": sum(counts.values()),
    }


def run() -> list[Figure]:
    """Measure the hub's longest stall under the storm, channel vs plain."""
    with TangoServerProcess({DEVICE: StormDevice}) as server:
        url = server.device_url(DEVICE)
        plain = _plain(url)
        ours = _channels(url)
    # Error events (API_MissedEvents: Tango's own losses) carry no value.
    accounted = ours["delivered"] + ours["merged"] + ours["errors"]
    note = (
        f"{ours['received']:.0f} events from Tango: {ours['delivered']:.0f} "
        f"delivered + {ours['merged']:.0f} merged + {ours['errors']:.0f} error "
        f"events, {ours['dropped']:.0f} dropped; "
        f"plain PyTango: {plain['delivered']:.0f} callbacks, ticker thread max gap "
        f"{plain['gap_ms']:.1f} ms; worst gap {ours['gap_at']:.2f} s after the start"
    )
    return [
        at_most(
            f"overload: hub max gap, {RATE} Hz x {len(ATTRIBUTES)} attributes, "
            f"{WORK * 1e6:.0f} us receiver",
            ours["gap_ms"],
            "ms",
            TARGET_GAP_MS,
            note,
        ),
        at_most(
            "overload: events not accounted for (delivered or merged)",
            ours["received"] - accounted,
            "events",
            0,
            f"{ours['dropped']:.0f} dropped at the queue bound",
        ),
    ]
