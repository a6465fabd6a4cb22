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

mxcubecore's XML for its ``TangoMotor`` works too, as sites write it: often
only ``<tangoname>`` (plus ``<polling>`` in ms, default 500, and
``<default_limits>``), or channels and commands under mxcubecore's names
``axisPosition``, ``axisState``, ``axisLimits`` (a (low, high) pair),
``velocity`` and ``stopAxis``. What is not configured is created on the
device's ``Position`` and ``State`` attributes and ``Stop`` command, polled.
``default_limits`` is read as a Python literal (never evaluated).

Signals, all emitted in the hub thread that loaded the object:
``valueChanged(position)``, ``stateChanged(HardwareObjectState)``,
``limitsChanged((low, high))``, ``velocityChanged(velocity)`` and
``connectionChanged(connected)``.
"""

from __future__ import annotations

import ast
from typing import Any

from HardwareRepository.CommandContainer import NOT_INITIALIZED
from HardwareRepository.errors import ConfigError

from .AbstractMotor import AbstractMotor

__all__ = ["TangoMotor"]


class TangoMotor(AbstractMotor):
    """A motor on channels: position, state, limits, velocity; move and stop.

    Methods that wait (:meth:`set_value` with ``wait=True``,
    :meth:`wait_move_done`) wait cooperatively in a greenlet and natively in a
    plain thread.
    """

    STRICT_LOOKUPS = True
    #: mxcubecore's polling period (ms) for the channels it creates itself
    DEFAULT_POLLING = 500

    def init(self) -> None:
        """Connect to the channels.

        :raises ConfigError: no ``position``/``state``/``stop`` (nor
            mxcubecore's names, nor a ``tangoname`` to create them on), or
            ``default_limits`` is not a (low, high) literal.
        """
        self._init_motor()
        self.position_channel = self._channel("position", "axisPosition", "Position")
        self.state_channel = self._channel("state", "axisState", "State")
        self.stop_command: Any = self.get_command_object("stop", optional=True)
        if self.stop_command is None:
            self.stop_command = self.get_command_object("stopAxis", optional=True)
        if self.stop_command is None:
            self.stop_command = self._create("command", "stop", "Stop")
        self.low_limit_channel = self.get_channel_object("low_limit", optional=True)
        self.high_limit_channel = self.get_channel_object("high_limit", optional=True)
        self.velocity_channel = self.get_channel_object("velocity", optional=True)
        limits_channel = self.get_channel_object("axisLimits", optional=True)
        if limits_channel is not None:
            limits_channel.connect_signal("update", self._on_limit_pair)
        default_limits = self.get_property("default_limits")
        if default_limits is not None:
            self._on_limits(self._literal_pair("default_limits", default_limits))
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

    def _channel(self, native: str, mxcube: str, attribute: str) -> Any:
        """Return channel ``native``, else ``mxcube``, else create it polled."""
        channel = self.get_channel_object(native, optional=True)
        if channel is None:
            channel = self.get_channel_object(mxcube, optional=True)
        if channel is None:
            channel = self._create("channel", native, attribute)
        return channel

    def _create(self, kind: str, name: str, source: str) -> Any:
        """Create a Tango item on ``tangoname`` as mxcubecore's TangoMotor does."""
        device = self.get_property("tangoname")
        if device is None:
            raise ConfigError(
                f"no {kind} {name!r} configured and no <tangoname> to create it on",
                file=self.config_file,
                obj=self.name(),
            )
        attributes: dict[str, Any] = {"type": "tango", "name": name}
        if kind == "channel":
            attributes["polling"] = self.get_property("polling", self.DEFAULT_POLLING)
            return self.add_channel(attributes, source)
        return self.add_command(attributes, source)

    def _literal_pair(self, name: str, text: Any) -> tuple[Any, Any]:
        try:
            low, high = ast.literal_eval(str(text).strip())
        except (ValueError, SyntaxError, TypeError) as exc:
            raise ConfigError(
                f"<{name}> must be a (low, high) pair, not {text!r}",
                file=self.config_file,
                obj=self.name(),
            ) from exc
        return (low, high)

    def _on_limit_pair(self, value: Any) -> None:
        low, high = value
        self._on_limits((low, high))

    def _on_limit(self, _value: Any) -> None:
        self._on_limits(
            (_cached(self.low_limit_channel), _cached(self.high_limit_channel))
        )

    def _limits_expected(self) -> tuple[bool, bool]:
        return (self.low_limit_channel is not None, self.high_limit_channel is not None)

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
