"""The behaviours the Qt loop guarantees, on pytest-qt's offscreen application."""

from __future__ import annotations

import threading
import time

import gevent
import pytest
from qtpy import QtCore, QtWidgets

from HardwareRepository import Poller
from HardwareRepository.bridge import HubTrigger, get_bridge

pytestmark = pytest.mark.qt


class _Ticker:
    """A greenlet that counts 5 ms sleeps, to show greenlets keep running."""

    def __init__(self) -> None:
        self.count = 0
        self.greenlet = gevent.spawn(self._run)

    def _run(self) -> None:
        while True:
            gevent.sleep(0.005)
            self.count += 1

    def wait_for(self, ticks: int) -> None:
        target = self.count + ticks
        while self.count < target:
            gevent.sleep(0.001)

    def stop(self) -> None:
        self.greenlet.kill()


def test_greenlets_run_while_a_dialog_opened_by_the_main_greenlet_is_open(qt_hub, qapp):
    ticker = _Ticker()
    dialog = QtWidgets.QDialog()
    seen_while_open = []

    def close_after_ticks() -> None:
        ticker.wait_for(20)
        seen_while_open.append(ticker.count)
        dialog.accept()

    closer = gevent.spawn(close_after_ticks)
    QtCore.QTimer.singleShot(20_000, dialog.reject)  # watchdog
    result = dialog.exec_()
    ticker.stop()
    closer.join()
    assert result == QtWidgets.QDialog.Accepted
    assert seen_while_open
    assert seen_while_open[0] >= 20


def test_greenlets_run_while_a_dialog_opened_by_another_greenlet_is_open(qt_hub, qapp):
    ticker = _Ticker()
    dialog = QtWidgets.QDialog()

    def close_after_ticks() -> int:
        ticker.wait_for(20)
        # Close it through Qt: the dialog's loop runs in another greenlet
        # (see docs/qtloop.md, "Rules").
        QtCore.QTimer.singleShot(0, dialog.accept)
        return ticker.count

    shown = gevent.spawn(dialog.exec_)
    closer = gevent.spawn(close_after_ticks)
    assert shown.get(timeout=20) == QtWidgets.QDialog.Accepted
    assert closer.get(timeout=20) >= 20
    ticker.stop()


def test_a_slot_that_sleeps_neither_deadlocks_nor_starves(qt_hub, qapp, run_app):
    ticker = _Ticker()
    qt_ticks = []
    repeating = QtCore.QTimer()
    repeating.timeout.connect(lambda: qt_ticks.append(1))
    during_sleep = {}

    def sleeping_slot() -> None:
        greenlets_before, qt_before = ticker.count, len(qt_ticks)
        gevent.sleep(0.3)
        during_sleep["greenlet ticks"] = ticker.count - greenlets_before
        during_sleep["Qt timer ticks"] = len(qt_ticks) - qt_before
        qapp.quit()

    def start() -> None:
        repeating.start(10)
        QtCore.QTimer.singleShot(0, sleeping_slot)

    run_app(start)
    repeating.stop()
    ticker.stop()
    assert during_sleep["greenlet ticks"] >= 5, during_sleep
    assert during_sleep["Qt timer ticks"] >= 3, during_sleep


class _Receiver(QtCore.QObject):
    signal = QtCore.Signal(float)


def test_signals_from_foreign_threads_reach_slots_promptly(qt_hub, qapp, run_app):
    receiver = _Receiver()
    delays: list[float] = []
    gui_thread = threading.get_ident()
    threads_seen = set()

    def slot(sent: float) -> None:
        delays.append(time.perf_counter() - sent)
        threads_seen.add(threading.get_ident())
        if len(delays) == 20:
            qapp.quit()

    receiver.signal.connect(slot)
    sleeper = gevent.spawn(gevent.sleep, 60)  # gevent has a far timer only

    def emit_from_thread() -> None:
        for _ in range(20):
            receiver.signal.emit(time.perf_counter())
            time.sleep(0.005)

    emitter = threading.Thread(target=emit_from_thread)
    run_app(emitter.start)
    emitter.join()
    sleeper.kill()
    assert threads_seen == {gui_thread}
    # Generous: a polling design would show its period here; the precise
    # figure is in benchmarks/bench_qtloop.py.
    assert max(delays) < 0.25, f"slowest delivery {max(delays) * 1e3:.1f} ms"


def test_hub_trigger_sends_from_threads_reach_the_gui_thread(qt_hub, qapp, run_app):
    ran_in = []

    def func() -> None:
        ran_in.append(threading.get_ident())
        qapp.quit()

    trigger = HubTrigger(func)
    assert get_bridge().hub is qt_hub
    sender = threading.Thread(target=trigger.send)
    run_app(sender.start)
    sender.join()
    trigger.close()
    assert ran_in == [threading.get_ident()]


def test_poller_callbacks_reach_the_gui_thread(qt_hub, qapp, run_app):
    values = []
    polled_in = set()
    counter = iter(range(1_000_000))

    def read() -> int:
        polled_in.add(threading.get_ident())
        return next(counter)

    def changed(value: int) -> None:
        values.append((value, threading.get_ident()))
        if len(values) == 3:
            qapp.quit()

    poller = Poller.poll(read, (), 10, value_changed_callback=changed)
    try:
        run_app(lambda: None)
    finally:
        poller.stop()
        assert Poller.shutdown(timeout=10)
    assert [thread for _, thread in values] == [threading.get_ident()] * 3
    assert threading.get_ident() not in polled_in


def test_quit_stops_cleanly_with_no_stray_threads(qt_hub, qapp, run_app):
    threads_before = set(threading.enumerate())
    ticker = _Ticker()

    def start() -> None:
        gevent.spawn_later(0.05, qapp.quit)

    run_app(start)
    assert ticker.count > 0
    ticker.stop()
    assert ticker.greenlet.dead
    assert set(threading.enumerate()) == threads_before


def test_greenlets_and_qt_events_run_before_exec(qt_hub, qapp):
    fired = []
    QtCore.QTimer.singleShot(10, lambda: fired.append("qt"))
    gevent.sleep(0.1)  # the main greenlet waits: Qt events are processed
    assert fired == ["qt"]


def test_idle_hub_wakes_up_rarely(qt_hub, qapp, run_app):
    sleeper = gevent.spawn(gevent.sleep, 60)
    counted = {}

    def start() -> None:
        counted["before"] = qt_hub.wakeups
        QtCore.QTimer.singleShot(1000, finish)

    def finish() -> None:
        counted["after"] = qt_hub.wakeups
        qapp.quit()

    run_app(start)
    sleeper.kill()
    wakeups = counted["after"] - counted["before"]
    # gevent's own signal-check timer wakes libuv every 300 ms; a 10 ms
    # polling timer would give about 100.
    assert wakeups <= 10, f"{wakeups} wake-ups in an idle second"
