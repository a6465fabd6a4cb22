"""The architecture's layers hold: the core imports no GUI and no control system.

Importing the repository also leaves out what only later use needs, and the
names packages export lazily resolve to the defining modules' objects.

Each check runs in a fresh interpreter, so what another test imported does not
count.
"""

from __future__ import annotations

import importlib
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


# Imported by the first use, not by ``import HardwareRepository.HardwareRepository``
# (benchmarks/bench_repository.py measures what that import costs).
LOADED_ON_FIRST_USE = (
    "HardwareRepository._yaml_loading",  # a YAML file loaded
    "HardwareRepository.dispatcher",  # a sender without signals of its own connected
    "HardwareRepository._polling",  # the first poller, or the shutdown
    "HardwareRepository.bridge._sink",  # an item's first change from another thread
    "HardwareRepository.bridge._thread",  # the first bridge Thread
    "HardwareRepository.policies._health",  # the first backend that reconnects
)


def test_importing_the_repository_leaves_out_what_only_use_needs():
    modules = imported_after("import HardwareRepository.HardwareRepository")
    assert offenders(modules, LOADED_ON_FIRST_USE) == []


@pytest.mark.parametrize(
    ("package", "name", "module"),
    [
        ("HardwareRepository.bridge", "sink_for", "HardwareRepository.bridge._sink"),
        ("HardwareRepository.bridge", "Thread", "HardwareRepository.bridge._thread"),
        (
            "HardwareRepository.policies",
            "ConnectionHealth",
            "HardwareRepository.policies._health",
        ),
    ],
)
def test_a_lazy_name_imports_its_module_on_first_use(package, name, module):
    statement = (
        f"import {package} as package, sys\n"
        f"assert {module!r} not in sys.modules\n"
        f"from {package} import {name}\n"
        f"import {module} as origin\n"
        f"assert {name} is origin.{name} is getattr(package, {name!r})\n"
        f"assert {name!r} in vars(package)  # stored: no second __getattr__ call"
    )
    assert module in imported_after(statement)


@pytest.mark.parametrize(
    "package",
    [
        "HardwareRepository.bridge",
        "HardwareRepository.policies",
    ],
)
def test_every_exported_name_resolves_and_an_unknown_one_is_an_attribute_error(
    package,
):
    module = importlib.import_module(package)
    for name in module.__all__:
        assert hasattr(module, name), name
    with pytest.raises(AttributeError, match=f"{package}' has no attribute 'Nope'"):
        module.Nope  # noqa: B018
