"""The package's surface: what it exports and what importing it pulls in."""

from __future__ import annotations

import json
import subprocess
import sys

import HardwareRepository.tango as green


def test_exports_are_complete_and_documented():
    for name in green.__all__:
        obj = getattr(green, name)
        assert obj.__doc__, name
    assert green.Timeout.__mro__[1] is TimeoutError
    assert issubclass(green.Timeout, TimeoutError)


def test_importing_it_pulls_in_no_gui():
    code = (
        "import HardwareRepository.tango, json, sys; "
        "print(json.dumps(sorted(sys.modules)))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    modules = json.loads(proc.stdout.splitlines()[-1])
    assert not [m for m in modules if m.split(".")[0] in ("PyQt5", "qtpy")]
    assert "HardwareRepository.gui" not in modules
    assert "HardwareRepository.testing" not in modules
