"""The pre-2020 package path of the hardware-object classes.

Code written for the ``HardwareRepository`` package of 2012-2019 imports
``HardwareRepository.HardwareObjects.<Name>`` and
``HardwareRepository.HardwareObjects.abstract.<Name>``. Importing this package
puts a finder on ``sys.meta_path`` that answers, for those names only, with
the same module objects as:

1. ``HardwareObjects.<Name>`` -- this package's classes (``TangoMotor``...);
2. else ``mxcubecore.HardwareObjects.<Name>`` -- the installed mxcubecore's
   library (``abstract.AbstractMotor``, the mockups...), once
   :func:`HardwareRepository.compat.mxcubecore.install` was called.

A name found in neither fails with a message saying where it looked.
"""

from __future__ import annotations

import sys

from .._aliases import AliasFinder, module_exists

__all__: list[str] = []

_PREFIX = __name__


def _resolve(rest: str) -> str:
    own = f"HardwareObjects.{rest}"
    if module_exists(own):
        return own
    compat = sys.modules.get("HardwareRepository.compat.mxcubecore")
    library = f"mxcubecore.HardwareObjects.{rest}"
    if compat is not None and compat.installed() and module_exists(library):
        return library
    hint = (
        ""
        if compat is not None and compat.installed()
        else "; for mxcubecore's classes call "
        "HardwareRepository.compat.mxcubecore.install() first"
    )
    raise ModuleNotFoundError(
        f"{_PREFIX}.{rest}: neither {own} nor {library} exists{hint}",
        name=f"{_PREFIX}.{rest}",
    )


AliasFinder(_PREFIX, _resolve).install()
