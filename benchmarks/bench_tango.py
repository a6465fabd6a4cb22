"""Tango figures: a burst of change events into a TangoChannel vs plain PyTango.

A real device server (child process) pushes ``BURST`` change events on one
attribute as fast as it can. The same burst goes, in the same run and
alternately (``ROUNDS`` times each, one subscription at a time), to

* a plain PyTango callback (no gevent, no loop at all: the reference), and
* a ``TangoChannel`` (``polling="events"``) whose ``update`` receiver runs in
  the gevent hub of the main thread.

For each: events received, rate (events / time from the first push to the last
reception; the median round, and the ratio of the paired rounds' rates) and
latency from push (the event's server timestamp) to reception (the callback,
resp. the hub receiver) p50/p99 over all rounds. The channel has exactly one
``update`` receiver during a burst, doing the same bookkeeping as the plain
callback. Then the process memory growth
while ``MEMORY_EVENTS`` events go through the channel.
"""

from __future__ import annotations

import gc
import time

import tango
from tango.server import Device, attribute, command

from benchmarks._report import Figure, at_least, at_most, percentile
from HardwareRepository.bridge import Event, get_bridge, native
from HardwareRepository.Command.Tango import TangoChannel, TangoCommand
from HardwareRepository.testing.tango_servers import TangoServerProcess

BURST = 10_000
ROUNDS = 3  # plain and channel bursts, alternating; figures from all rounds
MEMORY_EVENTS = 1_000_000
DEVICE = "bench/burst/1"
IDLE = 3.0  # s without events that ends a burst early (events were lost)


class BurstDevice(Device):
    """Push bursts of change events on ``Counter`` (value 1, 2, ... n)."""

    def init_device(self) -> None:
        super().init_device()
        self._value = 0
        self.set_change_event("Counter", True, False)

    @attribute(dtype=int)
    def Counter(self):
        return self._value

    @command(dtype_in=int)
    def Burst(self, count: int) -> None:
        """Push ``count`` change events as fast as possible."""
        for value in range(1, count + 1):
            self._value = value
            self.push_change_event("Counter", value)


def _rss_kb() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class _Tally:
    """Receptions of one burst: count, first push, last reception, latencies."""

    def __init__(self) -> None:
        self.count = 0
        self.first_push: float | None = None
        self.last_reception = 0.0
        self.latencies: list[float] = []
        self.in_order = True
        self._last_value = 0

    def add(self, value: int, pushed: float) -> None:
        now = time.time()
        if self.first_push is None or value == 1:
            self.first_push = pushed
        self.count += 1
        self.last_reception = now
        self.latencies.append(now - pushed)
        if value <= self._last_value:
            self.in_order = False
        self._last_value = value

    def rate(self) -> float:
        if not self.count or self.first_push is None:
            return 0.0
        return self.count / max(self.last_reception - self.first_push, 1e-9)


def _plain(url: str) -> _Tally:
    """The reference: a plain PyTango callback, the main thread just waits."""
    tally = _Tally()
    done = native.allocate_lock()
    done.acquire()
    state = {"subscribed": False}

    def callback(event: tango.EventData) -> None:
        if event.err or not state["subscribed"]:
            return
        value = event.attr_value
        tally.add(value.value, value.time.totime())
        if value.value == BURST:
            done.release()

    proxy = tango.DeviceProxy(url)
    event_id = proxy.subscribe_event("Counter", tango.EventType.CHANGE_EVENT, callback)
    state["subscribed"] = True  # the first callback was the initial reading
    proxy.set_timeout_millis(60_000)
    proxy.command_inout("Burst", BURST)
    # Wait for the last value; if it was lost, until events stop coming.
    seen = -1
    while not done.acquire(True, IDLE) and tally.count != seen:
        seen = tally.count
    proxy.unsubscribe_event(event_id)
    return tally


def _channel_burst(channel: TangoChannel, burst: TangoCommand, count: int) -> _Tally:
    tally = _Tally()
    finished = Event()
    armed = False

    def on_update(value: int) -> None:
        if not armed:  # the current value, sent to a new receiver at once
            return
        tally.add(value, channel.timestamp)
        if value == count:
            finished.set()

    channel.connect_signal("update", on_update, weak=False)
    armed = True
    try:
        burst(count, timeout=120)
        # Wait for the last value; if it was lost, until events stop coming.
        seen = -1
        while not finished.wait(IDLE) and tally.count != seen:
            seen = tally.count
    finally:
        channel.disconnect_signal("update", on_update)
    return tally


def _open_channel(url: str) -> tuple[TangoChannel, TangoCommand]:
    channel = TangoChannel("counter", "Counter", url, polling="events")
    burst = TangoCommand("burst", "Burst", url, timeout=120)
    connected = Event()

    def on_connected(value: int) -> None:
        connected.set()

    channel.connect_signal("update", on_connected, weak=False)
    try:
        if not connected.wait(30):
            raise RuntimeError("the benchmark channel did not connect")
    finally:
        # Only the measuring receiver may remain: one per event is the load.
        channel.disconnect_signal("update", on_connected)
    return channel, burst


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def _memory_growth(url: str) -> tuple[float, int, float]:
    """Return (MB of RSS growth, events, seconds) over ``MEMORY_EVENTS``."""
    channel, burst = _open_channel(url)
    try:
        # Warm up with one burst, then push MEMORY_EVENTS more.
        _channel_burst(channel, burst, BURST)
        gc.collect()
        rss_before = _rss_kb()
        started = time.perf_counter()
        sent = 0
        while sent < MEMORY_EVENTS:
            _channel_burst(channel, burst, BURST)
            sent += BURST
        gc.collect()
        return (_rss_kb() - rss_before) / 1024, sent, time.perf_counter() - started
    finally:
        channel.close()
        burst.close()


def run() -> list[Figure]:
    """Measure and return the Tango event figures."""
    get_bridge()
    plains: list[_Tally] = []
    channels: list[_Tally] = []
    handed: list[int] = []
    with TangoServerProcess({DEVICE: BurstDevice}) as server:
        url = server.device_url(DEVICE)
        # Alternate plain and channel bursts; only one subscription exists at a
        # time (closing the channel's last item waits for its unsubscription).
        for _ in range(ROUNDS):
            plains.append(_plain(url))
            channel, burst = _open_channel(url)
            try:
                before = channel.sink.received
                channels.append(_channel_burst(channel, burst, BURST))
                handed.append(channel.sink.received - before)
            finally:
                channel.close()
                burst.close()
        growth_mb, sent, memory_seconds = _memory_growth(url)
    ms = 1e3
    ratios = [
        c.rate() / p.rate() if p.rate() else 0.0
        for p, c in zip(plains, channels, strict=True)
    ]
    ratio = _median(ratios)
    plain_count = sum(p.count for p in plains)
    channel_count = sum(c.count for c in channels)
    pairs = ", ".join(
        f"{c.count}/{p.count}" for p, c in zip(plains, channels, strict=True)
    )
    plain_latencies = [x for p in plains for x in p.latencies]
    channel_latencies = [x for c in channels for x in c.latencies]
    return [
        Figure(
            "tango: plain PyTango callback, events received",
            plain_count,
            "events",
            note=f"reference, of {ROUNDS} x {BURST} pushed",
        ),
        Figure(
            "tango: plain PyTango callback, rate (median round)",
            _median([p.rate() for p in plains]),
            "events/s",
            note="reference; rounds: " + ", ".join(f"{p.rate():.0f}" for p in plains),
        ),
        Figure(
            "tango: plain PyTango callback, push->callback p50",
            percentile(plain_latencies, 0.5) * ms,
            "ms",
            note="reference",
        ),
        Figure(
            "tango: plain PyTango callback, push->callback p99",
            percentile(plain_latencies, 0.99) * ms,
            "ms",
            note="reference",
        ),
        at_least(
            "tango: channel, events at update receivers",
            channel_count,
            "events",
            plain_count,
            f"target: as many as the plain callback; channel/plain per round: "
            f"{pairs}; Tango handed the channel {sum(handed)}; in order: "
            f"{all(c.in_order for c in channels)}",
        ),
        at_least(
            "tango: channel rate / plain callback rate (median round)",
            ratio,
            "x",
            0.8,
            f"channel {_median([c.rate() for c in channels]):.0f} events/s; rounds: "
            + ", ".join(f"{r:.2f}" for r in ratios)
            + "; mxCuBE measured ~7,300/s vs ~50,000/s plain",
        ),
        Figure(
            "tango: channel, push->hub receiver p50",
            percentile(channel_latencies, 0.5) * ms,
            "ms",
            note="mxCuBE: 610 ms; plain PyTango 36 ms (issue figures)",
        ),
        Figure(
            "tango: channel, push->hub receiver p99",
            percentile(channel_latencies, 0.99) * ms,
            "ms",
        ),
        at_most(
            "tango: memory growth over channel events",
            growth_mb,
            "MB",
            10,
            f"{sent:,} events in {memory_seconds:.0f} s",
        ),
    ]
