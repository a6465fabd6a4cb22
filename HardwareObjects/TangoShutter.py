"""A shutter built on the command/channel framework (Tango in the demo).

Configuration::

    <device class="TangoShutter">
      <username>Safety shutter</username>
      <tangoname>tango://host:port/demo/shutter/safety#dbase=no</tangoname>
      <channel type="tango" name="state" polling="events">State</channel>
      <command type="tango" name="open">Open</command>
      <command type="tango" name="close">Close</command>
    </device>

mxcubecore's XML for its ``TangoShutter`` works too, as sites write it: the
channel ``State`` and the commands ``Open``/``Close`` (either spelling is
looked up), and a ``<values>`` JSON map that renames Tango states::

    <object class="TangoShutter">
      <tangoname>ab/cd/ef</tangoname>
      <command type="tango" name="Open">Open</command>
      <command type="tango" name="Close">Close</command>
      <channel type="tango" name="State" polling="1000">State</channel>
      <values>{"CLOSED": "CLOSE", "AUTO": ["RUNNING", "READY"]}</values>
    </object>

Each key is a shutter state; a string value is the Tango state that means it,
a ``[tango_state, HardwareObjectState name]`` pair also says which general
state it is (a new shutter state, as ``AUTO`` above). The map is read as JSON
(never evaluated).

Signals (hub thread): ``shutterStateChanged(name)`` with ``"OPEN"``,
``"CLOSED"``, ``"MOVING"``, ``"FAULT"``, ``"DISCONNECTED"`` or ``"UNKNOWN"``;
``stateChanged(HardwareObjectState)``; ``connectionChanged(connected)``.
"""

from __future__ import annotations

import json
from typing import Any

from HardwareRepository.BaseHardwareObjects import Device, HardwareObjectState
from HardwareRepository.bridge import Event
from HardwareRepository.errors import ConfigError, Timeout

from ._states import state_name, to_hardware_state

__all__ = ["TangoShutter"]

_SHUTTER_NAMES = {"OPEN": "OPEN", "CLOSE": "CLOSED", "CLOSED": "CLOSED"}


class TangoShutter(Device):
    """A two-position shutter: open, close, and its state.

    :raises ConfigError: (at load) no state channel or open/close command, or
        a ``values`` map that is not valid JSON of the documented form.
    """

    STRICT_LOOKUPS = True

    def init(self) -> None:
        """Connect to the ``state`` channel and the ``open``/``close`` commands."""
        self._shutter_state = "UNKNOWN"
        self._names = dict(_SHUTTER_NAMES)
        self._general: dict[str, HardwareObjectState] = {}
        self._read_values_map()
        self.state_channel = self._either(self.get_channel_object, "state", "State")
        self.open_command = self._either(self.get_command_object, "open", "Open")
        self.close_command = self._either(self.get_command_object, "close", "Close")
        self.state_channel.connect_signal("update", self._on_state)
        self.state_channel.connect_signal("connectionStateChanged", self._on_connection)

    def _either(self, lookup: Any, native: str, mxcube: str) -> Any:
        """Return item ``native``, else mxcubecore's ``mxcube``; raise if neither."""
        item = lookup(native, optional=True)
        return item if item is not None else lookup(mxcube)

    def _read_values_map(self) -> None:
        text = self.get_property("values")
        if text is None:
            return
        try:
            mapping = json.loads(str(text))
            if not isinstance(mapping, dict):
                raise ValueError("not a JSON object")
            for shutter_state, meaning in mapping.items():
                if isinstance(meaning, list) and len(meaning) == 2:
                    tango_state, general = meaning
                    self._general[str(shutter_state)] = HardwareObjectState[general]
                elif isinstance(meaning, str):
                    tango_state = meaning
                else:
                    raise ValueError(f"{shutter_state!r}: {meaning!r}")
                self._names[str(tango_state).upper()] = str(shutter_state)
        except (ValueError, KeyError) as exc:
            raise ConfigError(
                f"<values> must be a JSON object of shutter state -> Tango state "
                f"or [Tango state, HardwareObjectState name]: {exc}",
                file=self.config_file,
                obj=self.name(),
            ) from exc

    def _on_state(self, value: Any) -> None:
        name = state_name(value)
        self._shutter_state = self._names.get(name, name)
        general = self._general.get(self._shutter_state)
        self.update_state(general if general is not None else to_hardware_state(value))
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
