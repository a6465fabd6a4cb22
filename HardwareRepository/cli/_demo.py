"""``hwr demo``: the demo beamline's servers, configuration, and a live view."""

from __future__ import annotations

import logging
import os
import pathlib
import sys
import time
from typing import Any, TextIO

from ._common import until_interrupted
from ._values import format_value

__all__ = ["LiveTable", "demo_configuration", "display_available", "run_demo"]

log = logging.getLogger("HardwareRepository.cli")

_REFRESH = 0.5  # s between two renderings of the live table


def demo_configuration() -> pathlib.Path:
    """Return ``configuration/demo`` of the source tree.

    :raises RuntimeError: the package is not run from its source tree.
    """
    from ..demo.servers import DEMO_CONFIGURATION

    path = DEMO_CONFIGURATION
    if not path.is_dir():
        raise RuntimeError(
            f"demo configuration not found at {path}; run `hwr demo` from an "
            "editable install of the source tree (make demo does that)"
        )
    return path


def display_available() -> bool:
    """Return whether a Qt window can be shown (a display, and Qt importable)."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform in ("offscreen", "minimal"):
        return False
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False
    try:
        import qtpy.QtWidgets  # noqa: F401
    except Exception:  # any Qt import failure means "no window"
        return False
    return True


class LiveTable:
    """Render the state and main value of every object, refreshed in place.

    On a terminal the table is redrawn in place; otherwise (a pipe, a log)
    each refresh prints the rows that changed, with a timestamp.
    """

    def __init__(self, objects: dict[str, Any], out: TextIO = sys.stdout) -> None:
        self.objects = objects
        self.out = out
        self.tty = out.isatty()
        self._last: dict[str, str] = {}

    def rows(self) -> list[tuple[str, str, str]]:
        """Return ``(object, state, value)`` for every object, sorted by name."""
        rows = []
        for name, obj in sorted(self.objects.items()):
            if not any(True for _ in obj.get_channels()):
                continue  # a container of other objects (the beamline itself)
            rows.append((name, _state_text(obj), _value_text(obj)))
        return rows

    def render(self) -> None:
        """Draw the table once."""
        rows = self.rows()
        if self.tty:
            lines = [
                "hwr demo - live values (Ctrl-C to stop)",
                f"{'object':<18} {'state':<14} value",
                *(f"{n:<18} {s:<14} {v}" for n, s, v in rows),
                "TINE/Taco channels, if any, are SIMULATED clients.",
            ]
            self.out.write("\x1b[H\x1b[2J" + "\n".join(lines) + "\n")
        else:
            stamp = time.strftime("%H:%M:%S")
            for name, state, value in rows:
                line = f"{state:<14} {value}"
                if self._last.get(name) != line:
                    self._last[name] = line
                    self.out.write(f"{stamp} {name:<18} {line}\n")
        self.out.flush()


def _state_text(obj: Any) -> str:
    name_of = getattr(obj, "get_state_name", None) or getattr(
        obj, "get_shutter_state", None
    )
    if name_of is not None:
        return str(name_of())
    state = getattr(obj, "get_state", None)
    return state().name if state is not None else "-"


def _value_text(obj: Any) -> str:
    text = _last_value_text(obj)
    connected = getattr(obj, "is_connected", None)
    if connected is not None and not connected():
        return f"not connected (last: {text})"
    return text


def _last_value_text(obj: Any) -> str:
    if hasattr(obj, "get_shutter_state"):
        return "open" if obj.is_open() else "-"
    if hasattr(obj, "get_current"):
        current = obj.get_current()
        if current is None:
            return "-"
        message = obj.get_message()
        return f"{current:.2f} mA" + (f"  {message}" if message else "")
    if hasattr(obj, "get_value") and hasattr(obj, "get_limits"):
        value = obj.get_value()
        unit = obj.get_unit() if hasattr(obj, "get_unit") else ""
        return "-" if value is None else f"{format_value(value)} {unit}"
    values = []
    for channel in obj.get_channels():
        if channel.is_connected():
            text = format_value(channel.value, 20)
        else:
            text = "not connected"
        values.append(f"{channel.name()}={text}")
    return " ".join(values) or "-"


def run_demo(no_gui: bool = False, duration: float | None = None) -> int:
    """Start the demo servers, load the demo configuration, show it live.

    Opens the Qt window when a display is available (and ``no_gui`` is false),
    else prints a live table until Ctrl-C (or ``duration`` seconds). Stops the
    servers and the repository on the way out, whatever happens.
    """
    from ..demo.servers import start_demo_servers
    from ..demo.simulated import SimulatedSources
    from ..HardwareRepository import (
        init_hardware_repository,
        uninit_hardware_repository,
    )

    config = demo_configuration()
    print("starting the demo Tango device servers (no database) ...", flush=True)
    servers = start_demo_servers()
    sources = SimulatedSources()
    sources.start()
    print(
        "the demo's TINE and Taco channels use SIMULATED clients "
        "(their libraries are not installed)",
        flush=True,
    )
    try:
        if not no_gui and display_available():
            from ..gui import run_gui

            return run_gui(str(config), duration=duration)
        repo = init_hardware_repository(str(config))
        try:
            repo.load_all()
            table = LiveTable(repo.hardware_objects)
            with until_interrupted() as stop:
                deadline = None if duration is None else time.monotonic() + duration
                while not stop.wait(_REFRESH):
                    table.render()
                    if deadline is not None and time.monotonic() >= deadline:
                        break
            print("stopping ...", flush=True)
            return 0
        finally:
            uninit_hardware_repository()
    finally:
        sources.stop()
        servers.stop()
        print("demo stopped", flush=True)
