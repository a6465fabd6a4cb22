"""A gevent hub whose loop is driven by the Qt event loop of its thread.

How one thread runs both, with no polling:

* the hub runs its libuv loop without blocking until nothing is ready, then
  arms a single-shot precise ``QTimer`` for the next gevent timer and hands the
  thread to Qt;
* a ``QSocketNotifier`` on libuv's backend descriptor (readable when any gevent
  descriptor, including the eventfd behind every async watcher, is ready) and
  that timer call :meth:`QtHub.pump`, which switches to the hub and comes back
  once gevent has nothing ready again;
* Qt's ``aboutToBlock`` calls :meth:`QtHub.pump` too when greenlet code ran
  since the hub last looked (a greenlet spawned from a slot, a timer started),
  so Qt never sleeps on work gevent has not seen.

"Hands the thread to Qt" means: switch to the greenlet most recently parked in
:meth:`~QtHub.pump` (it returns into its own Qt event loop: ``app.exec_()`` in
the main greenlet, or a ``QDialog.exec_()`` in any greenlet); when there is
none, because every greenlet that runs a Qt loop is waiting for gevent (a slot
that called ``gevent.sleep``) or none has started one yet, switch to a *runner*
greenlet that processes Qt events once (blocking) and returns. Qt slots thus
never run in the hub greenlet itself, so they may wait cooperatively.
"""

from __future__ import annotations

import functools
import logging
import sys
from typing import Any

from greenlet import GreenletExit, getcurrent, greenlet
from qtpy import QtCore

from ..errors import HardwareRepositoryError
from . import _gevent_uv as uv

__all__ = ["QtHub"]

log = logging.getLogger("HardwareRepository.qtloop")

# Loop iterations run back to back before Qt gets a turn even if gevent still
# has work (a descriptor that stays ready, a greenlet that re-schedules itself).
_MAX_ITERATIONS = 16


# C-level calls made before entering the hub for the first time (see
# QtHub.prime); each costs roughly half a kilobyte of C stack.
_STACK_GAP_LEVELS = 600


def _noop() -> None:
    return None


def _descend(levels: int, func: Any) -> None:
    if levels <= 0:
        func()
        return
    # Calling through functools.partial (C) makes each level a new C frame;
    # a plain Python call would not consume C stack on CPython >= 3.11.
    functools.partial(_descend, levels - 1, func)()


def current_qthread() -> QtCore.QThread:
    """Return the calling thread's :class:`QThread` (Qt adopts any thread)."""
    thread = QtCore.QThread.currentThread()
    if thread is None:
        raise HardwareRepositoryError("Qt gave no QThread for the calling thread")
    return thread


class _QtSide(QtCore.QObject):
    """The Qt objects of one :class:`QtHub`; they live in the hub's thread."""

    def __init__(self, hub: QtHub, app: QtCore.QCoreApplication) -> None:
        super().__init__()
        self._hub = hub
        dispatcher = QtCore.QAbstractEventDispatcher.instance(app.thread())
        if dispatcher is None:
            raise HardwareRepositoryError(
                f"{app!r} has no event dispatcher in its thread yet"
            )
        self.notifier = QtCore.QSocketNotifier(
            uv.backend_fd(hub.loop),  # type: ignore[arg-type]  # stub: sip.voidptr
            QtCore.QSocketNotifier.Type.Read,
            self,
        )
        self.notifier.activated.connect(self._on_ready)
        self.timer = QtCore.QTimer(self)
        self.timer.setSingleShot(True)  # so Qt detaches it before its slot runs
        self.timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self._on_ready)
        self.dispatcher = dispatcher
        self.dispatcher.aboutToBlock.connect(self._before_block)

    def _on_ready(self, *_args: Any) -> None:
        self._hub.pump()

    def _before_block(self) -> None:
        self._hub.pump_if_needed()

    def close(self) -> None:
        self.dispatcher.aboutToBlock.disconnect(self._before_block)
        self.notifier.setEnabled(False)
        self.timer.stop()
        self.notifier.deleteLater()
        self.timer.deleteLater()


class QtHub(uv.Hub):
    """A gevent hub whose loop runs inside the Qt event loop of its thread.

    Create it with :func:`HardwareRepository.qtloop.install`, not directly.

    .. important:: Everything here belongs to the hub's (the GUI) thread. Other
       threads reach it only through :mod:`HardwareRepository.bridge` or Qt
       queued signals.

    :param app: the application whose event loop drives the hub; it must live
        in the calling thread.
    """

    def __init__(self, app: QtCore.QCoreApplication) -> None:
        super().__init__(loop=uv.EmbeddableLoop(default=False))
        self.app = app
        #: times the hub was woken up by Qt (for tests and diagnostics)
        self.wakeups = 0
        # Greenlets parked in pump() from inside their own Qt event loop; the
        # last one is resumed first (Qt loops nest).
        self._parked: list[greenlet] = []
        self._idle_runners: list[greenlet] = []
        # runner greenlet -> QThread.loopLevel() of its own processEvents()
        self._runner_level: dict[greenlet, int] = {}
        self._waiting = False  # suspended in _hand_to_qt(), timer armed
        self._armed_activity = -1
        self._armed_deadline = -1
        self._closing = False
        self._priming = False
        # Keeps the loop "alive" for libuv, so uv_backend_timeout reports the
        # next timer instead of 0 when only unref'd watchers are active.
        self._keepalive = self.loop.async_(ref=True)
        self._keepalive.start(_noop)
        self._qt = _QtSide(self, app)
        self._thread = current_qthread()

    # -- the hub greenlet ---------------------------------------------------

    def run(self) -> None:
        """Run the loop forever, handing the thread to Qt whenever it is idle."""
        if self._priming:
            self._priming = False
            self.parent.switch()
        uv.run_hub_forever(self, self._round)

    def prime(self) -> None:
        """Start the hub greenlet far below the caller's C stack, and return.

        greenlet runs every greenlet on the thread's one C stack: a greenlet
        started from the hub uses the addresses below the point where the hub
        was first entered, saving and restoring whatever another greenlet had
        there. Qt keeps pointers to objects on the stack of a running event
        loop (the ``QEventLoop`` of ``exec_()``, which ``app.quit()`` and
        ``QDialog.accept()`` reach). Entering the hub for the first time from
        a point ``_STACK_GAP_LEVELS`` C calls deeper than the caller keeps the
        main greenlet's own Qt event loops out of every other greenlet's way.
        Call it once, from top-level code, before anything switches to the hub.
        """
        if self:
            return
        self._priming = True
        levels = max(0, min(_STACK_GAP_LEVELS, sys.getrecursionlimit() - 200))
        _descend(levels, self.switch)

    def _round(self) -> None:
        loop = self.loop
        busy = True
        for _ in range(_MAX_ITERATIONS):
            before = loop.activity
            uv.run_nowait(loop)
            if self._closing:
                # destroy() threw HubDestroyed into a loop callback; gevent's
                # loop swallowed it and stopped: end the hub greenlet.
                raise GreenletExit
            if loop.activity == before and not uv.has_pending_callbacks(loop):
                busy = False
                break
        if QtCore.QCoreApplication.instance() is None:
            # The application is gone: behave like a plain hub.
            uv.run_once_blocking(loop)
            return
        self._arm(0 if busy else uv.next_timeout_ms(loop))
        self._hand_to_qt()
        self.wakeups += 1

    def _arm(self, timeout_ms: int) -> None:
        timer = self._qt.timer
        self._armed_activity = self.loop.activity
        if timeout_ms < 0:
            self._armed_deadline = -1
            timer.stop()
            return
        deadline = int(self.loop.now() * 1000) + timeout_ms
        if timer.isActive() and deadline == self._armed_deadline:
            return
        self._armed_deadline = deadline
        timer.start(timeout_ms)

    def _hand_to_qt(self) -> None:
        self._waiting = True
        try:
            while self._parked:
                parked = self._parked.pop()
                if not parked.dead:
                    parked.switch()
                    return
            if self._idle_runners:
                runner = self._idle_runners.pop()
            else:
                runner = greenlet(self._runner_main, parent=self)
            runner.switch()
        finally:
            self._waiting = False

    # -- runner greenlets ---------------------------------------------------

    def _runner_main(self) -> None:
        me = getcurrent()
        # The PyQt5 stubs type ``flag | flag`` as int, not ProcessEventsFlags.
        flags: Any = (
            QtCore.QEventLoop.ProcessEventsFlag.AllEvents
            | QtCore.QEventLoop.ProcessEventsFlag.WaitForMoreEvents
        )
        while not self._closing:
            self._runner_level[me] = self._thread.loopLevel()
            try:
                self.app.processEvents(flags)
            finally:
                del self._runner_level[me]
            self._idle_runners.append(me)
            self.switch()

    def _at_runner_top(self, current: greenlet) -> bool:
        level = self._runner_level.get(current)
        return level is not None and level == self._thread.loopLevel()

    # -- called from Qt slots, in any greenlet but the hub -------------------

    def pump(self) -> None:
        """Let the hub run until gevent has nothing ready, then return.

        Called by the notifier and the timer, from whatever greenlet runs the
        Qt event loop. A runner at the top of its own ``processEvents`` does
        not switch: it returns to the hub as soon as ``processEvents`` returns.
        """
        current = getcurrent()
        if current is self or self.dead or self._at_runner_top(current):
            return
        self._parked.append(current)
        try:
            self.switch()
        except BaseException:
            # Thrown into a greenlet that is inside a Qt loop (gevent.kill of
            # a greenlet showing a modal dialog): it cannot propagate through
            # Qt's C++ frames.
            log.exception(
                "exception thrown into %r while it runs a Qt event loop; "
                "close its dialog instead of killing it",
                current,
            )
        finally:
            if current in self._parked:
                self._parked.remove(current)

    def pump_if_needed(self) -> None:
        """Pump if Qt is about to block on work gevent has not seen yet."""
        current = getcurrent()
        if current is self or self.dead or self._at_runner_top(current):
            return
        loop = self.loop
        if self._waiting and loop.activity == self._armed_activity:
            timeout = uv.next_timeout_ms(loop)
            if timeout < 0:
                if self._armed_deadline < 0:
                    return
            elif int(loop.now() * 1000) + timeout == self._armed_deadline:
                return
        self.pump()

    # -- shutdown -----------------------------------------------------------

    def busy_greenlets(self) -> list[greenlet]:
        """Greenlets currently inside a Qt event loop or a slot of a runner."""
        busy = [g for g in self._parked if not g.dead]
        busy.extend(
            g for g in self._runner_level if not g.dead and g not in self._parked
        )
        return busy

    def destroy(self, destroy_loop: bool | None = True) -> None:
        """Stop the Qt side, end the idle runners and destroy hub and loop.

        Call it from the greenlet that created the hub (the thread's main
        greenlet), when no greenlet is inside a Qt event loop.

        :raises HardwareRepositoryError: a greenlet is still inside a Qt loop.
        """
        busy = self.busy_greenlets()
        if busy:
            raise HardwareRepositoryError(
                f"cannot destroy {self!r}: {len(busy)} greenlet(s) still run a "
                f"Qt event loop or a slot: {busy!r}"
            )
        self._closing = True
        self._qt.close()
        current = getcurrent()
        while self._idle_runners:
            runner = self._idle_runners.pop()
            runner.parent = current
            runner.throw()
        if self._keepalive is not None:
            self._keepalive.stop()
            self._keepalive.close()
            self._keepalive = None
        super().destroy(destroy_loop=True)
