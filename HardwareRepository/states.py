"""One vocabulary of states for every view: the table, the window, ``hwr``.

A hardware object has a general state (:class:`HardwareObjectState`: READY,
BUSY, WARNING, FAULT, OFF, UNKNOWN). Many also know a more precise name from
their control system or their kind: a motor's Tango state (``ON``,
``MOVING``, ``ALARM``), a shutter's position (``OPEN``, ``CLOSED``), or
``DISCONNECTED``. Every view writes the general state first and that name
beside it, in brackets, when it differs: ``READY (ON)``, ``BUSY (MOVING)``,
``READY (CLOSED)``, ``UNKNOWN (DISCONNECTED)``.

Nothing here imports Qt or a control system.
"""

from __future__ import annotations

from typing import Any

from .BaseHardwareObjects import HardwareObjectState

__all__ = ["describe_state", "native_state_name", "object_state_text"]


def describe_state(state: HardwareObjectState | None, native: str = "") -> str:
    """Return ``"READY"``, or ``"READY (ON)"`` when ``native`` adds a name.

    Args:
        state: the general state; ``None`` counts as UNKNOWN.
        native: the control system's or the object's own name of the state
            (any case); empty, or equal to the general state's name, adds
            nothing.
    """
    general = (state or HardwareObjectState.UNKNOWN).name
    native = native.strip().upper()
    if not native or native == general:
        return general
    return f"{general} ({native})"


def native_state_name(obj: Any) -> str:
    """Return the object's own name of its state, or ``""`` if it has none.

    A shutter's position (``get_shutter_state()``: ``OPEN``, ``CLOSED``...)
    comes first, then a control-system state name (``get_state_name()``:
    ``ON``, ``MOVING``, ``ALARM``...); an object whose ``is_connected()`` is
    false gives ``DISCONNECTED``. Objects without any of these give ``""``.
    """
    connected = getattr(type(obj), "is_connected", None)
    if callable(connected) and not obj.is_connected():
        return "DISCONNECTED"
    for method in ("get_shutter_state", "get_state_name"):
        read = getattr(type(obj), method, None)
        if callable(read):
            return str(getattr(obj, method)() or "").upper()
    return ""


def object_state_text(obj: Any) -> str:
    """Return an object's state in the shared vocabulary (``"READY (ON)"``).

    Args:
        obj: a hardware object (anything with ``get_state()``).
    """
    return describe_state(obj.get_state(), native_state_name(obj))
