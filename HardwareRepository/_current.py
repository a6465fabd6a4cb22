"""The process-wide repository, reachable without importing its module.

:mod:`HardwareRepository.HardwareRepository` sets it;
:mod:`HardwareRepository.BaseHardwareObjects` reads it (unpickling an object,
resolving a reference added at run time, reading an object's XML source).
Keeping the reference here, below both, is what keeps those two modules free
of an import cycle.
"""

from __future__ import annotations

from typing import Any

__all__ = ["get_current", "set_current"]

# Written by init/uninit_hardware_repository in the owning thread only.
_current: Any = None


def set_current(repository: Any) -> None:
    """Make ``repository`` (or ``None``) the process-wide repository."""
    global _current
    _current = repository


def get_current() -> Any:
    """Return the process-wide repository, or ``None`` if there is none."""
    return _current
