"""Green proxy figures: read round trips and change events, beside PyTango's own.

A real device server (child process) serves one device. In the same run:

* ``read_attribute`` round trips, ``READS`` per round and ``ROUNDS`` rounds
  alternating: a plain synchronous ``tango.DeviceProxy`` called from the main
  thread (the reference), and ``HardwareRepository.tango.DeviceProxy`` called
  from a greenlet of the main thread's hub. p50 and p99 of each, and their
  ratios (target <= 1.3).
* a burst of ``BURST`` change events pushed by the server as fast as it can,
  ``ROUNDS`` times to each of, alternately: a plain PyTango callback (no loop
  at all: the reference), PyTango's own gevent green mode
  (``green_mode=GreenMode.Gevent``: a greenlet per event), and the green proxy
  (callbacks batched into the subscriber's hub). Rate = events / time from the
  first push to the last reception; the median round of each, and the median
  of the paired rounds' ratios (targets: >= 0.9 x plain, ahead of PyTango's
  gevent mode); push->callback latencies during those bursts (a backlog:
  the server pushes faster than any client takes events).
* memory: RSS growth while ``MEMORY_BURSTS`` more bursts go through one
  subscription of one green proxy, after a first one.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

import gevent
import tango
from tango.server import Device, attribute, command

from benchmarks._report import Figure, at_least, at_most, percentile
from HardwareRepository.bridge import Event, get_bridge, native
from HardwareRepository.tango import DeviceProxy
from HardwareRepository.testing.tango_servers import TangoServerProcess

DEVICE = "bench/green/1"
READS = 500
BURST = 10_000
ROUNDS = 3
MEMORY_BURSTS = 30
IDLE = 3.0  # s without events that ends a burst early (events were lost)
CHANGE = tango.EventType.CHANGE_EVENT


class GreenBenchDevice(Device):
    """A scalar to read, and bursts of change events on ``Tick``."""

    def init_device(self) -> None:
        super().init_device()
        self._tick = 0
        self.set_change_event("Tick", True, False)

    @attribute(dtype=float)
    def Reading(self):
        return 1.25

    @attribute(dtype=int)
    def Tick(self):
        return self._tick

    @command(dtype_in=int)
    def Burst(self, count: int) -> None:
        """Push ``Tick`` = 1 ... ``count`` as fast as possible."""
        self._tick = 0
        while self._tick < count:
            self._tick += 1
            self.push_change_event("Tick", self._tick)


# -- read round trips ----------------------------------------------------------------


def _time_reads(read: Callable[[], Any]) -> list[float]:
    samples = []
    for _ in range(READS):
        started = time.perf_counter()
        read()
        samples.append(time.perf_counter() - started)
    return samples


def _round_trips(url: str) -> tuple[list[float], list[float]]:
    plain = tango.DeviceProxy(url)
    green = DeviceProxy(url)
    plain_samples: list[float] = []
    green_samples: list[float] = []
    try:
        plain.read_attribute("Reading")
        green.read_attribute("Reading")
        for _ in range(ROUNDS):
            plain_samples += _time_reads(lambda: plain.read_attribute("Reading"))
            greenlet = gevent.spawn(
                _time_reads, lambda: green.read_attribute("Reading")
            )
            green_samples += greenlet.get()
    finally:
        green.close()
    return plain_samples, green_samples


# -- event bursts ---------------------------------------------------------------------


class _Tally:
    """Receptions of one burst: count, first push, last reception, order."""

    def __init__(self) -> None:
        self.count = 0
        self.first_push: float | None = None
        self.last_reception = 0.0
        self.in_order = True
        self.latencies: list[float] = []
        self._last = 0
        self.armed = False

    def add(self, event: tango.EventData) -> bool:
        """Count one event; return whether it was the last of the burst."""
        if event.err or not self.armed:
            return False
        value = event.attr_value
        pushed = value.time.totime()
        if value.value == 1:
            self.first_push = pushed
        self.count += 1
        self.last_reception = time.time()
        self.latencies.append(self.last_reception - pushed)
        if value.value <= self._last:
            self.in_order = False
        self._last = value.value
        return bool(value.value == BURST)

    def rate(self) -> float:
        if not self.count or self.first_push is None:
            return 0.0
        return self.count / max(self.last_reception - self.first_push, 1e-9)


def _burst(proxy: Any, wait_done: Callable[[float], bool], done_flag: Any) -> _Tally:
    """Subscribe ``proxy`` (any kind), push a burst, wait, unsubscribe."""
    tally = _Tally()

    def callback(event: tango.EventData) -> None:
        if tally.add(event):
            done_flag()

    event_id = proxy.subscribe_event("Tick", CHANGE, callback)
    tally.armed = True  # the first reading, sent at subscription, is not counted
    proxy.command_inout("Burst", BURST)
    seen = -1
    while not wait_done(IDLE) and tally.count != seen:
        seen = tally.count
    proxy.unsubscribe_event(event_id)
    return tally


def _plain_burst(url: str) -> _Tally:
    done = native.allocate_lock()
    done.acquire()
    proxy = tango.DeviceProxy(url)
    proxy.set_timeout_millis(60_000)
    return _burst(proxy, lambda t: done.acquire(True, t), done.release)


def _pytango_gevent_burst(url: str) -> _Tally:
    done = Event()
    proxy = tango.DeviceProxy(url, green_mode=tango.GreenMode.Gevent)
    proxy.set_timeout_millis(60_000)
    return _burst(proxy, done.wait, done.set)


def _green_burst(url: str) -> _Tally:
    done = Event()
    proxy = DeviceProxy(url)
    proxy.set_timeout_millis(60_000)
    try:
        return _burst(proxy, done.wait, done.set)
    finally:
        proxy.close()


def _rss_kb() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _memory_growth(url: str) -> tuple[float, int]:
    """Return (MB of RSS growth, events) through one subscription of one proxy."""
    done = Event()

    def callback(event: tango.EventData) -> None:
        if not event.err and event.attr_value.value == BURST:
            done.set()

    proxy = DeviceProxy(url)
    try:
        proxy.set_timeout_millis(60_000)
        event_id = proxy.subscribe_event("Tick", CHANGE, callback)
        for burst in range(MEMORY_BURSTS + 1):
            done.clear()
            proxy.command_inout("Burst", BURST)
            if not done.wait(60):
                raise RuntimeError("a memory-test burst did not arrive in full")
            if burst == 0:  # the first one warms up
                gc.collect()
                before = _rss_kb()
        gc.collect()
        proxy.unsubscribe_event(event_id)
    finally:
        proxy.close()
    return (_rss_kb() - before) / 1024, MEMORY_BURSTS * BURST


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def run() -> list[Figure]:
    """Measure and return the green proxy figures."""
    get_bridge()
    with TangoServerProcess({DEVICE: GreenBenchDevice}) as server:
        url = server.device_url(DEVICE)
        plain_reads, green_reads = _round_trips(url)
        plains: list[_Tally] = []
        pytangos: list[_Tally] = []
        greens: list[_Tally] = []
        for _ in range(ROUNDS):
            plains.append(_plain_burst(url))
            pytangos.append(_pytango_gevent_burst(url))
            greens.append(_green_burst(url))
        growth_mb, memory_events = _memory_growth(url)
    us = 1e6
    ms = 1e3

    def latency(tallies: list[_Tally], fraction: float) -> float:
        return percentile([x for t in tallies for x in t.latencies], fraction) * ms

    plain_p50 = percentile(plain_reads, 0.5)
    plain_p99 = percentile(plain_reads, 0.99)
    green_p50 = percentile(green_reads, 0.5)
    green_p99 = percentile(green_reads, 0.99)
    to_plain = [
        g.rate() / p.rate() if p.rate() else 0.0
        for p, g in zip(plains, greens, strict=True)
    ]
    to_pytango = [
        g.rate() / t.rate() if t.rate() else 0.0
        for t, g in zip(pytangos, greens, strict=True)
    ]

    def rounds(tallies: list[_Tally]) -> str:
        return "rounds: " + ", ".join(f"{t.rate():.0f}" for t in tallies)

    counts = "received/pushed: " + ", ".join(
        f"plain {p.count}, pytango {t.count}, green {g.count}"
        for p, t, g in zip(plains, pytangos, greens, strict=True)
    )
    return [
        Figure(
            "green: plain DeviceProxy read_attribute p50",
            plain_p50 * us,
            "us",
            note=f"reference, {ROUNDS} x {READS} reads",
        ),
        Figure(
            "green: plain DeviceProxy read_attribute p99",
            plain_p99 * us,
            "us",
            note="reference",
        ),
        at_most(
            "green: DeviceProxy read_attribute p50 / plain p50",
            green_p50 / plain_p50,
            "x",
            1.3,
            f"green {green_p50 * us:.0f} us from a greenlet",
        ),
        at_most(
            "green: DeviceProxy read_attribute p99 / plain p99",
            green_p99 / plain_p99,
            "x",
            1.3,
            f"green {green_p99 * us:.0f} us from a greenlet",
        ),
        Figure(
            "green: plain PyTango callback, change events/s",
            _median([p.rate() for p in plains]),
            "events/s",
            note=f"reference; {rounds(plains)}",
        ),
        Figure(
            "green: PyTango gevent green mode, change events/s",
            _median([t.rate() for t in pytangos]),
            "events/s",
            note=f"reference; {rounds(pytangos)}",
        ),
        Figure(
            "green: DeviceProxy subscribe_event, change events/s",
            _median([g.rate() for g in greens]),
            "events/s",
            note=f"{rounds(greens)}; in order: {all(g.in_order for g in greens)}; "
            + counts,
        ),
        Figure(
            "green: push->callback p50 / p99, plain PyTango",
            latency(plains, 0.5),
            "ms",
            note=f"reference; p99 {latency(plains, 0.99):.1f} ms",
        ),
        Figure(
            "green: push->callback p50 / p99, PyTango gevent mode",
            latency(pytangos, 0.5),
            "ms",
            note=f"reference; p99 {latency(pytangos, 0.99):.1f} ms",
        ),
        Figure(
            "green: push->callback p50 / p99, DeviceProxy",
            latency(greens, 0.5),
            "ms",
            note=f"p99 {latency(greens, 0.99):.1f} ms (during {BURST}-event bursts)",
        ),
        at_most(
            "green: memory growth over subscribe_event events",
            growth_mb,
            "MB",
            5,
            f"{memory_events:,} events",
        ),
        at_least(
            "green: subscribe_event rate / plain callback (median)",
            _median(to_plain),
            "x",
            0.9,
            "rounds: " + ", ".join(f"{r:.2f}" for r in to_plain),
        ),
        at_least(
            "green: subscribe_event rate / PyTango gevent mode (median)",
            _median(to_pytango),
            "x",
            1.0,
            "rounds: " + ", ".join(f"{r:.2f}" for r in to_pytango),
        ),
    ]
