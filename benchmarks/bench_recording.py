"""Recorder figures: 100 channels x 100 Hz for 30 s, parallel then concurrent.

A producer thread plays the control system: every 10 ms it hands a new value
to each of 100 channels with ``update_threadsafe`` (as Tango's event threads
do); the hub applies them and the channels emit ``update``, which the
recorder queues. A ticker greenlet in the same hub sleeps 1 ms at a time and
records how late it wakes up: the hub's responsiveness while recording.

Figures per mode: samples written vs. received by the recorder (target: all),
values the channels coalesced before the recorder saw them (reference), hub
ticker max gap (target <= 5 ms; beside it the same load's gap without a
recorder), write rate, CPU (% of one core, whole process), file size, and the
machine's load average (the figures mean little on a loaded machine).

Reference, measured in the same run: a plain h5py writer that appends each
sample as it comes (resize and write one row per value), on 100 datasets, for
the same number of samples as one second of the load: its rate is what a
recorder without batching would reach.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time

import gevent
import h5py
import numpy

from benchmarks._report import Figure, at_least, at_most
from HardwareRepository.bridge import get_bridge
from HardwareRepository.CommandContainer import ChannelObject
from HardwareRepository.recording import ChannelRecorder

CHANNELS = 100
RATE_HZ = 100.0
DURATION = float(os.environ.get("HWR_BENCH_RECORDING_SECONDS", "30"))
TICK = 0.001


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


class _Producer:
    """A native thread updating every channel at ``RATE_HZ``."""

    def __init__(self, channels: list[ChannelObject]) -> None:
        self.channels = channels
        self.produced = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-producer")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        period = 1.0 / RATE_HZ
        next_at = time.monotonic()
        i = 0
        while not self._stop.is_set():
            for channel in self.channels:
                channel.update_threadsafe(float(i))
            self.produced += len(self.channels)
            i += 1
            next_at += period
            delay = next_at - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)


def _ticker(gaps: list[float], stop: list[bool]) -> None:
    last = time.perf_counter()
    while not stop[0]:
        gevent.sleep(TICK)
        now = time.perf_counter()
        gaps.append(now - last - TICK)
        last = now


def _channels() -> list[ChannelObject]:
    get_bridge()
    channels = [ChannelObject(f"ch{i:03d}") for i in range(CHANNELS)]
    for channel in channels:
        channel.set_connected(True)
    return channels


def _baseline_gap() -> float:
    """Return the ticker's max gap (ms) under the same load, without a recorder."""
    channels = _channels()
    gaps: list[float] = []
    stop = [False]
    ticker = gevent.spawn(_ticker, gaps, stop)
    producer = _Producer(channels)
    producer.start()
    gevent.sleep(DURATION)
    producer.stop()
    stop[0] = True
    ticker.join()
    return max(gaps) * 1e3


def _record(mode: str, directory: str) -> dict[str, float]:
    channels = _channels()
    path = os.path.join(directory, f"bench-{mode}.h5")
    recorder = ChannelRecorder(
        [(f"/bench.ch{i:03d}", channel) for i, channel in enumerate(channels)],
        path,
        mode,  # type: ignore[arg-type]
        min_free_bytes=0,
    )
    recorder.start()
    gaps: list[float] = []
    stop = [False]
    ticker = gevent.spawn(_ticker, gaps, stop)
    producer = _Producer(channels)
    cpu0, wall0 = _cpu(), time.monotonic()
    producer.start()
    gevent.sleep(DURATION)
    producer.stop()
    gevent.sleep(0.2)  # let the hub apply the last hand-overs
    stop[0] = True  # the gap is measured while recording, not while closing
    ticker.join()
    recorder.stop(wait=True, timeout=120)
    wall = time.monotonic() - wall0
    cpu = _cpu() - cpu0
    info = recorder.info()
    written = sum(c["written"] for c in info["channels"].values())
    with h5py.File(path, "r") as f:
        in_file = sum(
            f[f"entry/logs/bench.ch{i:03d}/value"].shape[0] for i in range(CHANNELS)
        )
    size = os.path.getsize(path)
    os.remove(path)
    return {
        "produced": producer.produced,
        "received": info["received"] - CHANNELS,  # minus one connection event each
        "dropped": info["dropped"],
        "written": written,
        "in_file": in_file,
        "max_gap_ms": max(gaps) * 1e3,
        "rate": written / DURATION,
        "cpu": 100.0 * cpu / wall,
        "size_mb": size / 1e6,
        "state_ok": float(info["state"] == "OFF"),
        "load": os.getloadavg()[0],
    }


def _naive_writer_rate(directory: str) -> float:
    samples = int(CHANNELS * RATE_HZ)
    path = os.path.join(directory, "naive.h5")
    with h5py.File(path, "w") as f:
        datasets = [
            f.create_dataset(
                f"ch{i}", (0,), maxshape=(None,), dtype="f8", chunks=(1024,)
            )
            for i in range(CHANNELS)
        ]
        start = time.perf_counter()
        for n in range(samples):
            dataset = datasets[n % CHANNELS]
            size = dataset.shape[0]
            dataset.resize((size + 1,))
            dataset[size] = numpy.float64(n)
        elapsed = time.perf_counter() - start
    os.remove(path)
    return samples / elapsed


def run() -> list[Figure]:
    """Measure both modes and the plain-h5py reference."""
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="hwr-bench-recording-") as directory:
        naive = _naive_writer_rate(directory)
        baseline = _baseline_gap()
        load = CHANNELS * RATE_HZ
        for mode in ("parallel", "concurrent"):
            r = _record(mode, directory)
            name = f"recording {mode}: {CHANNELS} ch x {RATE_HZ:g} Hz x {DURATION:g} s"
            figures += [
                at_least(
                    f"{name}: written / received",
                    100.0 * r["written"] / max(1, r["received"]),
                    "%",
                    100.0,
                    f"{r['written']:.0f} of {r['received']:.0f}; in file "
                    f"{r['in_file']:.0f}; queue drops {r['dropped']:.0f}",
                ),
                Figure(
                    f"{name}: coalesced before the recorder",
                    100.0 * (1 - r["received"] / max(1, r["produced"])),
                    "%",
                    note=f"{r['produced']:.0f} values produced by the thread",
                ),
                at_most(
                    f"{name}: hub ticker max gap",
                    r["max_gap_ms"],
                    "ms",
                    5.0,
                    f"same load without a recorder: {baseline:.1f} ms",
                ),
                Figure(
                    f"{name}: write rate",
                    r["rate"],
                    "samples/s",
                    note=f"load {load:.0f}/s; plain h5py append per sample, "
                    f"same run: {naive:.0f} samples/s",
                ),
                Figure(
                    f"{name}: CPU", r["cpu"], "%", note="whole process, one core = 100"
                ),
                Figure(f"{name}: file size", r["size_mb"], "MB"),
                Figure(
                    f"{name}: machine load average",
                    r["load"],
                    "",
                    note=f"{os.cpu_count()} cores; other processes compete",
                ),
            ]
    return figures
