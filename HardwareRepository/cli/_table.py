"""The live table of the terminal: every object's state and main value."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from ..states import object_state_text
from ._common import WallClock, until_interrupted
from ._lookup import repository
from ._values import format_value

__all__ = ["LiveTable", "show_table"]

_REFRESH = 0.5  # s between two renderings of the live table


class LiveTable:
    """Render the state and main value of every object, refreshed in place.

    States are written in the vocabulary of :mod:`HardwareRepository.states`
    (``READY (ON)``), as in the window and ``hwr get``. On a terminal the
    table is redrawn in place; otherwise (a pipe, a log) each refresh prints
    the rows that changed, with a timestamp.
    """

    def __init__(self, objects: dict[str, Any], out: TextIO = sys.stdout) -> None:
        self.objects = objects
        self.out = out
        self.tty = out.isatty()
        self._last: dict[str, str] = {}
        self._clock = WallClock()

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
                "hwr - live values (Ctrl-C to stop)",
                f"{'object':<18} {'state':<22} value",
                *(f"{n:<18} {s:<22} {v}" for n, s, v in rows),
                "TINE/Taco channels, if any, are SIMULATED clients.",
            ]
            self.out.write("\x1b[H\x1b[2J" + "\n".join(lines) + "\n")
        else:
            stamp = self._clock.stamp()
            for name, state, value in rows:
                line = f"{state:<22} {value}"
                if self._last.get(name) != line:
                    self._last[name] = line
                    self.out.write(f"{stamp} {name:<18} {line}\n")
        self.out.flush()


def _state_text(obj: Any) -> str:
    return object_state_text(obj) if obj.reports_state() else "-"


def _value_text(obj: Any) -> str:
    text = _last_value_text(obj)
    connected = getattr(obj, "is_connected", None)
    if connected is not None and not connected():
        return f"not connected (last: {text})"
    return text


def _last_value_text(obj: Any) -> str:
    if hasattr(obj, "get_shutter_state"):
        return str(obj.get_shutter_state())
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


def show_table(path: str, duration: float | None = None) -> int:
    """Load the configuration at ``path`` and show the live table until Ctrl-C.

    Ctrl-C (or ``duration`` seconds) is the normal end: exit code 0.
    """
    with repository(path) as repo:
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
