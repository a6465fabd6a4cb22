"""An MD2/MD3 diffractometer axis on the Exporter protocol.

Configured as in mxCuBE (``actuator_name`` or ``motor_name`` names the axis)::

    <device class="ExporterMotor">
      <username>Omega</username>
      <exporter_address>wid30bmd2s:9001</exporter_address>
      <actuator_name>Omega</actuator_name>
      <unit>deg</unit>
    </device>

The axis is the MD's ``<name>Position`` property (writing it starts a move)
and ``<name>State`` (``Ready``, ``Moving``, ``LowLim``, ``HighLim``, ``Fault``
...); ``stop`` calls the MD's ``abort``; the limits come from
``getMotorLimits(<name>)`` once the server is connected. Channels or commands
named ``position``, ``state``, ``stop`` (default: the MD's ``abort``) or
``limits`` in the XML replace the defaults. ``position_suffix`` and
``state_suffix`` properties change the suffixes, as upstream.

Signals: those of :class:`~HardwareObjects.AbstractMotor.AbstractMotor`.
"""

from __future__ import annotations

import logging
from typing import Any

import gevent

from HardwareRepository.BaseHardwareObjects import HardwareObjectState
from HardwareRepository.errors import ConfigError

from .AbstractMotor import AbstractMotor

__all__ = ["ExporterMotor"]

log = logging.getLogger("HardwareRepository.objects")

#: the MD's motor and application states, upper-cased
_STATES = {
    "READY": HardwareObjectState.READY,
    "ON": HardwareObjectState.READY,
    "MOVING": HardwareObjectState.BUSY,
    "RUNNING": HardwareObjectState.BUSY,
    "BUSY": HardwareObjectState.BUSY,
    "INITIALIZING": HardwareObjectState.BUSY,
    "LOWLIM": HardwareObjectState.WARNING,
    "HIGHLIM": HardwareObjectState.WARNING,
    "ALARM": HardwareObjectState.WARNING,
    "STANDBY": HardwareObjectState.WARNING,
    "FAULT": HardwareObjectState.FAULT,
    "INVALID": HardwareObjectState.FAULT,
    "OFFLINE": HardwareObjectState.FAULT,
}


class ExporterMotor(AbstractMotor):
    """One axis of a microdiffractometer; see the module doc.

    Methods that wait (:meth:`set_value` with ``wait=True``,
    :meth:`wait_move_done`) wait cooperatively in a greenlet and natively in a
    plain thread.
    """

    def init(self) -> None:
        """Create the axis's channels and commands (unless configured) and follow them.

        Raises:
            ConfigError: neither ``actuator_name`` nor ``motor_name`` is given.
        """
        self._init_motor()
        axis = self.get_property("actuator_name") or self.get_property("motor_name")
        if not axis:
            raise ConfigError(
                f"ExporterMotor {self.name()} needs an actuator_name (the MD axis)"
            )
        self.axis = str(axis)
        position_suffix = str(self.get_property("position_suffix", "Position"))
        state_suffix = str(self.get_property("state_suffix", "State"))
        self.position_channel = self._channel("position", self.axis + position_suffix)
        self.state_channel = self._channel("state", self.axis + state_suffix)
        self.stop_command = self._command("stop", "abort")
        self.limits_command = self._command("limits", "getMotorLimits")
        self._limits_reader: gevent.Greenlet | None = None
        self.position_channel.connect_signal("update", self._on_position)
        self.state_channel.connect_signal("update", self._on_state)
        self.position_channel.connect_signal(
            "connectionStateChanged", self._on_connection
        )
        if self.position_channel.is_connected():
            self._read_limits_soon()

    def _channel(self, name: str, prop: str) -> Any:
        channel = self.get_channel_object(name, optional=True)
        if channel is None:
            channel = self.add_channel({"type": "exporter", "name": name}, prop)
        return channel

    def _command(self, name: str, method: str) -> Any:
        command = self.get_command_object(name, optional=True)
        if command is None:
            command = self.add_command({"type": "exporter", "name": name}, method)
        return command

    # -- receivers (hub thread) ----------------------------------------------
    def _on_state(self, value: Any) -> None:
        name = str(value).strip()
        self._set_state_name(
            name.upper(), _STATES.get(name.upper(), HardwareObjectState.UNKNOWN)
        )

    def _on_connection(self, connected: bool) -> None:
        super()._on_connection(connected)
        if connected:
            self._read_limits_soon()

    def _read_limits_soon(self) -> None:
        if self._limits_reader is None or self._limits_reader.dead:
            self._limits_reader = gevent.spawn(self._read_limits)

    def _read_limits(self) -> None:
        try:
            low, high = self.limits_command(self.axis)
        except Exception as exc:
            log.warning("%s: cannot read the limits: %s", self.name(), exc)
            return
        self._on_limits((float(low), float(high)))

    # -- motor ------------------------------------------------------------------
    def is_connected(self) -> bool:
        """Return whether the MD server is connected."""
        return bool(self.position_channel.is_connected())

    def _start_move(self, position: float) -> None:
        self.position_channel.set_value(position)

    def _read_position(self) -> Any:
        return self.position_channel.get_value(force=True)

    def stop(self) -> None:
        """Stop the motion (the MD's ``abort``: every axis stops)."""
        self.stop_command()

    def get_max_speed(self) -> float:
        """Return the axis's top speed (``getMotorMaxSpeed``), unit per second."""
        return float(self._exporter_call("getMotorMaxSpeed", self.axis))

    def home(self, wait: bool = True, timeout: float | None = None) -> None:
        """Start homing the axis (``startHomingMotor``); optionally wait for its end.

        Raises:
            Timeout: still moving after ``timeout`` seconds.
        """
        self._exporter_call("startHomingMotor", self.axis)
        if wait:
            self.wait_move_done(timeout)

    def _exporter_call(self, method: str, *args: Any) -> Any:
        command: Any = self.get_command_object(method, optional=True)
        if command is None:
            command = self.add_command({"type": "exporter", "name": method}, method)
        return command(*args)

    def shutdown(self) -> None:
        """Stop reading the limits, then release the items."""
        reader, self._limits_reader = getattr(self, "_limits_reader", None), None
        if reader is not None:
            reader.kill(block=True, timeout=1.0)
        super().shutdown()
