"""Whether a Qt window can open here, and if not, why (in one line).

Qt aborts the whole process (SIGABRT, exit 134) when its platform plugin
cannot load: a display whose X libraries are missing (``libxcb-icccm4``...),
an X server that is not there. That cannot be caught in-process, so a
throw-away interpreter tries first; it takes a fraction of a second.
"""

from __future__ import annotations

import os
import subprocess
import sys

__all__ = ["window_problem"]

_PROBE = (
    "from qtpy.QtWidgets import QApplication\n"
    "app = QApplication(['hwr-probe'])\n"
    "print(app.platformName())\n"
)
_PROBE_TIMEOUT = 30.0  # s; a loaded machine may take a while to start Qt


def window_problem() -> str | None:
    """Return why no Qt window can open here, or ``None`` if one can.

    The reason is one line: no display, ``QT_QPA_PLATFORM`` set to a platform
    without windows, Qt not importable, or Qt's own first complaint when its
    platform plugin fails to start.
    """
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform.split(":")[0] in ("offscreen", "minimal"):
        return f"QT_QPA_PLATFORM={platform} shows no window"
    if not platform and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        return "no display (DISPLAY is not set)"
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _PROBE],
            capture_output=True,
            text=True,
            timeout=_PROBE_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"Qt did not start within {_PROBE_TIMEOUT:g} s"
    if proc.returncode == 0:
        return None
    return f"Qt cannot start: {_first_complaint(proc.stderr)}"


def _first_complaint(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in lines:
        if "Could not load the Qt platform plugin" in line or "could not connect" in (
            line.lower()
        ):
            text = line.removeprefix("qt.qpa.plugin: ").rstrip(".")
            return (
                f"{text} (missing system libraries such as libxcb-icccm4, or no "
                "display server; QT_DEBUG_PLUGINS=1 says which)"
            )
    return lines[-1] if lines else "the Qt platform plugin failed to start"
