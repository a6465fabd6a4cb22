"""What every motor shares, whatever its control system.

A concrete motor (:class:`~HardwareObjects.TangoMotor.TangoMotor`, the Exporter
and EPICS motors) connects its own channels in ``init()`` and feeds this class
through the ``_on_*`` receivers; it implements :meth:`AbstractMotor._start_move`,
:meth:`AbstractMotor._read_position`, :meth:`AbstractMotor.stop` and
:meth:`AbstractMotor.is_connected`. This class keeps the last position, limits
and state name, emits the signals and waits for the end of a move.

Signals, all emitted in the hub thread that loaded the object:
``valueChanged(position)``, ``stateChanged(HardwareObjectState)``,
``limitsChanged((low, high))``, ``velocityChanged(velocity)`` and
``connectionChanged(connected)``.
"""

from __future__ import annotations

from time import monotonic
from typing import Any

from HardwareRepository.BaseHardwareObjects import Device, HardwareObjectState
from HardwareRepository.bridge import Event
from HardwareRepository.errors import Timeout

from ._states import state_name, to_hardware_state

__all__ = ["AbstractMotor"]


class AbstractMotor(Device):
    """A motor: position, state, limits, velocity; move and stop.

    Methods that wait (:meth:`set_value` with ``wait=True``,
    :meth:`wait_move_done`) wait cooperatively in a greenlet and natively in a
    plain thread. Subclasses call :meth:`_init_motor` at the start of their
    ``init()``.
    """

    def _init_motor(self) -> None:
        """Reset the cached position, limits and state name."""
        self._position: Any = None
        self._limits: tuple[Any, Any] = (None, None)
        self._state_name = "UNKNOWN"

    # -- what a concrete motor implements ------------------------------------
    def _start_move(self, position: float) -> None:
        """Ask the control system to move to ``position``; return at once."""
        raise NotImplementedError(f"{type(self).__name__} cannot move")

    def _read_position(self) -> Any:
        """Read the position from the control system now (not the cache)."""
        return self._position

    def stop(self) -> None:
        """Stop the motor where it is."""
        raise NotImplementedError(f"{type(self).__name__} cannot stop")

    def is_connected(self) -> bool:
        """Return whether the motor's control system is reachable.

        While it is not, :meth:`get_value` is the last position received.
        """
        raise NotImplementedError

    # -- receivers (hub thread) ------------------------------------------------
    def _on_position(self, value: Any) -> None:
        self._position = value
        self.emit("valueChanged", value)

    def _on_state(self, value: Any) -> None:
        self._set_state_name(state_name(value), to_hardware_state(value))

    def _set_state_name(self, name: str, state: HardwareObjectState) -> None:
        self._state_name = name
        self.update_state(state)

    def _on_connection(self, connected: bool) -> None:
        if not connected:
            self._set_state_name("DISCONNECTED", HardwareObjectState.UNKNOWN)
        self.emit("connectionChanged", connected)

    def _on_limits(self, limits: tuple[Any, Any]) -> None:
        if limits != self._limits:
            self._limits = limits
            self.emit("limitsChanged", (limits,))

    def _on_velocity(self, value: Any) -> None:
        self.emit("velocityChanged", value)

    # -- API -------------------------------------------------------------------
    def get_value(self) -> Any:
        """Return the last known position (``None`` before the first one)."""
        return self._position

    def get_limits(self) -> tuple[Any, Any]:
        """Return ``(low, high)``; ``None`` for a limit that is not known."""
        return self._limits

    def wait_first_values(self, timeout: float | None = 10.0) -> None:
        """Wait until the position, the state and the configured limits are known.

        Right after loading, a motor's channels have not delivered their first
        values yet: :meth:`get_value` is ``None``, the state UNKNOWN and the
        limits ``None``. This waits (cooperatively in a greenlet, natively in
        a plain thread) until all of them have arrived.

        Args:
            timeout: seconds to wait at most; ``None`` waits for ever.

        Raises:
            Timeout: something was still missing after ``timeout`` seconds;
                the message says what.
        """
        changed = Event()

        def on_change(*_args: Any) -> None:
            changed.send()

        signals = ("valueChanged", "stateChanged", "limitsChanged")
        for signal in signals:
            self.connect(signal, on_change)
        deadline = None if timeout is None else monotonic() + timeout
        try:
            while True:
                changed.clear()
                missing = self._missing_first_values()
                if not missing:
                    return
                remaining = (
                    None if deadline is None else max(0.0, deadline - monotonic())
                )
                if remaining == 0.0 or not changed.wait(remaining):
                    raise Timeout(
                        f"motor {self.name()}: no {', '.join(missing)} after "
                        f"{timeout} s (connected: {self.is_connected()})"
                    )
        finally:
            for signal in signals:
                self.disconnect(signal, on_change)

    def _missing_first_values(self) -> list[str]:
        missing = []
        if self._position is None:
            missing.append("position")
        if self.get_state() is HardwareObjectState.UNKNOWN:
            missing.append("state")
        expected = self._limits_expected()
        for index, name in enumerate(("low limit", "high limit")):
            if expected[index] and self._limits[index] is None:
                missing.append(name)
        return missing

    def _limits_expected(self) -> tuple[bool, bool]:
        """Return whether a low and a high limit come from the control system."""
        return (False, False)

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

        Args:
            position: the target, in the motor's unit.
            wait: wait until the motor has moved and is ready again.
            timeout: seconds to wait at most when ``wait`` is true.

        Raises:
            Timeout: the motor was not ready again within ``timeout``.
        """
        self._start_move(position)
        if wait:
            self.wait_move_done(timeout)

    move = set_value

    def wait_move_done(
        self, timeout: float | None = None, start_timeout: float = 0.5
    ) -> None:
        """Wait until a move that was just started has ended.

        The state reports the move shortly after it starts, so this first
        waits up to ``start_timeout`` seconds for BUSY, then until the motor
        leaves BUSY (ready, at a limit, or in fault).

        Raises:
            Timeout: still moving after ``timeout`` seconds.
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
                remaining = (
                    None if deadline is None else max(0.0, deadline - monotonic())
                )
                if not changed.wait(remaining):
                    raise Timeout(f"motor {self.name()} still moving after {timeout} s")
        finally:
            self.disconnect("stateChanged", on_state)

    def _refresh_position(self) -> None:
        # Position and state come separately with no ordering between them:
        # the end-of-move state may arrive before the final position.
        value = self._read_position()
        if value != self._position:
            self._on_position(value)

    def re_emit_values(self) -> None:
        """Emit the current position, state and limits again."""
        super().re_emit_values()
        if self._position is not None:
            self.emit("valueChanged", self._position)
        self.emit("limitsChanged", (self._limits,))
