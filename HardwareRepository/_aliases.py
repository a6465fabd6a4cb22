"""Import one module under a second name, as the same module object.

Used by :mod:`HardwareRepository.compat.mxcubecore` (``mxcubecore.Poller`` is
``HardwareRepository.Poller``) and by the pre-2020 package path
``HardwareRepository.HardwareObjects``. An alias is *the same* module object,
not a copy, so classes keep their identity whichever name imported them.

A finder placed on ``sys.meta_path`` answers only for names under its prefix;
every other import is left to Python.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Callable, Sequence
from types import ModuleType

__all__ = ["AliasFinder", "module_exists"]


class _AliasLoader(importlib.abc.Loader):
    """Give the import system an existing module for an alias name."""

    def __init__(self, target: ModuleType) -> None:
        self._target = target
        self._spec = target.__spec__

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        """Return the target module itself."""
        return self._target

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run; restore the spec the import system overwrote."""
        module.__spec__ = self._spec


class AliasFinder(importlib.abc.MetaPathFinder):
    """Resolve ``<prefix>.<rest>`` by importing what ``resolve(rest)`` names.

    :param prefix: the alias package (``"mxcubecore"``).
    :param resolve: given the dotted rest (``"Command.Tango"``), return the
        real module name to import, or ``None`` to leave the name alone; it
        may raise ``ModuleNotFoundError`` with a message for the user.
    """

    def __init__(self, prefix: str, resolve: Callable[[str], str | None]) -> None:
        self.prefix = prefix
        self._resolve = resolve

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        """Return a spec for an alias under the prefix, else ``None``."""
        del path, target
        if not fullname.startswith(self.prefix + "."):
            return None
        real = self._resolve(fullname[len(self.prefix) + 1 :])
        if real is None:
            return None
        module = importlib.import_module(real)
        spec = importlib.machinery.ModuleSpec(
            fullname,
            _AliasLoader(module),
            is_package=hasattr(module, "__path__"),
        )
        if hasattr(module, "__path__"):
            spec.submodule_search_locations = list(module.__path__)
        return spec

    def install(self) -> None:
        """Put the finder first on ``sys.meta_path`` (once)."""
        if self not in sys.meta_path:
            sys.meta_path.insert(0, self)

    def uninstall(self) -> None:
        """Take the finder off ``sys.meta_path``."""
        while self in sys.meta_path:
            sys.meta_path.remove(self)


def module_exists(name: str) -> bool:
    """Return whether ``name`` can be imported (without importing it).

    Parent packages are imported to look inside them.
    """
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False
