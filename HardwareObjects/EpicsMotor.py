"""An EPICS motor record as a motor.

Configured with the record's name; its fields become the channels::

    <device class="EpicsMotor">
      <username>Sample table</username>
      <pv_prefix>BL:TAB:m1</pv_prefix>
      <unit>mm</unit>
    </device>

``.RBV`` is the position, ``.VAL`` the target (a put starts the move),
``.DMOV`` the state (1: READY, 0: MOVING), ``.HLM``/``.LLM`` the limits,
``.VELO`` the velocity and ``.STOP`` stops the motion. Channels or commands
named ``position``, ``target``, ``done``, ``high_limit``, ``low_limit``,
``velocity`` or ``stop`` in the XML replace those defaults. The unit is the
``unit`` property (default: none).

Signals: those of :class:`~HardwareObjects.AbstractMotor.AbstractMotor`.
"""

from __future__ import annotations

from typing import Any

from HardwareRepository.BaseHardwareObjects import HardwareObjectState
from HardwareRepository.CommandContainer import NOT_INITIALIZED
from HardwareRepository.errors import ConfigError

from .AbstractMotor import AbstractMotor

__all__ = ["EpicsMotor"]

_FIELDS = {
    "position": ".RBV",
    "target": ".VAL",
    "done": ".DMOV",
    "high_limit": ".HLM",
    "low_limit": ".LLM",
    "velocity": ".VELO",
}


class EpicsMotor(AbstractMotor):
    """A motor record; see the module doc.

    Methods that wait (:meth:`set_value` with ``wait=True``,
    :meth:`wait_move_done`) wait cooperatively in a greenlet and natively in a
    plain thread.
    """

    def init(self) -> None:
        """Create the record's channels (unless configured) and follow them.

        Raises:
            ConfigError: no ``pv_prefix`` property.
        """
        self._init_motor()
        prefix = self.get_property("pv_prefix")
        if not prefix:
            raise ConfigError(
                f"EpicsMotor {self.name()} needs a pv_prefix (the record)"
            )
        self.pv_prefix = str(prefix)
        channels = {name: self._channel(name, field) for name, field in _FIELDS.items()}
        self.position_channel = channels["position"]
        self.target_channel = channels["target"]
        self.done_channel = channels["done"]
        self.limit_channels = (channels["low_limit"], channels["high_limit"])
        stop = self.get_command_object("stop", optional=True)
        if stop is None:
            stop = self.add_command(
                {"type": "epics", "name": "stop"}, self.pv_prefix + ".STOP"
            )
        self.stop_command: Any = stop
        self.position_channel.connect_signal("update", self._on_position)
        self.done_channel.connect_signal("update", self._on_done)
        self.position_channel.connect_signal(
            "connectionStateChanged", self._on_connection
        )
        for channel in self.limit_channels:
            channel.connect_signal("update", self._on_limit)
        channels["velocity"].connect_signal("update", self._on_velocity)

    def _channel(self, name: str, field: str) -> Any:
        channel = self.get_channel_object(name, optional=True)
        if channel is None:
            channel = self.add_channel(
                {"type": "epics", "name": name}, self.pv_prefix + field
            )
        return channel

    # -- receivers (hub thread) ------------------------------------------------
    def _on_done(self, value: Any) -> None:
        if int(value):
            self._set_state_name("READY", HardwareObjectState.READY)
        else:
            self._set_state_name("MOVING", HardwareObjectState.BUSY)

    def _on_limit(self, _value: Any) -> None:
        low, high = (
            None if c.value is NOT_INITIALIZED else float(c.value)
            for c in self.limit_channels
        )
        self._on_limits((low, high))

    # -- motor ----------------------------------------------------------------
    def is_connected(self) -> bool:
        """Return whether the record's position PV is connected."""
        return bool(self.position_channel.is_connected())

    def _start_move(self, position: float) -> None:
        self.target_channel.set_value(position)

    def _read_position(self) -> Any:
        return self.position_channel.get_value(force=True)

    def stop(self) -> None:
        """Stop the motor where it is (``.STOP``)."""
        self.stop_command(1)
