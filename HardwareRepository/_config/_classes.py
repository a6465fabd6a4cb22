"""Find the class named by ``class=``: ``"TangoMotor"`` or ``"pkg.mod.Class"``.

Search order for a name ``N`` (dotted or not):

1. the extra directories (API order, then ``CUSTOM_HARDWARE_OBJECTS_PATH``),
   which are put at the front of ``sys.path`` as mxCuBE does, so a module there
   shadows a built-in one and can import its siblings by plain name;
2. the package ``HardwareObjects`` (``HardwareObjects.N``);
3. ``N`` anywhere on ``sys.path``.

For each place, ``N`` is first tried as a module holding a class with the
module's last name (mxCuBE: ``class="ESRF.ESRFEnergy"`` is
``ESRF/ESRFEnergy.py: class ESRFEnergy``), then as ``module.Class``.

A module that is found but fails to import (a missing optional dependency, a
syntax error) is reported as such, with the original exception as cause,
instead of "not found".
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

from ..errors import ConfigError

__all__ = ["ClassResolver"]


def _module_file_exists(directory: str, dotted: str) -> bool:
    base = os.path.join(directory, *dotted.split("."))
    return os.path.isfile(base + ".py") or os.path.isfile(
        os.path.join(base, "__init__.py")
    )


def _is_not_found(exc: ModuleNotFoundError, module: str) -> bool:
    """Whether ``exc`` says ``module`` itself (or a parent package) is absent."""
    missing = exc.name or ""
    return module == missing or module.startswith(missing + ".")


class ClassResolver:
    """Resolve ``class=`` values to classes, with a cache.

    :param dirs: extra hardware-object directories, searched first.
    """

    def __init__(self, dirs: list[str] | None = None) -> None:
        self.dirs: list[str] = []
        self._cache: dict[str, type] = {}
        self.add_dirs(dirs or [])

    def add_dirs(self, dirs: list[str]) -> None:
        """Add directories searched before the built-in ``HardwareObjects``.

        Earlier directories win; each is inserted at the front of ``sys.path``
        in that order.
        """
        new = [os.path.abspath(d) for d in dirs if d]
        for directory in reversed(new):
            if directory in self.dirs:
                continue
            self.dirs.insert(0, directory)
        for directory in reversed(self.dirs):
            if directory in sys.path:
                sys.path.remove(directory)
            sys.path.insert(0, directory)
        self._cache.clear()

    def forget(self, class_name: str | None = None) -> None:
        """Drop the cached resolution of ``class_name`` (all if ``None``)."""
        if class_name is None:
            self._cache.clear()
        else:
            self._cache.pop(class_name, None)

    def resolve(self, class_name: str) -> type:
        """Return the class for ``class_name``.

        :raises ConfigError: no module, no class in the module, or the module
            failed to import (then ``__cause__`` is the import's exception).
        """
        cls = self._cache.get(class_name)
        if cls is not None:
            return cls
        cls = self._find(class_name)
        self._cache[class_name] = cls
        return cls

    def _candidates(self, name: str) -> list[str]:
        in_custom = any(_module_file_exists(d, name) for d in self.dirs)
        parent = name.rpartition(".")[0]
        in_custom = in_custom or bool(
            parent and any(_module_file_exists(d, parent) for d in self.dirs)
        )
        builtin = f"HardwareObjects.{name}"
        return [name, builtin] if in_custom else [builtin, name]

    def _find(self, class_name: str) -> type:
        if not class_name or any(
            not part.isidentifier() for part in class_name.split(".")
        ):
            raise ConfigError(f"class={class_name!r} is not a dotted Python name")
        last = class_name.rpartition(".")[2]
        tried: list[str] = []
        no_class: list[str] = []
        for base in self._candidates(class_name):
            # base as a module holding class `last`, then base as module.Class
            attempts = [(base, last)]
            parent = base.rpartition(".")[0]
            if parent and parent != "HardwareObjects":
                attempts.append((parent, last))
            for module_name, attr in attempts:
                tried.append(module_name)
                module = self._import(module_name, class_name)
                if module is None:
                    continue
                cls = getattr(module, attr, None)
                if isinstance(cls, type):
                    return cls
                if not hasattr(cls, "__file__"):  # not merely the submodule
                    no_class.append(
                        f"module {module_name} ({getattr(module, '__file__', '?')}) "
                        f"has no class {attr!r}"
                    )
        if no_class:
            raise ConfigError(f"class={class_name!r}: {no_class[0]}")
        searched = ", ".join([*self.dirs, "HardwareObjects", "sys.path"])
        raise ConfigError(
            f"no module for class={class_name!r} (tried {', '.join(tried)}; "
            f"searched {searched})"
        )

    @staticmethod
    def _import(module_name: str, class_name: str) -> Any:
        try:
            return importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if _is_not_found(exc, module_name):
                return None
            raise ConfigError(
                f"importing module {module_name} for class={class_name!r} failed: "
                f"{exc!r}"
            ) from exc
        except Exception as exc:
            raise ConfigError(
                f"importing module {module_name} for class={class_name!r} failed: "
                f"{exc!r}"
            ) from exc
