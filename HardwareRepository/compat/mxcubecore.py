"""Run mxcubecore's hardware-object classes, unchanged, on this core.

One opt-in call, made before anything imports ``mxcubecore``::

    from HardwareRepository.compat import mxcubecore
    mxcubecore.install()

    from mxcubecore import HardwareRepository as HWR          # this package's
    from mxcubecore.HardwareObjects.mockup.MotorMockup import MotorMockup
    HWR.init_hardware_repository("/site/config")
    HWR.beamline.energy.set_value(12.4)

What it does to ``sys.modules`` and ``sys.meta_path``:

* ``sys.modules["mxcubecore"]`` becomes a package module made here, whose
  ``__path__`` is the installed mxcubecore's directory. Its ``__init__.py`` is
  *not* run (it would import mxcubecore's own core and install its logging
  handlers); ``mxcubecore.__version__`` is the installed version.
* A finder is put first on ``sys.meta_path`` that makes the core modules
  ``mxcubecore.BaseHardwareObjects``, ``.HardwareRepository``,
  ``.CommandContainer``, ``.Command`` (and ``.Command.*``), ``.Poller``,
  ``.dispatcher`` and ``.TaskUtils`` the *same module objects* as this
  package's ``HardwareRepository.<name>`` (a command type this package lacks,
  such as ``mxcubecore.Command.Spec``, fails to import with a message saying
  so).
* Every other ``mxcubecore.*`` module -- ``HardwareObjects.*`` (the hardware
  object library, abstract classes, mockups), ``model``, ``utils``, ``log``
  -- is imported from the installed mxcubecore as usual, and its imports of
  the core names above get this package.
* Repositories created afterwards use the mxcubecore lookup face (absent
  items give ``None``, reported; see ``docs/mxcube.md``).

It refuses (``RuntimeError``) when mxcubecore's own core is already imported:
the two cores cannot share objects, classes or signals. Calling it again is a
no-op. :func:`uninstall` undoes it (for tests); modules already imported keep
the classes they got.
"""

from __future__ import annotations

import importlib.util
import sys
import types

from .._aliases import AliasFinder, module_exists
from ..HardwareRepository import set_compatible_default

__all__ = ["CORE_MODULES", "install", "installed", "uninstall"]

#: the mxcubecore modules this package provides
CORE_MODULES = (
    "BaseHardwareObjects",
    "HardwareRepository",
    "CommandContainer",
    "Command",
    "Poller",
    "dispatcher",
    "TaskUtils",
)

_PACKAGE = "mxcubecore"


def _resolve(rest: str) -> str | None:
    head = rest.split(".", 1)[0]
    if head not in CORE_MODULES:
        return None
    real = f"HardwareRepository.{rest}"
    if not module_exists(real):
        raise ModuleNotFoundError(
            f"{_PACKAGE}.{rest}: this core (HardwareRepository) has no {rest}",
            name=f"{_PACKAGE}.{rest}",
        )
    return real


_finder = AliasFinder(_PACKAGE, _resolve)
_previous_default: bool | None = None


def installed() -> bool:
    """Return whether :func:`install` is in effect."""
    return _finder in sys.meta_path


def install() -> None:
    """Make ``mxcubecore``'s core modules this package's; see the module docstring.

    :raises RuntimeError: mxcubecore's own core (or its package ``__init__``,
        which imports it) was imported before.
    :raises ModuleNotFoundError: mxcubecore is not installed (``pip install
        --no-deps mxcubecore``).
    """
    global _previous_default
    if installed():
        return
    own = sorted(
        name
        for name, module in sys.modules.items()
        if (name == _PACKAGE or name.startswith(_PACKAGE + "."))
        and module is not None
        and not getattr(module, "__hwr_alias_package__", False)
        and (name == _PACKAGE or name.split(".")[1] in CORE_MODULES)
    )
    if own:
        raise RuntimeError(
            f"mxcubecore's own core is already imported ({', '.join(own[:3])}); "
            "call HardwareRepository.compat.mxcubecore.install() before "
            "anything imports mxcubecore"
        )
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "mxcubecore is not installed: its hardware-object library comes "
            "from it (pip install --no-deps mxcubecore)",
            name=_PACKAGE,
        )
    package = types.ModuleType(
        _PACKAGE, "mxcubecore's hardware objects on HardwareRepository"
    )
    package.__path__ = list(spec.submodule_search_locations)
    package.__file__ = spec.origin
    package.__spec__ = spec
    package.__package__ = _PACKAGE
    package.__hwr_alias_package__ = True  # type: ignore[attr-defined]
    sys.modules[_PACKAGE] = package
    _finder.install()
    try:
        version = importlib.import_module(f"{_PACKAGE}.__version__")
        package.__version__ = getattr(version, "__version__", "")  # type: ignore[attr-defined]
    except ImportError:
        package.__version__ = ""  # type: ignore[attr-defined]
    _previous_default = set_compatible_default(True)


def uninstall() -> None:
    """Undo :func:`install`: drop the finder and every ``mxcubecore`` module."""
    global _previous_default
    if not installed():
        return
    _finder.uninstall()
    for name in [
        n for n in sys.modules if n == _PACKAGE or n.startswith(_PACKAGE + ".")
    ]:
        del sys.modules[name]
    if _previous_default is not None:
        set_compatible_default(_previous_default)
        _previous_default = None
