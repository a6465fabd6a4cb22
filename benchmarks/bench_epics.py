"""EPICS figures: 100 PVs on one caproto IOC updating at 100 Hz each.

A caproto IOC (child process, loopback) increments ``counter0..99`` ``RATE``
times per second each. In the same run and on the same updates, two receivers
count what they get:

* the reference: a plain pyepics monitor callback per PV (``epics.PV`` with
  ``callback=``), run in Channel Access's thread;
* 100 ``EpicsChannel`` objects (``type="epics"``) whose ``update`` receivers
  run in the main thread's gevent hub.

Both count the updates whose IOC timestamp lies in the same ``SECONDS``
window. Figure: the values the channels' receivers got over the values the plain
callbacks got (target >= 0.95), and the hub ticker's longest gap. The note
says how many updates the IOC was asked for: caproto, in Python, may publish
fewer on a loaded machine; the ratio compares the two receivers on the same
updates whatever their number.
"""

from __future__ import annotations

import os
import time

import gevent

from benchmarks._report import Figure, at_least, percentile
from HardwareRepository.bridge import get_bridge
from HardwareRepository.demo.processes import EpicsIocProcess

PVS = 100
RATE = 100.0  # updates per second per PV
SECONDS = 5.0
PREFIX = "HWRBENCH:"
DRAIN = 5.0  # s to let updates stamped before the end arrive


def run() -> list[Figure]:
    get_bridge()
    ioc = EpicsIocProcess(PREFIX, counters=PVS, counter_rate=RATE)
    os.environ.update(ioc.client_environment())
    from HardwareRepository.Command.channel_access import load_pyepics
    from HardwareRepository.CommandContainer import CommandContainer

    ioc.start()
    try:
        epics = load_pyepics()
        plain_counts = [0] * PVS
        window = [float("inf"), float("inf")]  # server time span that counts

        def counts(stamp: float | None) -> bool:
            return stamp is not None and window[0] <= stamp < window[1]

        def plain_callback(index: int):
            def callback(timestamp=None, **_info) -> None:
                if counts(timestamp):
                    plain_counts[index] += 1

            return callback

        plain = [
            epics.PV(
                f"{PREFIX}counter{i}", callback=plain_callback(i), auto_monitor=True
            )
            for i in range(PVS)
        ]
        container = CommandContainer()
        channel_counts = [0] * PVS

        channels = []

        def receiver(index: int):
            def on_update(_value) -> None:
                if counts(channels[index].timestamp):
                    channel_counts[index] += 1

            return on_update

        for index in range(PVS):
            channel = container.add_channel(
                {"type": "epics", "name": f"c{index}"}, f"{PREFIX}counter{index}"
            )
            channels.append(channel)
            channel.connect_signal("update", receiver(index), weak=False)
        deadline = time.monotonic() + 30
        while not all(c.is_connected() for c in channels) or not all(
            p.connected for p in plain
        ):
            if time.monotonic() > deadline:
                raise RuntimeError("the IOC's counters did not connect")
            gevent.sleep(0.05)
        gevent.sleep(0.5)

        gaps: list[float] = []

        def ticker() -> None:
            last = time.monotonic()
            while True:
                gevent.sleep(0.001)
                now = time.monotonic()
                gaps.append(now - last)
                last = now

        tick = gevent.spawn(ticker)
        window[0] = time.time()
        gevent.sleep(SECONDS)
        window[1] = time.time()
        gevent.sleep(DRAIN)  # updates stamped in the window may still be on the way
        tick.kill()
        container.close_commands_and_channels()
        for pv in plain:
            pv.clear_callbacks()
            pv.disconnect()
    finally:
        ioc.close()
    got_plain = sum(plain_counts)
    got_channels = sum(channel_counts)
    if got_plain == 0:
        raise RuntimeError(
            "the IOC published no counter update in the window (overloaded machine?)"
        )
    return [
        at_least(
            "epics: values at 100 channels / plain pyepics callbacks",
            got_channels / max(got_plain, 1),
            "ratio",
            0.95,
            f"{got_channels} vs {got_plain} in {SECONDS:g} s "
            f"(IOC asked for {int(PVS * RATE * SECONDS)})",
        ),
        Figure(
            "epics: hub ticker max gap during the updates",
            max(gaps) * 1000.0,
            "ms",
            note=f"reference figure; p99 {percentile(gaps, 0.99) * 1000:.2f} ms",
        ),
    ]
