"""run_gui(): the whole GUI application in one call (for ``hwr gui``/``hwr demo``)."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Sequence

from qtpy import QtCore, QtWidgets

from HardwareRepository import qtloop
from HardwareRepository.HardwareRepository import (
    init_hardware_repository,
    uninit_hardware_repository,
)

from .window import BeamlineWindow

__all__ = ["run_gui"]

log = logging.getLogger("HardwareRepository.gui")


def run_gui(
    config_path: str | os.PathLike[str] | Sequence[str],
    *,
    argv: Sequence[str] | None = None,
    title: str | None = None,
    on_ready: Callable[[BeamlineWindow], None] | None = None,
    duration: float | None = None,
) -> int:
    """Run the beamline window on a configuration until it is closed.

    Creates the ``QApplication`` (or uses the existing one), installs the
    Qt+gevent loop (:func:`HardwareRepository.qtloop.install`), creates the
    process-wide repository on ``config_path`` and loads every object, shows a
    :class:`BeamlineWindow` and runs ``app.exec_()``. Load errors do not stop
    it: they appear in the window's status line (and the log). When the loop
    ends (window closed, ``app.quit()``, Ctrl-C, ``duration``) the window is
    detached, the repository shut down and the loop uninstalled if this call
    installed it.

    Call it from the main thread's top-level code, before anything spawned
    greenlets.

    :param config_path: a configuration directory, or several (the first
        holding a file wins), as for ``init_hardware_repository``.
    :param argv: arguments for ``QApplication``; default ``sys.argv[:1]``.
    :param title: window title; default names the configuration.
    :param on_ready: called with the window once it is shown, in the GUI
        thread (e.g. to print a message, or in tests to drive and quit it).
    :param duration: seconds after which the application quits by itself
        (smoke tests, demos); ``None``: until the window is closed.
    :returns: the exit code of ``app.exec_()`` (0 after a normal close).
    :raises HardwareRepositoryError: the Qt loop cannot be installed (see
        :func:`~HardwareRepository.qtloop.install`).
    """
    app = QtWidgets.QApplication.instance()
    if app is None:
        app = QtWidgets.QApplication(list(argv) if argv is not None else sys.argv[:1])
    installed_here = qtloop.installed_hub() is None
    qtloop.install(app)
    window: BeamlineWindow | None = None
    try:
        repository = init_hardware_repository(config_path)
        repository.load_all()
        kwargs = {} if title is None else {"title": title}
        window = BeamlineWindow.from_repository(repository, **kwargs)
        window.resize(1400, 900)
        window.show()
        if on_ready is not None:
            on_ready(window)
        if duration is not None:
            QtCore.QTimer.singleShot(max(0, int(duration * 1000)), app.quit)
        return int(app.exec_())
    finally:
        if window is not None:
            window.detach()
            window.close()
            window.deleteLater()
        uninit_hardware_repository()
        if installed_here:
            qtloop.uninstall()
