"""Run a script in a fresh process patched the way applications patch gevent.

The package must work in an application that monkey-patched nothing, one that
called ``gevent.monkey.patch_all(thread=False)`` (the mxCuBE habit) and one
that patched everything. A test runs its script once per mode with
:func:`run_patched`; the script calls :func:`patch_as` before anything else.
"""

from __future__ import annotations

import pathlib
import subprocess
import sys

__all__ = ["PATCH_MODES", "patch_as", "run_patched"]

#: ``none``: nothing patched; ``no-thread``: ``patch_all(thread=False)``;
#: ``all``: ``patch_all()``.
PATCH_MODES = ("none", "no-thread", "all")


def patch_as(mode: str) -> None:
    """Monkey-patch the current process as ``mode`` says; call it first thing.

    :raises ValueError: ``mode`` is not one of :data:`PATCH_MODES`.
    """
    import gevent.monkey

    if mode == "no-thread":
        gevent.monkey.patch_all(thread=False)
    elif mode == "all":
        gevent.monkey.patch_all()
    elif mode != "none":
        raise ValueError(f"patch mode {mode!r} is not one of {PATCH_MODES}")


def run_patched(
    script: pathlib.Path, mode: str, timeout: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """Run ``python SCRIPT MODE`` and return the finished process (output as text).

    :raises subprocess.TimeoutExpired: it ran longer than ``timeout`` seconds.
    """
    return subprocess.run(
        [sys.executable, str(script), mode],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
