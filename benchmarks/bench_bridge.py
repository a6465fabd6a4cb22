"""Bridge figures: thread->hub latency, posts per second, Launcher round trip.

The hub is idle between samples (the main greenlet waits on a bridge Event),
as it is in an application waiting for hardware.
"""

from __future__ import annotations

import time

from benchmarks._report import Figure, at_least, at_most, percentile
from HardwareRepository.bridge import Event, Launcher, get_bridge, native

SAMPLES = 3000
POSTS = 1_000_000


def _run_in_thread(func) -> None:
    """Run ``func`` in a native thread while the main greenlet runs the hub."""
    done = Event()

    def body() -> None:
        try:
            func()
        finally:
            done.send()

    native.start_new_thread(body, ())
    done.wait()


def _latency() -> list[float]:
    bridge = get_bridge()
    samples: list[float] = []
    ack = native.allocate_lock()
    ack.acquire()

    def arrived(t0: float) -> None:
        samples.append(time.perf_counter() - t0)
        ack.release()

    def producer() -> None:
        for _ in range(SAMPLES):
            native.sleep(0.0002)  # let the hub go idle again
            bridge.post(arrived, time.perf_counter())
            ack.acquire()

    _run_in_thread(producer)
    return samples


def _throughput() -> tuple[float, float]:
    bridge = get_bridge()
    count = [0]
    all_in = Event()

    def one() -> None:
        count[0] += 1
        if count[0] == POSTS:
            all_in.send()

    elapsed = [0.0]

    def producer() -> None:
        post = bridge.post
        t0 = time.perf_counter()
        for _ in range(POSTS):
            post(one)
        elapsed[0] = time.perf_counter() - t0

    t0 = time.perf_counter()
    _run_in_thread(producer)
    all_in.wait(60)
    delivered = time.perf_counter() - t0
    return POSTS / elapsed[0], POSTS / delivered


def _round_trip() -> list[float]:
    launcher = Launcher()
    samples: list[float] = []

    def producer() -> None:
        for _ in range(SAMPLES):
            t0 = time.perf_counter()
            launcher.apply(int)
            samples.append(time.perf_counter() - t0)
            native.sleep(0.0002)

    _run_in_thread(producer)
    return samples


def run() -> list[Figure]:
    """Measure and return the bridge figures."""
    latency = _latency()
    posted, delivered = _throughput()
    trip = _round_trip()
    us = 1e6
    return [
        at_most(
            "bridge: thread->hub latency p50, idle hub",
            percentile(latency, 0.5) * us,
            "us",
            30,
            "bare async watcher + deque: 20-29 us",
        ),
        at_most(
            "bridge: thread->hub latency p99, idle hub",
            percentile(latency, 0.99) * us,
            "us",
            100,
        ),
        at_least(
            "bridge: posts/s from one thread (coalesced wake-ups)",
            posted,
            "posts/s",
            1_000_000,
            "PyTango gevent executor: 18-24 k/s",
        ),
        Figure(
            "bridge: posts/s posted and run in the hub (end to end)",
            delivered,
            "posts/s",
            note="for information",
        ),
        at_most(
            "bridge: Launcher.apply round trip from a thread p50",
            percentile(trip, 0.5) * us,
            "us",
            80,
            "PyTango execute: 50-53 us",
        ),
    ]
