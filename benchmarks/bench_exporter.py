"""Exporter figures: 20 channels on one SIMULATED MD server, 1 kHz events each.

The SIMULATED MD server (child process) pushes ``Counter0..19`` events with
consecutive integers at ``RATE`` per second each for ``SECONDS``. In the same
run two clients receive them:

* the reference: a bare :class:`ExporterClient` listener counting events in
  its I/O thread (no hub);
* 20 ``ExporterChannel`` objects (``type="exporter"``) whose ``update``
  receivers run in the main thread's gevent hub.

Figures: the events the channels delivered against what the server sent
(target: all of them), the channels whose values arrived in order, the longest
gap of a 1 ms hub ticker greenlet (target <= 5 ms; beside it the same ticker's
gaps without events, measured first: what the machine alone costs) and the
process CPU.
"""

from __future__ import annotations

import time

import gevent

from benchmarks._report import Figure, at_least, at_most, percentile
from HardwareRepository.bridge import get_bridge
from HardwareRepository.Command.exporter import ExporterClient, Request
from HardwareRepository.CommandContainer import CommandContainer
from HardwareRepository.demo.processes import MDServerProcess

CHANNELS = 20
RATE = 1000.0  # events per second per channel
SECONDS = 10.0
IDLE = 3.0  # s without events that ends the wait (events were lost)
IDLE_TICKS = 3.0  # s the hub ticker runs without events first (reference)


class _Reference:
    """Count events per property in the client's I/O thread."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def on_events(self, events) -> None:
        for event in events:
            self.counts[event.name] = self.counts.get(event.name, 0) + 1

    def on_connection(self, connected: bool) -> None:
        pass


class _Receiver:
    """One channel's receiver: count, order."""

    def __init__(self) -> None:
        self.count = 0
        self.last = 0
        self.in_order = True
        self.stamp = time.monotonic()

    def __call__(self, value: int) -> None:
        if value == 0:
            return  # the value read at connection
        if value != self.last + 1:
            self.in_order = False
        self.last = value
        self.count += 1
        self.stamp = time.monotonic()


def run() -> list[Figure]:
    get_bridge()
    expected = int(RATE * SECONDS)
    with MDServerProcess(tick=0.05) as server:
        reference = _Reference()
        bare = ExporterClient(server.host, server.port)
        bare.add_listener(reference)
        bare.start()
        container = CommandContainer()
        receivers = []
        for index in range(CHANNELS):
            channel = container.add_channel(
                {
                    "type": "exporter",
                    "name": f"c{index}",
                    "exporter_address": server.address,
                },
                f"Counter{index}",
            )
            receiver = _Receiver()
            channel.connect_signal("update", receiver, weak=False)
            receivers.append(receiver)
        deadline = time.monotonic() + 10
        while not (bare.is_connected() and channel.is_connected()):
            if time.monotonic() > deadline:
                raise RuntimeError("the SIMULATED MD server did not connect")
            gevent.sleep(0.01)
        gevent.sleep(0.3)  # initial reads done

        gaps: list[float] = []

        def ticker() -> None:
            last = time.monotonic()
            while True:
                gevent.sleep(0.001)
                now = time.monotonic()
                gaps.append(now - last)
                last = now

        tick = gevent.spawn(ticker)
        gevent.sleep(IDLE_TICKS)  # the same ticker without events: the reference
        idle_gaps, gaps[:] = list(gaps), []
        cpu0, wall0 = time.process_time(), time.monotonic()
        bare.call(Request.EXEC, "simStartCounters", [CHANNELS, RATE, SECONDS])
        while True:
            gevent.sleep(0.05)
            if all(r.count >= expected for r in receivers):
                break
            if time.monotonic() - max(r.stamp for r in receivers) > IDLE and (
                time.monotonic() - wall0 > SECONDS
            ):
                break
        cpu = (time.process_time() - cpu0) / (time.monotonic() - wall0) * 100.0
        tick.kill()
        container.close_commands_and_channels()
        bare.close()
    sent = expected * CHANNELS
    delivered = sum(r.count for r in receivers)
    plain = sum(reference.counts.get(f"Counter{i}", 0) for i in range(CHANNELS))
    ordered = sum(r.in_order for r in receivers)
    return [
        at_least(
            "exporter: events delivered to 20 channels / sent",
            delivered / sent,
            "ratio",
            1.0,
            f"{delivered} of {sent}; bare client (reference) got {plain}",
        ),
        at_least(
            "exporter: channels whose events arrived in order",
            ordered,
            "channels",
            CHANNELS,
        ),
        at_most(
            "exporter: hub ticker max gap during 20 kHz of events",
            max(gaps) * 1000.0,
            "ms",
            5.0,
            f"p99 {percentile(gaps, 0.99) * 1000:.2f} ms over {len(gaps)} ticks; "
            f"without events: max {max(idle_gaps) * 1000:.2f} ms, "
            f"p99 {percentile(idle_gaps, 0.99) * 1000:.2f} ms",
        ),
        Figure(
            "exporter: client process CPU during the stream",
            cpu,
            "%",
            note="reference figure; one core = 100 %",
        ),
    ]
