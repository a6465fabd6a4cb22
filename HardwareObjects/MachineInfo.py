"""Storage-ring information: current and operator message.

Configuration::

    <object class="MachineInfo">
      <tangoname>tango://host:port/demo/machine/info#dbase=no</tangoname>
      <channel type="tango" name="current" polling="events">Current</channel>
      <channel type="tango" name="message" polling="2000">Message</channel>
    </object>

Signals (hub thread): ``currentChanged(mA)``, ``messageChanged(text)`` and
``valuesChanged(dict)`` with both, as mxCuBE's MachineInfo does, and
``connectionChanged(connected)`` for the ``current`` channel.
"""

from __future__ import annotations

from typing import Any

from HardwareRepository.BaseHardwareObjects import HardwareObject, HardwareObjectState

__all__ = ["MachineInfo"]


class MachineInfo(HardwareObject):
    """The machine current (mA) and the operator's message."""

    def init(self) -> None:
        """Connect to the ``current`` and (optional) ``message`` channels."""
        self._values: dict[str, Any] = {"current": None, "message": ""}
        self.current_channel = self.get_channel_object("current")
        self.message_channel = self.get_channel_object("message", optional=True)
        self.current_channel.connect_signal("update", self._on_current)
        self.current_channel.connect_signal(
            "connectionStateChanged", self._on_connection
        )
        if self.message_channel is not None:
            self.message_channel.connect_signal("update", self._on_message)

    def _on_current(self, value: Any) -> None:
        self._values["current"] = value
        self.update_state(HardwareObjectState.READY)
        self.emit("currentChanged", value)
        self.emit("valuesChanged", (dict(self._values),))

    def _on_message(self, value: Any) -> None:
        self._values["message"] = str(value)
        self.emit("messageChanged", str(value))
        self.emit("valuesChanged", (dict(self._values),))

    def _on_connection(self, connected: bool) -> None:
        if not connected:
            self.update_state(HardwareObjectState.UNKNOWN)
        self.emit("connectionChanged", connected)

    def is_connected(self) -> bool:
        """Return whether the ``current`` channel is connected.

        While it is not, :meth:`get_current` is the last current received.
        """
        return bool(self.current_channel.is_connected())

    def get_current(self) -> Any:
        """Return the last machine current in mA (``None`` before the first)."""
        return self._values["current"]

    def get_message(self) -> str:
        """Return the last operator message."""
        return self._values["message"]

    def get_values(self) -> dict[str, Any]:
        """Return ``{"current": mA, "message": text}``."""
        return dict(self._values)

    def re_emit_values(self) -> None:
        """Emit the current values again."""
        super().re_emit_values()
        self.emit("valuesChanged", (dict(self._values),))
