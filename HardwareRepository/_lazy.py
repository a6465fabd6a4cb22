"""Names a package exports but imports only when first asked for (PEP 562).

A package whose ``__init__`` re-exports modules that most importers never use
binds its module ``__getattr__`` to :func:`lazy_exports` and imports the same
names under ``if TYPE_CHECKING:`` for type checkers and linters::

    if TYPE_CHECKING:
        from ._sink import HubSink
    else:
        __getattr__ = lazy_exports(__name__, {"HubSink": "._sink"})

``from package import HubSink`` and ``package.HubSink`` keep working; the
module defining the name is imported by the first of them.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, origins: Mapping[str, str]) -> Callable[[str], Any]:
    """Return a module ``__getattr__`` that imports each exported name on first use.

    Safe from any thread (the import system serialises the imports; a name
    fetched twice concurrently is the same object).

    Args:
        package: the package's ``__name__``; relative module names in
            ``origins`` are resolved against it.
        origins: exported name -> module defining it (``"._sink"``,
            ``"..policies"``).

    Returns:
        The ``__getattr__`` to bind in the package; it stores each name it
        imports in the package, so later lookups do not call it again.
    """

    def module_getattr(name: str) -> Any:
        origin = origins.get(name)
        if origin is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(origin, package), name)
        setattr(sys.modules[package], name, value)
        return value

    return module_getattr
