"""Qt loop figures: idle CPU, thread->hub, thread->Qt slot, QTimer and gevent timers.

Offscreen, in the fresh process ``python -m benchmarks qtloop`` gives each
module. Everything runs inside ``app.exec_()`` with :func:`qtloop.install`, one
greenlet sleeping for a long time (as an application waiting for hardware).
The "mxCuBE's way" figures in the notes were measured on this kind of machine
with mxcubeqt's ``QTimer(0)`` -> ``gevent.wait(timeout=0.01)`` (issue 4).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

import gevent
from qtpy import QtCore, QtWidgets

from benchmarks._report import Figure, at_most, percentile
from HardwareRepository import qtloop
from HardwareRepository.bridge import get_bridge, native

SAMPLES = 2000
IDLE_SECONDS = 3.0


class _Receiver(QtCore.QObject):
    signal = QtCore.Signal(float)


def _in_exec(app: QtWidgets.QApplication, body: Callable[[], None]) -> None:
    """Run ``body`` in a greenlet while ``app.exec_()`` runs; quit after it."""

    def wrapper() -> None:
        try:
            body()
        finally:
            app.quit()

    QtCore.QTimer.singleShot(0, lambda: gevent.spawn(wrapper))
    app.exec_()


def _idle_cpu(app: QtWidgets.QApplication) -> float:
    result = {}

    def body() -> None:
        gevent.sleep(0.2)
        cpu, wall = time.process_time(), time.perf_counter()
        gevent.sleep(IDLE_SECONDS)
        result["cpu"] = (time.process_time() - cpu) / (time.perf_counter() - wall)

    _in_exec(app, body)
    return result["cpu"] * 100


def _from_thread(app: QtWidgets.QApplication, deliver, setup=None) -> list[float]:
    """Latency of ``deliver(t0)`` from a native thread; its receiver acks."""
    samples: list[float] = []
    ack = native.allocate_lock()
    ack.acquire()
    done = native.allocate_lock()
    done.acquire()

    def arrived(t0: float) -> None:
        samples.append(time.perf_counter() - t0)
        ack.release()

    send = deliver(arrived)

    def producer() -> None:
        for _ in range(SAMPLES):
            native.sleep(0.0002)  # let the GUI thread go back to sleep
            send(time.perf_counter())
            ack.acquire()
        done.release()

    def body() -> None:
        threading.Thread(target=producer).start()
        while not done.acquire(blocking=False):
            gevent.sleep(0.05)

    _in_exec(app, body)
    return samples


def _qtimer_lateness(app: QtWidgets.QApplication) -> list[float]:
    samples: list[float] = []
    timer = QtCore.QTimer()
    timer.setSingleShot(True)
    timer.setInterval(1)
    started = [0.0]

    def fired() -> None:
        samples.append(time.perf_counter() - started[0] - 0.001)
        if len(samples) == SAMPLES // 2:
            app.quit()
            return
        started[0] = time.perf_counter()
        timer.start()

    timer.timeout.connect(fired)

    def first() -> None:
        started[0] = time.perf_counter()
        timer.start()

    QtCore.QTimer.singleShot(0, first)
    app.exec_()
    return samples


def _gevent_sleep_lateness(app: QtWidgets.QApplication) -> list[float]:
    samples: list[float] = []

    def body() -> None:
        for _ in range(SAMPLES // 2):
            t0 = time.perf_counter()
            gevent.sleep(0.001)
            samples.append(time.perf_counter() - t0 - 0.001)

    _in_exec(app, body)
    return samples


def run() -> list[Figure]:
    """Measure and return the Qt loop figures."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    qtloop.install(app)
    sleeper = gevent.spawn(gevent.sleep, 3600)
    bridge = get_bridge()
    receiver = _Receiver()

    def via_bridge(arrived):
        return lambda t0: bridge.post(arrived, t0)

    def via_signal(arrived):
        receiver.signal.connect(arrived, QtCore.Qt.QueuedConnection)
        return receiver.signal.emit

    idle = _idle_cpu(app)
    to_hub = _from_thread(app, via_bridge)
    to_slot = _from_thread(app, via_signal)
    qtimer = _qtimer_lateness(app)
    gsleep = _gevent_sleep_lateness(app)
    sleeper.kill()
    qtloop.uninstall()
    ms = 1e3
    return [
        at_most(
            "qtloop: idle CPU, one sleeping greenlet",
            idle,
            "%",
            0.2,
            "mxCuBE's way: 1.1 % (~100 % with an idle hub)",
        ),
        at_most(
            "qtloop: foreign thread -> gevent callback p99",
            percentile(to_hub, 0.99) * ms,
            "ms",
            0.3,
            f"p50 {percentile(to_hub, 0.5) * ms:.3f} ms; mxCuBE's way: 0.10 ms",
        ),
        at_most(
            "qtloop: foreign thread -> Qt slot (queued signal) p99",
            percentile(to_slot, 0.99) * ms,
            "ms",
            0.2,
            f"p50 {percentile(to_slot, 0.5) * ms:.3f} ms; mxCuBE's way: 10.2 ms",
        ),
        at_most(
            "qtloop: 1 ms QTimer lateness p99",
            percentile(qtimer, 0.99) * ms,
            "ms",
            1.0,
            f"p50 {percentile(qtimer, 0.5) * ms:.3f} ms; mxCuBE's way: 20.1 ms",
        ),
        at_most(
            "qtloop: gevent.sleep(0.001) lateness p99",
            percentile(gsleep, 0.99) * ms,
            "ms",
            0.5,
            f"p50 {percentile(gsleep, 0.5) * ms:.3f} ms; mxCuBE's way: 0.37 ms",
        ),
    ]
