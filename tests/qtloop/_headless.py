"""Run HardwareRepository with Qt unimportable: ``python _headless.py``."""

from __future__ import annotations

import importlib.abc
import sys
import threading

BLOCKED = ("qtpy", "PyQt5", "PyQt6", "PySide2", "PySide6")


class _NoQt(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is blocked for this test (no Qt installed)")
        return None


sys.meta_path.insert(0, _NoQt())

import HardwareRepository  # noqa: E402
from HardwareRepository.bridge import Event, HubTrigger, get_bridge  # noqa: E402

done = Event()
trigger = HubTrigger(done.set)
get_bridge()
threading.Thread(target=trigger.send).start()
assert done.wait(10), "HubTrigger did not run without Qt"
trigger.close()
try:
    import HardwareRepository.qtloop  # noqa: F401 (the import itself is tested)
except ImportError as exc:
    print("qtloop:", exc)
else:
    raise AssertionError("HardwareRepository.qtloop imported without Qt")
qt_modules = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
print("qt modules:", qt_modules)
print("version", HardwareRepository.__version__)
