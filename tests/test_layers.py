"""The architecture's layers hold: the core imports no GUI and no control system.

Each check runs in a fresh interpreter, so what another test imported does not
count.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

FORBIDDEN_IN_CORE = (
    "PyQt5",
    "qtpy",
    "tango",
    "HardwareRepository.qtloop",
    "HardwareRepository.gui",
    "HardwareRepository.testing",
)


def imported_after(statement: str) -> set[str]:
    """Return the modules loaded by a fresh interpreter running ``statement``."""
    code = f"{statement}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return set(json.loads(proc.stdout.splitlines()[-1]))


def offenders(modules: set[str], forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        m for m in modules for f in forbidden if m == f or m.startswith(f + ".")
    )


@pytest.mark.parametrize(
    "statement",
    [
        "import HardwareRepository",
        "import HardwareRepository.bridge",
        "import HardwareRepository.Poller",
        "import HardwareRepository.toolkit",
        "import HardwareRepository.HardwareRepository",
        "import HardwareRepository.Command.Sim",
    ],
)
def test_core_modules_import_no_gui_and_no_control_system(statement):
    assert offenders(imported_after(statement), FORBIDDEN_IN_CORE) == []


def test_loading_sim_objects_imports_no_gui_and_no_control_system():
    statement = (
        "from HardwareRepository.HardwareRepository import init_hardware_repository\n"
        "repo = init_hardware_repository('configuration/example')\n"
        "repo.load_all()\n"
        "repo.shutdown()"
    )
    modules = imported_after(statement)
    assert offenders(modules, ("PyQt5", "qtpy", "HardwareRepository.gui")) == []


def test_the_tango_backend_does_not_import_the_gui():
    modules = imported_after("import HardwareRepository.Command.Tango")
    assert offenders(modules, ("PyQt5", "qtpy", "HardwareRepository.gui")) == []
