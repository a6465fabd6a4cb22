"""Storage-ring information: current and operator message.

Configuration::

    <object class="MachineInfo">
      <tangoname>tango://host:port/demo/machine/info#dbase=no</tangoname>
      <channel type="tango" name="current" polling="events">Current</channel>
      <channel type="tango" name="message" polling="2000">Message</channel>
    </object>

mxcubecore's XML for its Tango machine-info classes works too: a
``<parameters>`` list names the channels to read (``current`` is required),
each channel named after its parameter::

    <object class="MachineInfo">
      <tangoname>ab/cd/ef</tangoname>
      <parameters>["current", "lifetime", "message"]</parameters>
      <channel type="tango" name="current" polling="2000">SR_Current</channel>
      <channel type="tango" name="lifetime" polling="2000">SR_Lifetime</channel>
      <channel type="tango" name="message" polling="8000">SR_Operator_Mesg</channel>
    </object>

The list is read as JSON or as a Python literal (never evaluated).

Signals (hub thread): ``currentChanged(mA)``, ``messageChanged(text)`` and
``valuesChanged(dict)`` with every parameter, as mxCuBE's MachineInfo does,
``valueChanged(dict)`` (mxcubecore's ``AbstractMachineInfo`` signal, the same
dictionary) and ``connectionChanged(connected)`` for the ``current`` channel.
"""

from __future__ import annotations

import ast
from typing import Any

from HardwareRepository.BaseHardwareObjects import HardwareObject, HardwareObjectState
from HardwareRepository.errors import ConfigError

__all__ = ["MachineInfo"]


class MachineInfo(HardwareObject):
    """The machine current (mA), the operator's message, any other parameter.

    :raises ConfigError: (at load) no ``current`` channel, a ``parameters``
        value that is not a list of names, or a listed parameter without its
        channel.
    """

    STRICT_LOOKUPS = True

    def init(self) -> None:
        """Connect to the ``current``, ``message`` and listed channels."""
        self._values: dict[str, Any] = {"current": None, "message": ""}
        self.current_channel = self.get_channel_object("current")
        self.message_channel = self.get_channel_object("message", optional=True)
        self.current_channel.connect_signal("update", self._on_current)
        self.current_channel.connect_signal(
            "connectionStateChanged", self._on_connection
        )
        if self.message_channel is not None:
            self.message_channel.connect_signal("update", self._on_message)
        for name in self._parameters():
            if name in ("current", "message"):
                continue
            channel = self.get_channel_object(name)  # raises: listed, not there
            self._values[name] = None
            channel.connect_signal("update", self._updater(name))

    def _parameters(self) -> list[str]:
        text = self.get_property("parameters")
        if text is None:
            return []
        try:
            names = ast.literal_eval(str(text).strip())
            if not isinstance(names, (list, tuple)):
                raise ValueError("not a list")
        except (ValueError, SyntaxError) as exc:
            raise ConfigError(
                f"<parameters> must be a list of channel names, not {text!r}",
                file=self.config_file,
                obj=self.name(),
            ) from exc
        return [str(n) for n in names]

    def _updater(self, name: str) -> Any:
        def update(value: Any) -> None:
            self._values[name] = value
            self._emit_values()

        return update

    def _emit_values(self) -> None:
        values = dict(self._values)
        self.emit("valuesChanged", (values,))
        self.emit("valueChanged", (values,))

    def get_value(self) -> dict[str, Any]:
        """Return every parameter's last value (mxcubecore's name)."""
        return dict(self._values)

    def _on_current(self, value: Any) -> None:
        self._values["current"] = value
        self.update_state(HardwareObjectState.READY)
        self.emit("currentChanged", value)
        self._emit_values()

    def _on_message(self, value: Any) -> None:
        self._values["message"] = str(value)
        self.emit("messageChanged", str(value))
        self._emit_values()

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
        """Return ``{"current": mA, "message": text, ...}``."""
        return dict(self._values)

    def re_emit_values(self) -> None:
        """Emit the current values again."""
        super().re_emit_values()
        self._emit_values()
