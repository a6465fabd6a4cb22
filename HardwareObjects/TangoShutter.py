"""A shutter built on the command/channel framework (Tango in the demo).

Configuration::

    <device class="TangoShutter">
      <username>Safety shutter</username>
      <tangoname>tango://host:port/demo/shutter/safety#dbase=no</tangoname>
      <channel type="tango" name="state" polling="events">State</channel>
      <command type="tango" name="open">Open</command>
      <command type="tango" name="close">Close</command>
    </device>

Signals (hub thread): ``shutterStateChanged(name)`` with ``"OPEN"``,
``"CLOSED"``, ``"MOVING"``, ``"FAULT"``, ``"DISCONNECTED"`` or ``"UNKNOWN"``;
``stateChanged(HardwareObjectState)``; ``connectionChanged(connected)``.
"""

from __future__ import annotations

from typing import Any

from HardwareRepository.BaseHardwareObjects import Device, HardwareObjectState
from HardwareRepository.bridge import Event
from HardwareRepository.errors import Timeout

from ._states import state_name, to_hardware_state

__all__ = ["TangoShutter"]

_SHUTTER_NAMES = {"OPEN": "OPEN", "CLOSE": "CLOSED", "CLOSED": "CLOSED"}


class TangoShutter(Device):
    """A two-position shutter: open, close, and its state."""

    def init(self) -> None:
        """Connect to the ``state`` channel and the ``open``/``close`` commands."""
        self._shutter_state = "UNKNOWN"
        self.state_channel = self.get_channel_object("state")
        self.open_command = self.get_command_object("open")
        self.close_command = self.get_command_object("close")
        self.state_channel.connect_signal("update", self._on_state)
        self.state_channel.connect_signal("connectionStateChanged", self._on_connection)

    def _on_state(self, value: Any) -> None:
        name = state_name(value)
        self._shutter_state = _SHUTTER_NAMES.get(name, name)
        self.update_state(to_hardware_state(value))
        self.emit("shutterStateChanged", self._shutter_state)

    def _on_connection(self, connected: bool) -> None:
        if not connected:
            self._shutter_state = "DISCONNECTED"
            self.update_state(HardwareObjectState.UNKNOWN)
            self.emit("shutterStateChanged", self._shutter_state)
        self.emit("connectionChanged", connected)

    def get_shutter_state(self) -> str:
        """Return ``"OPEN"``, ``"CLOSED"``, ``"MOVING"``, ``"FAULT"``..."""
        return self._shutter_state

    def is_open(self) -> bool:
        """Return whether the shutter is open."""
        return self._shutter_state == "OPEN"

    def open(self, wait: bool = False, timeout: float | None = None) -> None:
        """Open the shutter; with ``wait``, until it reports OPEN.

        :raises Timeout: not open within ``timeout`` seconds.
        """
        self.open_command()
        if wait:
            self._wait_for("OPEN", timeout)

    def close(self, wait: bool = False, timeout: float | None = None) -> None:
        """Close the shutter; with ``wait``, until it reports CLOSED.

        :raises Timeout: not closed within ``timeout`` seconds.
        """
        self.close_command()
        if wait:
            self._wait_for("CLOSED", timeout)

    def _wait_for(self, goal: str, timeout: float | None) -> None:
        reached = Event()

        def on_change(name: str) -> None:
            if name == goal:
                reached.send()

        self.connect("shutterStateChanged", on_change)
        try:
            if self._shutter_state != goal and not reached.wait(timeout):
                raise Timeout(
                    f"shutter {self.name()} not {goal} after {timeout} s "
                    f"(it is {self._shutter_state})"
                )
        finally:
            self.disconnect("shutterStateChanged", on_change)

    def re_emit_values(self) -> None:
        """Emit the current state again."""
        super().re_emit_values()
        self.emit("shutterStateChanged", self._shutter_state)
