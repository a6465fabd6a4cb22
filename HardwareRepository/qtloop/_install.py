"""install() / uninstall(): put a :class:`QtHub` in the GUI thread; Ctrl-C."""

from __future__ import annotations

import logging
import signal
import socket
import threading

import gevent
from greenlet import getcurrent
from qtpy import QtCore

from ..bridge import get_bridge_if_exists
from ..errors import HardwareRepositoryError, InvalidThreadUseError
from . import _gevent_uv as uv
from ._hub import QtHub, current_qthread

__all__ = ["install", "installed_hub", "uninstall"]

log = logging.getLogger("HardwareRepository.qtloop")


class _SigintQuit(QtCore.QObject):
    """Make Ctrl-C quit the Qt event loop promptly (main thread only).

    Python runs signal handlers only between bytecodes, and Qt may sleep in C
    for a long time: a wake-up socket (``signal.set_wakeup_fd``) watched by a
    ``QSocketNotifier`` makes Qt run Python as soon as the signal arrives.
    """

    def __init__(self, app: QtCore.QCoreApplication) -> None:
        super().__init__()
        self._app = app
        self._previous_handler = signal.getsignal(signal.SIGINT)
        self._reader, self._writer = socket.socketpair()
        self._reader.setblocking(False)
        self._writer.setblocking(False)
        self._previous_fd = signal.set_wakeup_fd(
            self._writer.fileno(), warn_on_full_buffer=False
        )
        self._notifier = QtCore.QSocketNotifier(
            self._reader.fileno(),  # type: ignore[arg-type]  # stub: sip.voidptr
            QtCore.QSocketNotifier.Type.Read,
            self,
        )
        self._notifier.activated.connect(self._drain)
        signal.signal(signal.SIGINT, self._on_sigint)

    def _drain(self, *_args: object) -> None:
        try:
            while self._reader.recv(512):
                pass
        except BlockingIOError:
            pass

    def _on_sigint(self, signum: int, frame: object) -> None:
        if current_qthread().loopLevel() > 0:
            log.info("SIGINT: quitting the Qt event loop")
            self._app.quit()
            return
        # No Qt loop is running: behave like Python (KeyboardInterrupt in the
        # main greenlet), but raise it there, not in whatever greenlet or Qt
        # slot happens to run now.
        hub = uv.get_hub_if_exists()
        main = _main_greenlet()
        if hub is None or getcurrent() is main:
            raise KeyboardInterrupt
        hub.loop.run_callback(main.throw, KeyboardInterrupt)

    def close(self) -> None:
        signal.signal(signal.SIGINT, self._previous_handler)
        signal.set_wakeup_fd(self._previous_fd)
        self._notifier.setEnabled(False)
        self._notifier.deleteLater()
        self._reader.close()
        self._writer.close()


def _main_greenlet():
    current = getcurrent()
    while current.parent is not None:
        current = current.parent
    return current


_sigint: _SigintQuit | None = None


def install(app: QtCore.QCoreApplication | None = None) -> QtHub:
    """Make the event loop of ``app`` also run the gevent hub of this thread.

    Call it in the GUI thread, from top-level code (not inside a greenlet),
    after creating the application and before any greenlet runs. Then call
    ``app.exec_()`` as usual. Until then, and whenever ``exec_()`` is not
    running, Qt events are still processed while every greenlet waits.

    * If the thread has no gevent hub yet, a :class:`QtHub` is created.
    * If ``install(app)`` already ran, the same hub is returned.
    * If the thread has a plain gevent hub (anything already used gevent) and
      no greenlet is running, that hub is destroyed and replaced: its
      :class:`~HardwareRepository.bridge.HubBridge` is closed (posting to it
      raises ``BridgeClosedError``; call ``get_bridge()`` again). Objects bound
      to the old hub (greenlets, events, timeouts) must not be used any more.

    In the main thread, Ctrl-C (SIGINT) quits the running Qt event loop
    (``app.quit()``); with no Qt loop running it raises ``KeyboardInterrupt``
    in the main greenlet, as usual. This is only done when SIGINT still has
    Python's default handler.

    :param app: the ``QApplication``/``QCoreApplication``; default: the
        existing instance.
    :returns: the thread's hub (``gevent.get_hub()`` returns it too).
    :raises HardwareRepositoryError: there is no application; or greenlets are
        already running on a plain hub (call ``install()`` earlier); or a hub
        for another application is installed.
    :raises InvalidThreadUseError: called outside the application's thread or
        from inside a greenlet.
    """
    global _sigint
    if app is None:
        app = QtCore.QCoreApplication.instance()
        if app is None:
            raise HardwareRepositoryError(
                "qtloop.install(): create the QApplication before calling it"
            )
    if QtCore.QThread.currentThread() is not app.thread():
        raise InvalidThreadUseError(
            "qtloop.install() must run in the thread of the application"
        )
    if getcurrent().parent is not None:
        raise InvalidThreadUseError(
            "qtloop.install() must be called from top-level code, not from "
            f"inside a greenlet ({getcurrent()!r})"
        )
    hub = uv.get_hub_if_exists()
    if isinstance(hub, QtHub):
        if hub.app is not app:
            raise HardwareRepositoryError(
                f"qtloop.install(): {hub!r} already serves another application"
            )
        return hub
    if hub is not None:
        _replace_plain_hub(hub)
    hub = QtHub(app)
    uv.set_hub(hub)
    hub.prime()
    if threading.current_thread() is threading.main_thread() and (
        signal.getsignal(signal.SIGINT) is signal.default_int_handler
    ):
        _sigint = _SigintQuit(app)
    return hub


def _replace_plain_hub(hub: uv.Hub) -> None:
    running = _running_greenlets()
    if running:
        raise HardwareRepositoryError(
            f"qtloop.install(): {len(running)} greenlet(s) already run on the "
            f"plain gevent hub {hub!r}; call install(app) right after creating "
            "the application, before anything spawns greenlets"
        )
    bridge = get_bridge_if_exists()
    if bridge is not None:
        bridge.close()
    log.info("qtloop.install(): replacing the plain gevent hub %r", hub)
    hub.destroy(destroy_loop=True)


def _running_greenlets() -> list:
    import gc

    from greenlet import greenlet

    main = _main_greenlet()
    return [
        obj
        for obj in gc.get_objects()
        if isinstance(obj, greenlet)
        and obj
        and obj.parent is not None
        and not isinstance(obj, uv.Hub)
        and _main_of(obj) is main
    ]


def _main_of(g):
    while g.parent is not None:
        g = g.parent
    return g


def installed_hub() -> QtHub | None:
    """Return this thread's :class:`QtHub`, or ``None`` if not installed."""
    hub = uv.get_hub_if_exists()
    return hub if isinstance(hub, QtHub) else None


def uninstall() -> None:
    """Destroy this thread's :class:`QtHub`; the next gevent call makes a plain one.

    Call it from top-level code, after ``app.exec_()`` returned and once every
    greenlet has finished. The hub first runs the callbacks already due, then
    its bridge is closed and the hub and its loop are destroyed; greenlets
    still waiting on it never resume. Does nothing if no
    :class:`QtHub` is installed in this thread.

    :raises HardwareRepositoryError: a greenlet is still inside a Qt loop.
    :raises InvalidThreadUseError: called from inside a greenlet.
    """
    global _sigint
    hub = installed_hub()
    if hub is None:
        return
    if getcurrent() is not hub.parent:
        raise InvalidThreadUseError(
            "qtloop.uninstall() must be called from top-level code of the GUI "
            "thread, not from inside a greenlet"
        )
    # Let the hub run what is already due (e.g. a greenlet woken to finish).
    gevent.sleep(0)
    busy = hub.busy_greenlets()
    if busy:
        raise HardwareRepositoryError(
            f"qtloop.uninstall(): {len(busy)} greenlet(s) still run a Qt event "
            f"loop or slot: {busy!r}"
        )
    bridge = get_bridge_if_exists()
    if bridge is not None and bridge.hub is hub:
        bridge.close()
    if _sigint is not None and threading.current_thread() is threading.main_thread():
        _sigint.close()
        _sigint = None
    hub.destroy(destroy_loop=True)
