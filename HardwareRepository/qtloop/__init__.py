"""One Qt event loop that also runs gevent: event-driven, no polling timer.

The three lines a GUI needs::

    app = QApplication(sys.argv)
    HardwareRepository.qtloop.install(app)   # before any greenlet runs
    app.exec_()

After ``install``, greenlets (hardware objects) and Qt widgets live in the same
thread and call each other directly: slots may call code that waits
cooperatively (``gevent.sleep``, hardware-object calls), greenlets may touch
widgets, modal dialogs do not stop greenlets, and foreign threads reach the
GUI thread through :mod:`HardwareRepository.bridge` or Qt queued signals with
no polling delay. See ``docs/qtloop.md`` for the rules.

Importing this module imports Qt (through qtpy); nothing else in the package
imports it.
"""

from ._hub import QtHub
from ._install import install, installed_hub, uninstall

__all__ = ["QtHub", "install", "installed_hub", "uninstall"]
