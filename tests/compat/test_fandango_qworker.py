"""fandango's QWorker on the package's Qt loop: one item at a time in the GUI."""

from __future__ import annotations

import logging
import queue

import gevent
import pytest
from qtpy import QtCore, QtWidgets

from HardwareRepository.bridge import Event, native
from HardwareRepository.compat.fandango import QWorker

pytestmark = pytest.mark.qt


class Recorder:
    """The method a QWorker calls: records each item, its thread and overlap."""

    def __init__(self, last: int, label: QtWidgets.QLabel | None = None) -> None:
        self.items: list[tuple[int, ...]] = []
        self.threads: set[int] = set()
        self.active = 0
        self.most_active = 0
        self.last = last
        self.label = label
        self.finished = Event()

    def __call__(self, *item: int) -> None:
        self.active += 1
        self.most_active = max(self.most_active, self.active)
        self.threads.add(native.get_ident())
        try:
            gevent.sleep(0.002)  # waits cooperatively; the next item must wait too
            self.items.append(item)
            if self.label is not None:
                self.label.setText(str(item[0]))
        finally:
            self.active -= 1
        if item[0] == self.last:
            self.finished.set()


def test_items_are_processed_one_at_a_time_in_the_gui_thread(qt_hub, qapp):
    label = QtWidgets.QLabel()
    recorder = Recorder(last=49, label=label)
    ticks = []
    timer = QtCore.QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(1)
    worker = QWorker(name="models", method=recorder)
    worker.start()
    try:
        assert worker.isRunning()
        for i in range(50):
            worker.getQueue().put((i, i * i))
        assert recorder.finished.wait(30)
    finally:
        timer.stop()
        assert worker.stop(10)
    assert not worker.isRunning()
    assert recorder.items == [(i, i * i) for i in range(50)]
    assert recorder.threads == {native.get_ident()}
    assert recorder.most_active == 1
    assert label.text() == "49"
    assert worker.getDone() == 1.0
    assert ticks, "Qt timers did not run while items were processed"


def test_without_a_method_the_first_element_is_the_callable(qt_hub, qapp):
    seen = []
    done = Event()
    work: queue.Queue[object] = queue.Queue()
    worker = QWorker(queue=work)
    worker.start()
    try:
        work.put((seen.append, "a"))
        work.put("skipped: strings are not items")
        work.put((lambda x: (seen.append(x), done.set()), "b"))
        assert done.wait(30)
    finally:
        work.put("exit")
        assert worker.wait(10_000)
    assert seen == ["a", "b"]


def test_a_failing_item_is_logged_and_the_next_one_runs(qt_hub, qapp, caplog):
    recorder = Recorder(last=3)

    def method(n: int) -> None:
        if n == 2:
            raise ValueError("item 2 is bad")
        recorder(n)

    worker = QWorker(name="failing", method=method)
    worker.start()
    try:
        with caplog.at_level(
            logging.ERROR, logger="HardwareRepository.compat.fandango"
        ):
            for n in (1, 2, 3):
                worker.queue.put(n)
            assert recorder.finished.wait(30)
    finally:
        worker.stop()
    assert recorder.items == [(1,), (3,)]
    errors = [r for r in caplog.records if "processing" in r.getMessage()]
    assert len(errors) == 1
    assert errors[0].exc_info[0] is ValueError


def test_the_wait_cursor_shows_while_items_are_pending(qt_hub, qapp):
    shapes = []
    done = Event()

    def method(n: int) -> None:
        cursor = QtWidgets.QApplication.overrideCursor()
        shapes.append(None if cursor is None else cursor.shape())
        if n == 2:
            done.set()

    worker = QWorker(method=method, cursor=True)
    worker.start()
    try:
        worker.queue.put(1)
        worker.queue.put(2)
        assert done.wait(30)
    finally:
        worker.stop()
    assert shapes == [QtCore.Qt.CursorShape.WaitCursor] * 2
    assert QtWidgets.QApplication.overrideCursor() is None
