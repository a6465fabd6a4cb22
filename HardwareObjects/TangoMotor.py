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

from HardwareRepository.BaseHardwareObjects import Device, HardwareObjectState
from HardwareRepository.bridge import Event
from HardwareRepository.bridge._native import monotonic
from HardwareRepository.CommandContainer import NOT_INITIALIZED
from HardwareRepository.errors import Timeout

from ._states import state_name, to_hardware_state

__all__ = ["TangoMotor"]


class TangoMotor(Device):
    """A motor: position, state, limits, velocity; move and stop.

    Methods that wait (:meth:`set_value` with ``wait=True``,
    :meth:`wait_ready`) wait cooperatively in a greenlet and natively in a
    plain thread.
    """

    def init(self) -> None:
        """Connect to the channels; raises if ``position``/``state``/``stop`` lack."""
        self._position: Any = None
        self._limits: tuple[Any, Any] = (None, None)
        self._state_name = "UNKNOWN"
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

    # -- channel receivers (hub thread) ------------------------------------
    def _on_position(self, value: Any) -> None:
        self._position = value
        self.emit("valueChanged", value)

    def _on_state(self, value: Any) -> None:
        self._state_name = state_name(value)
        self.update_state(to_hardware_state(value))

    def _on_connection(self, connected: bool) -> None:
        if not connected:
            self._state_name = "DISCONNECTED"
            self.update_state(HardwareObjectState.UNKNOWN)
        self.emit("connectionChanged", connected)

    def _on_limit(self, _value: Any) -> None:
        limits = (
            _cached(self.low_limit_channel),
            _cached(self.high_limit_channel),
        )
        if limits != self._limits:
            self._limits = limits
            self.emit("limitsChanged", (limits,))

    def _on_velocity(self, value: Any) -> None:
        self.emit("velocityChanged", value)

    # -- API ----------------------------------------------------------------
    def get_value(self) -> Any:
        """Return the last known position (``None`` before the first one)."""
        return self._position

    def get_limits(self) -> tuple[Any, Any]:
        """Return ``(low, high)``; ``None`` for a limit that is not configured."""
        return self._limits

    def is_connected(self) -> bool:
        """Return whether the position channel is connected.

        While it is not, :meth:`get_value` is the last position received.
        """
        return bool(self.position_channel.is_connected())

    def get_state_name(self) -> str:
        """Return the control system's own state name (``"MOVING"``, ``"ALARM"``)."""
        return self._state_name

    def get_unit(self) -> str:
        """Return the position unit (property ``unit``, default ``""``)."""
        return str(self.get_property("unit", ""))

    def set_value(
        self, position: float, wait: bool = False, timeout: float | None = None
    ) -> None:
        """Start a move to ``position``; optionally wait for its end.

        :param wait: wait until the motor has moved and is ready again.
        :param timeout: seconds to wait at most when ``wait`` is true.
        :raises Timeout: the motor was not ready again within ``timeout``.
        """
        self.position_channel.set_value(position)
        if wait:
            self.wait_move_done(timeout)

    move = set_value

    def wait_move_done(
        self, timeout: float | None = None, start_timeout: float = 0.5
    ) -> None:
        """Wait until a move that was just started has ended.

        The state channel reports MOVING shortly after the move starts, so this
        first waits up to ``start_timeout`` seconds for BUSY, then until the
        motor leaves BUSY (ready, at a limit, or in fault).

        :raises Timeout: still moving after ``timeout`` seconds.
        """
        changed = Event()

        def on_state(_state: HardwareObjectState) -> None:
            changed.send()

        deadline = None if timeout is None else monotonic() + timeout
        self.connect("stateChanged", on_state)
        try:
            start_by = monotonic() + start_timeout
            while True:
                changed.clear()
                if self.get_state() is HardwareObjectState.BUSY:
                    break
                left = start_by - monotonic()
                if left <= 0 or not changed.wait(left):
                    return  # never seen moving: it was a null or instant move
            while True:
                changed.clear()
                if self.get_state() is not HardwareObjectState.BUSY:
                    self._refresh_position()
                    return
                left = None if deadline is None else max(0.0, deadline - monotonic())
                if not changed.wait(left):
                    raise Timeout(f"motor {self.name()} still moving after {timeout} s")
        finally:
            self.disconnect("stateChanged", on_state)

    def _refresh_position(self) -> None:
        # Position and state are separate channels with no ordering between
        # them: the end-of-move state may arrive before the final position.
        value = self.position_channel.get_value(force=True)
        if value != self._position:
            self._on_position(value)

    def stop(self) -> None:
        """Stop the motor where it is."""
        self.stop_command()

    def re_emit_values(self) -> None:
        """Emit the current position, state and limits again."""
        super().re_emit_values()
        if self._position is not None:
            self.emit("valueChanged", self._position)
        self.emit("limitsChanged", (self._limits,))


def _cached(channel: Any) -> Any:
    """Return a channel's last value, ``None`` if absent or not received yet."""
    if channel is None or channel.value is NOT_INITIALIZED:
        return None
    return channel.value
