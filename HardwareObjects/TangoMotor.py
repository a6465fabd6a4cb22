"""A motor built on the command/channel framework (Tango in the demo).

Configuration (channel and command names are fixed, types are free)::

    <device class="TangoMotor">
      <username>Phi</username>
      <unit>deg</unit>
      <tangoname>tango://host:port/demo/motor/phi#dbase=no</tangoname>
      <channel type="tango" name="position" polling="events">Position</channel>
      <channel type="tango" name="state" polling="events">State</channel>
      <channel type="tango" name="low_limit" polling="1000">LowLimit</channel>
      <channel type="tango" name="high_limit" polling="1000">HighLimit</channel>
      <channel type="tango" name="velocity" polling="1000">Velocity</channel>
      <command type="tango" name="stop">Stop</command>
    </device>

``low_limit``, ``high_limit`` and ``velocity`` are optional.

Signals, all emitted in the hub thread that loaded the object:
``valueChanged(position)``, ``stateChanged(HardwareObjectState)``,
``limitsChanged((low, high))``, ``velocityChanged(velocity)`` and
``connectionChanged(connected)``.
"""

from __future__ import annotations

from typing import Any

from HardwareRepository.CommandContainer import NOT_INITIALIZED

from .AbstractMotor import AbstractMotor

__all__ = ["TangoMotor"]


class TangoMotor(AbstractMotor):
    """A motor on channels: position, state, limits, velocity; move and stop.

    Methods that wait (:meth:`set_value` with ``wait=True``,
    :meth:`wait_move_done`) wait cooperatively in a greenlet and natively in a
    plain thread.
    """

    def init(self) -> None:
        """Connect to the channels; raises if ``position``/``state``/``stop`` lack."""
        self._init_motor()
        self.position_channel = self.get_channel_object("position")
        self.state_channel = self.get_channel_object("state")
        self.stop_command = self.get_command_object("stop")
        self.low_limit_channel = self.get_channel_object("low_limit", optional=True)
        self.high_limit_channel = self.get_channel_object("high_limit", optional=True)
        self.velocity_channel = self.get_channel_object("velocity", optional=True)
        self.position_channel.connect_signal("update", self._on_position)
        self.state_channel.connect_signal("update", self._on_state)
        self.position_channel.connect_signal(
            "connectionStateChanged", self._on_connection
        )
        for channel in (self.low_limit_channel, self.high_limit_channel):
            if channel is not None:
                channel.connect_signal("update", self._on_limit)
        if self.velocity_channel is not None:
            self.velocity_channel.connect_signal("update", self._on_velocity)

    def _on_limit(self, _value: Any) -> None:
        self._on_limits(
            (_cached(self.low_limit_channel), _cached(self.high_limit_channel))
        )

    def is_connected(self) -> bool:
        """Return whether the position channel is connected.

        While it is not, :meth:`get_value` is the last position received.
        """
        return bool(self.position_channel.is_connected())

    def _start_move(self, position: float) -> None:
        self.position_channel.set_value(position)

    def _read_position(self) -> Any:
        return self.position_channel.get_value(force=True)

    def stop(self) -> None:
        """Stop the motor where it is."""
        self.stop_command()


def _cached(channel: Any) -> Any:
    """Return a channel's last value, ``None`` if absent or not received yet."""
    if channel is None or channel.value is NOT_INITIALIZED:
        return None
    return channel.value
