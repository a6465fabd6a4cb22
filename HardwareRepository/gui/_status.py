"""The status line's permanent part: connection problems and load errors."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from qtpy import QtCore, QtWidgets

from HardwareRepository.BaseHardwareObjects import HardwareObject

from .panels import display_name

__all__ = ["ConnectionStatus"]

_SHOWN = 3  # object names written out before "+N more"


class ConnectionStatus(QtWidgets.QLabel):
    """A label listing objects whose channels are not connected, and load errors.

    It follows ``connectionStateChanged`` of every channel of the objects
    (hub thread = GUI thread) and rewrites itself on each change. The full
    list, with channel names and error messages, is in the tooltip.

    .. important:: GUI (hub) thread only; :meth:`detach` before the objects
       are shut down.

    :param objects: the hardware objects watched.
    :param summary: the repository's load records (``LoadRecord`` or its
        ``as_dict()``); failed and warning rows are reported.
    """

    changed = QtCore.Signal(str)

    def __init__(
        self,
        objects: Iterable[HardwareObject],
        summary: Iterable[Any] = (),
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("connection-status")
        self.setTextFormat(QtCore.Qt.TextFormat.PlainText)
        self._objects = list(objects)
        self._load_problems = _load_problems(summary)
        self._followed: list[tuple[Any, Any]] = []
        for obj in self._objects:
            for channel in obj.get_channels():
                slot = functools.partial(self._on_connection, obj)
                channel.connect_signal("connectionStateChanged", slot)
                self._followed.append((channel, slot))
        self.refresh()

    def _on_connection(self, _obj: HardwareObject, _connected: bool) -> None:
        self.refresh()

    def disconnected(self) -> dict[str, list[str]]:
        """Return ``{object name: [channel names not connected]}``."""
        result: dict[str, list[str]] = {}
        for obj in self._objects:
            missing = [c.name() for c in obj.get_channels() if not c.is_connected()]
            if missing:
                result[obj.name()] = missing
        return result

    def load_problems(self) -> list[tuple[str, str, str]]:
        """Return ``(object, status, error)`` for each failed or warning load."""
        return list(self._load_problems)

    def refresh(self) -> None:
        """Recompute the text and tooltip from the channels' connection state."""
        by_name = {obj.name(): obj for obj in self._objects}
        missing = self.disconnected()
        parts = []
        details = []
        if missing:
            names = [display_name(by_name[name]) for name in missing]
            shown = ", ".join(names[:_SHOWN])
            more = f" +{len(names) - _SHOWN} more" if len(names) > _SHOWN else ""
            parts.append(f"Not connected: {shown}{more}")
            details += [
                f"{name}: not connected ({', '.join(channels)})"
                for name, channels in missing.items()
            ]
        failed = [p for p in self._load_problems if p[1] == "failed"]
        warned = [p for p in self._load_problems if p[1] != "failed"]
        if failed:
            parts.append(
                f"Failed to load: {', '.join(p[0].lstrip('/') for p in failed)}"
            )
        if warned:
            parts.append(
                f"Loaded with warnings: {', '.join(p[0].lstrip('/') for p in warned)}"
            )
        details += [
            f"{name}: {status}: {error}" for name, status, error in self._load_problems
        ]
        if parts:
            text = " | ".join(parts)
            colour = "#b71c1c"
        else:
            count = len(self._objects)
            text = f"{count} object{'' if count == 1 else 's'}, all channels connected"
            colour = "#1b5e20"
        self.setStyleSheet(f"color: {colour};")
        self.setToolTip("\n".join(details))
        if text != self.text():
            self.setText(text)
            self.changed.emit(text)

    def detach(self) -> None:
        """Stop following the channels. Idempotent."""
        followed, self._followed = self._followed, []
        for channel, slot in followed:
            channel.disconnect_signal("connectionStateChanged", slot)


def _load_problems(summary: Iterable[Any]) -> list[tuple[str, str, str]]:
    problems = []
    for record in summary:
        row = record if isinstance(record, dict) else record.as_dict()
        if row["status"] != "ok":
            problems.append((row["object"], row["status"], row["error"]))
    return problems
