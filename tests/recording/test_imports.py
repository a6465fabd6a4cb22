"""The recording package imports neither Qt, nor Tango, nor the testing helpers."""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN = (
    "PyQt5",
    "qtpy",
    "tango",
    "HardwareRepository.testing",
    "HardwareRepository.gui",
)


def test_importing_recording_loads_no_gui_no_control_system():
    code = (
        "import HardwareRepository.recording, json, sys\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    modules = json.loads(proc.stdout.splitlines()[-1])
    loaded = [m for m in modules for f in FORBIDDEN if m == f or m.startswith(f + ".")]
    assert loaded == []
    assert "h5py" in modules
