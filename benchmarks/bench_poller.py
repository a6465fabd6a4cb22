"""Poller figures: 1000 pollers at 100 ms for 5 s, and 10 pollers at 1 ms.

Each polled call returns a new value every call (a counter and the moment it
was produced, read in the pool thread), so every call is a delivery. The main
greenlet only waits while the hub runs the callbacks, as in an application.

Reference (mxCuBE's Poller, mxcubecore 2.149, same load, this kind of machine):
1002 OS threads, p99 latency 140 ms, 45 % CPU.
"""

from __future__ import annotations

import os
import time

from benchmarks._report import Figure, at_least, at_most, percentile
from HardwareRepository import Poller
from HardwareRepository.bridge import Event, get_bridge

MANY = 1000
MANY_PERIOD_MS = 100
FAST = 10
FAST_PERIOD_MS = 1
DURATION = 5.0


class _Source:
    """A polled object: each read returns (count, perf_counter at the read)."""

    def __init__(self) -> None:
        self.count = 0

    def read(self) -> tuple[int, float]:
        self.count += 1
        return self.count, time.perf_counter()


def _os_threads() -> int:
    return len(os.listdir("/proc/self/task"))


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def _run_load(n: int, period_ms: float) -> dict[str, float | list[float]]:
    get_bridge()
    sources = [_Source() for _ in range(n)]
    latencies: list[float] = []
    delivered = [0]
    window = [float("inf"), float("inf")]  # values produced in it are counted

    def make_callback():
        def callback(value: tuple[int, float]) -> None:
            now = time.perf_counter()
            if window[0] <= value[1] < window[1]:
                delivered[0] += 1
                latencies.append(now - value[1])

        return callback

    callbacks = [make_callback() for _ in range(n)]
    pollers = [
        Poller.poll(s.read, (), period_ms, cb, None, True)
        for s, cb in zip(sources, callbacks, strict=True)
    ]
    idle = Event()
    idle.wait(1.0)  # warm-up: the pool reaches its working size
    threads_peak = _os_threads()
    cpu0, t0 = _cpu(), time.perf_counter()
    window[:] = [t0, t0 + DURATION]
    while time.perf_counter() < window[1]:
        idle.wait(0.25)
        threads_peak = max(threads_peak, _os_threads())
    elapsed = time.perf_counter() - t0
    cpu = _cpu() - cpu0
    idle.wait(0.5)  # values produced just before the window closed arrive
    for p in pollers:
        p.stop()
    Poller.shutdown()
    return {
        "threads": threads_peak,
        "cpu": 100.0 * cpu / elapsed,
        "delivered": delivered[0],
        "expected": n * DURATION / (period_ms / 1e3),
        "latencies": latencies,
    }


def run() -> list[Figure]:
    """Measure and return the poller figures."""
    many = _run_load(MANY, MANY_PERIOD_MS)
    fast = _run_load(FAST, FAST_PERIOD_MS)
    lat = many["latencies"]
    assert isinstance(lat, list)
    ms = 1e3
    return [
        at_most(
            "poller: OS threads, 1000 pollers at 100 ms",
            many["threads"],
            "threads",
            32,
            "mxCuBE: 1002",
        ),
        at_most(
            "poller: CPU, 1000 pollers at 100 ms",
            many["cpu"],
            "%",
            25,
            "mxCuBE: 45 %; % of one core",
        ),
        at_least(
            "poller: delivered/expected, 1000 pollers at 100 ms",
            100.0 * many["delivered"] / many["expected"],
            "%",
            99,
            f"{many['delivered']:.0f} of {many['expected']:.0f}",
        ),
        at_most(
            "poller: produced->callback latency p50, 1000 at 100 ms",
            percentile(lat, 0.5) * ms if lat else float("inf"),
            "ms",
            5,
        ),
        at_most(
            "poller: produced->callback latency p99, 1000 at 100 ms",
            percentile(lat, 0.99) * ms if lat else float("inf"),
            "ms",
            5,
            "mxCuBE: 140 ms",
        ),
        at_least(
            "poller: delivered/expected, 10 pollers at 1 ms",
            100.0 * fast["delivered"] / fast["expected"],
            "%",
            95,
            f"{fast['delivered']:.0f} of {fast['expected']:.0f}",
        ),
        Figure(
            "poller: CPU, 10 pollers at 1 ms",
            fast["cpu"],
            "%",
            note="no target; % of one core",
        ),
    ]
