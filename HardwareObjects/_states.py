"""Map control-system state names to :class:`HardwareObjectState`.

Hardware-object classes see states as values of a ``state`` channel: a Tango
``DevState``, a TINE or Taco string, a simulated string. Only the name matters
here, so the classes stay independent of the control system.
"""

from __future__ import annotations

from typing import Any

from HardwareRepository.BaseHardwareObjects import HardwareObjectState

_BY_NAME = {
    "ON": HardwareObjectState.READY,
    "READY": HardwareObjectState.READY,
    "STANDBY": HardwareObjectState.READY,
    "OPEN": HardwareObjectState.READY,
    "CLOSE": HardwareObjectState.READY,
    "CLOSED": HardwareObjectState.READY,
    "EXTRACT": HardwareObjectState.READY,
    "INSERT": HardwareObjectState.READY,
    "MOVING": HardwareObjectState.BUSY,
    "RUNNING": HardwareObjectState.BUSY,
    "BUSY": HardwareObjectState.BUSY,
    "INIT": HardwareObjectState.BUSY,
    "ALARM": HardwareObjectState.WARNING,
    "WARNING": HardwareObjectState.WARNING,
    "DISABLE": HardwareObjectState.WARNING,
    "FAULT": HardwareObjectState.FAULT,
    "OFF": HardwareObjectState.OFF,
}


def state_name(value: Any) -> str:
    """Return the upper-case name of a control-system state value."""
    name = getattr(value, "name", None)
    return str(name if isinstance(name, str) else value).strip().upper()


def to_hardware_state(value: Any) -> HardwareObjectState:
    """Translate a state value (``DevState.MOVING``, ``"ON"``...) to a HO state.

    Unknown names give ``UNKNOWN``.
    """
    return _BY_NAME.get(state_name(value), HardwareObjectState.UNKNOWN)
