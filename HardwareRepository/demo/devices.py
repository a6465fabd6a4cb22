"""Tango device classes of the demo beamline (simulated physics, real servers).

Every device pushes change events itself (no Tango polling is configured), so
the demo shows both event channels and client-polled channels. The motion and
beam simulations run in one daemon thread per device, started in
``init_device`` and stopped in ``delete_device``.
"""

from __future__ import annotations

import math
import threading
import time

from tango import AttrQuality, AttrWriteType, DevState
from tango.server import Device, attribute, command, device_property

__all__ = ["DemoMachineInfo", "DemoMotor", "DemoShutter"]

TICK = 0.05  # s, simulation step


class _Simulated(Device):
    """A device whose state advances in a background thread every ``TICK``."""

    def init_device(self) -> None:
        super().init_device()  # reads the device properties
        self._lock = threading.Lock()
        self.setup()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, name=f"sim-{self.get_name()}", daemon=True
        )
        self._thread.start()

    def delete_device(self) -> None:
        self._stop.set()
        self._thread.join(2)
        super().delete_device()

    def _loop(self) -> None:
        last = time.monotonic()
        while not self._stop.wait(TICK):
            now = time.monotonic()
            try:
                with self._lock:
                    self.step(now - last)
            except Exception as exc:  # keep simulating; report through the state
                self.set_state(DevState.FAULT)
                self.set_status(f"simulation error: {exc!r}")
            last = now

    def setup(self) -> None:
        """Initialise the simulated state; the device properties are read."""

    def step(self, dt: float) -> None:
        """Advance the simulation by ``dt`` seconds (holding ``self._lock``)."""


class DemoMotor(_Simulated):
    """A motor with velocity, acceleration and limits.

    Writing ``Position`` starts a move (state MOVING). A target beyond a limit
    stops the motor at that limit in state ALARM; ``Stop`` decelerates at once.
    """

    InitialPosition = device_property(dtype=float, default_value=0.0)
    InitialVelocity = device_property(dtype=float, default_value=1.0)
    InitialAcceleration = device_property(dtype=float, default_value=4.0)
    InitialLowLimit = device_property(dtype=float, default_value=-100.0)
    InitialHighLimit = device_property(dtype=float, default_value=100.0)
    Unit = device_property(dtype=str, default_value="mm")

    def setup(self) -> None:
        """Start at rest at position 0 within the configured limits."""
        self._position = self.InitialPosition
        self._target = self._position
        self._speed = 0.0
        self._velocity = self.InitialVelocity
        self._acceleration = self.InitialAcceleration
        self._low = self.InitialLowLimit
        self._high = self.InitialHighLimit
        for name in ("Position", "State", "Velocity", "LowLimit", "HighLimit"):
            self.set_change_event(name, True, False)
        self.set_state(DevState.ON)
        self.set_status("ready")

    @attribute(dtype=float, access=AttrWriteType.READ_WRITE, format="%8.4f")
    def Position(self):  # no return hint: PyTango reads hints as dtypes
        """Return the position with quality CHANGING while moving, else VALID."""
        quality = (
            AttrQuality.ATTR_CHANGING
            if self.get_state() == DevState.MOVING
            else AttrQuality.ATTR_VALID
        )
        return self._position, time.time(), quality

    @Position.write  # type: ignore[no-redef]  # PyTango setter, same name
    def Position(self, target: float) -> None:
        """Start a move to ``target`` (a new target while moving redirects it)."""
        with self._lock:
            if self.get_state() == DevState.MOVING:
                self._target = target
                return
            self._target = target
            self._set_state(DevState.MOVING, f"moving to {target:g}")

    @attribute(dtype=float, access=AttrWriteType.READ_WRITE, min_value=0.0)
    def Velocity(self):
        """Return the top speed, units per second."""
        return self._velocity

    @Velocity.write  # type: ignore[no-redef]  # PyTango setter, same name
    def Velocity(self, value: float) -> None:
        """Set the top speed, units per second."""
        self._velocity = value
        self.push_change_event("Velocity", value)

    @attribute(dtype=float, access=AttrWriteType.READ_WRITE, min_value=0.0)
    def Acceleration(self):
        """Return the acceleration, units per second squared."""
        return self._acceleration

    @Acceleration.write  # type: ignore[no-redef]  # PyTango setter, same name
    def Acceleration(self, value: float) -> None:
        """Set the acceleration, units per second squared."""
        self._acceleration = value

    @attribute(dtype=float, access=AttrWriteType.READ_WRITE)
    def LowLimit(self):
        """Return the low software limit."""
        return self._low

    @LowLimit.write  # type: ignore[no-redef]  # PyTango setter, same name
    def LowLimit(self, value: float) -> None:
        """Set the low software limit."""
        self._low = value
        self.push_change_event("LowLimit", value)

    @attribute(dtype=float, access=AttrWriteType.READ_WRITE)
    def HighLimit(self):
        """Return the high software limit."""
        return self._high

    @HighLimit.write  # type: ignore[no-redef]  # PyTango setter, same name
    def HighLimit(self, value: float) -> None:
        """Set the high software limit."""
        self._high = value
        self.push_change_event("HighLimit", value)

    @attribute(dtype=str)
    def UnitName(self):
        """Return the unit of the position."""
        return self.Unit

    @command
    def Stop(self) -> None:
        """Stop where the motor is now."""
        with self._lock:
            if self.get_state() == DevState.MOVING:
                self._target = self._position
                self._speed = 0.0
                self._finish(DevState.ON, "stopped")

    def _set_state(self, state: DevState, status: str) -> None:
        self.set_state(state)
        self.set_status(status)
        self.push_change_event("State", state)

    def _finish(self, state: DevState, status: str) -> None:
        self.push_change_event("Position", self._position)
        self._set_state(state, status)

    def step(self, dt: float) -> None:
        """Accelerate, cruise and brake towards the target; stop at a limit."""
        if self.get_state() != DevState.MOVING:
            return
        target = min(max(self._target, self._low), self._high)
        distance = target - self._position
        braking = self._speed**2 / (2 * self._acceleration) if self._acceleration else 0
        if abs(distance) <= braking or abs(distance) < 1e-9:
            self._speed = max(0.0, self._speed - self._acceleration * dt)
        else:
            self._speed = min(self._velocity, self._speed + self._acceleration * dt)
        move = math.copysign(max(self._speed * dt, 1e-6), distance)
        if abs(move) >= abs(distance):
            self._position = target
            self._speed = 0.0
            if target != self._target:
                self._finish(DevState.ALARM, f"stopped at limit {target:g}")
            else:
                self._finish(DevState.ON, "ready")
            return
        self._position += move
        self.push_change_event(
            "Position", self._position, time.time(), AttrQuality.ATTR_CHANGING
        )


class DemoShutter(_Simulated):
    """A safety shutter: ``Open``/``Close`` take ``OpenTime``/``CloseTime`` seconds.

    State: OPEN, CLOSE, MOVING while it travels; FAULT if commanded while the
    interlock (attribute ``Interlock``) is set.
    """

    OpenTime = device_property(dtype=float, default_value=0.5)
    CloseTime = device_property(dtype=float, default_value=0.3)

    def setup(self) -> None:
        """Start closed, with the interlock released."""
        self._remaining = 0.0
        self._goal = DevState.CLOSE
        self._interlock = False
        self.set_change_event("State", True, False)
        self.set_state(DevState.CLOSE)
        self.set_status("closed")

    @attribute(dtype=bool, access=AttrWriteType.READ_WRITE)
    def Interlock(self):
        """Return whether the interlock forbids moving the shutter."""
        return self._interlock

    @Interlock.write  # type: ignore[no-redef]  # PyTango setter, same name
    def Interlock(self, value: bool) -> None:
        """Set or release the interlock."""
        self._interlock = value

    def _command(self, goal: DevState, duration: float) -> None:
        with self._lock:
            if self._interlock:
                self.set_state(DevState.FAULT)
                self.set_status("interlock set: shutter cannot move")
                self.push_change_event("State", DevState.FAULT)
                raise RuntimeError("interlock set: shutter cannot move")
            if self.get_state() == goal:
                return
            self._goal = goal
            self._remaining = duration
            self.set_state(DevState.MOVING)
            self.set_status("moving")
            self.push_change_event("State", DevState.MOVING)

    @command
    def Open(self) -> None:
        """Open the shutter (takes ``OpenTime`` seconds)."""
        self._command(DevState.OPEN, self.OpenTime)

    @command
    def Close(self) -> None:
        """Close the shutter (takes ``CloseTime`` seconds)."""
        self._command(DevState.CLOSE, self.CloseTime)

    def step(self, dt: float) -> None:
        """Count down the travel and reach the goal state when it is over."""
        if self.get_state() != DevState.MOVING:
            return
        self._remaining -= dt
        if self._remaining <= 0:
            self.set_state(self._goal)
            self.set_status("open" if self._goal == DevState.OPEN else "closed")
            self.push_change_event("State", self._goal)


class DemoMachineInfo(_Simulated):
    """A storage ring: the current decays and is topped up when it falls too low."""

    FullCurrent = device_property(dtype=float, default_value=200.0)
    RefillBelow = device_property(dtype=float, default_value=190.0)
    Lifetime = device_property(dtype=float, default_value=600.0)  # s
    RefillRate = device_property(dtype=float, default_value=20.0)  # mA/s

    def setup(self) -> None:
        """Start full, delivering beam, with change events on current and message."""
        self._current = self.FullCurrent
        self._refilling = False
        self._message = "Beam delivered"
        self.set_change_event("Current", True, False)
        self.set_change_event("Message", True, False)
        self.set_state(DevState.ON)

    @attribute(dtype=float, unit="mA", format="%6.2f")
    def Current(self):
        """Return the ring current, mA."""
        return self._current

    @attribute(dtype=str)
    def Message(self):
        """Return the operator message (beam delivered, top-up in progress)."""
        return self._message

    @attribute(dtype=float, unit="s")
    def Lifetime_(self):
        """Return the configured beam lifetime, seconds."""
        return self.Lifetime

    def step(self, dt: float) -> None:
        """Decay the current, or top it up below the refill threshold; push events."""
        if self._refilling:
            self._current = min(self.FullCurrent, self._current + self.RefillRate * dt)
            if self._current >= self.FullCurrent:
                self._refilling = False
                self._message = "Beam delivered"
                self.push_change_event("Message", self._message)
        else:
            self._current *= math.exp(-dt / self.Lifetime)
            if self._current < self.RefillBelow:
                self._refilling = True
                self._message = "Top-up in progress"
                self.push_change_event("Message", self._message)
        self.push_change_event("Current", self._current)
