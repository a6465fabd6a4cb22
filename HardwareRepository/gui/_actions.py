"""Run what a button asks for in its own greenlet, so the GUI never blocks."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import gevent
from qtpy import QtCore

__all__ = ["ActionRunner"]

log = logging.getLogger("HardwareRepository.gui")


class ActionRunner(QtCore.QObject):
    """Start hardware calls (move, stop, open...) in greenlets and report failures.

    A button's slot calls :meth:`run` and returns at once; the call runs in a
    new greenlet of the GUI thread's hub (the Qt thread after
    ``qtloop.install``), so it may wait cooperatively without freezing the
    window. An exception is logged with its traceback on the
    ``HardwareRepository.gui`` logger and announced with :attr:`failed`; it
    never reaches Qt.

    .. important:: GUI (hub) thread only.

    Signals: ``failed(message)`` -- "<what> failed: <error>", emitted in the
    GUI thread; ``finished(what)`` after a call returned normally.
    """

    failed = QtCore.Signal(str)
    finished = QtCore.Signal(str)

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._running: set[gevent.Greenlet] = set()

    def run(self, what: str, func: Callable[..., Any], *args: Any) -> gevent.Greenlet:
        """Call ``func(*args)`` in a new greenlet; return the greenlet.

        :param what: a short description for messages ("move Phi to 10").
        """
        greenlet = gevent.spawn(self._call, what, func, args)
        self._running.add(greenlet)
        greenlet.link(self._running.discard)
        return greenlet

    def _call(self, what: str, func: Callable[..., Any], args: tuple[Any, ...]) -> None:
        try:
            func(*args)
        except Exception as exc:
            log.exception("%s failed", what)
            self.failed.emit(f"{what} failed: {_one_line(exc)}")
        else:
            self.finished.emit(what)

    @property
    def running(self) -> int:
        """The number of calls still running."""
        return len(self._running)

    def stop(self, timeout: float = 2.0) -> None:
        """Kill the calls still running (window closing); wait ``timeout`` s at most.

        A killed call is not reported as failed. Idempotent.
        """
        if self._running:
            gevent.killall(list(self._running), block=True, timeout=timeout)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    first = text.splitlines()[0]
    return f"{type(exc).__name__}: {first}"
