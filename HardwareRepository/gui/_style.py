"""Colours of states, shared by every panel."""

from __future__ import annotations

from HardwareRepository.BaseHardwareObjects import HardwareObjectState

__all__ = ["GREY", "state_colour", "state_style"]

GREEN = "#4caf50"
YELLOW = "#fdd835"
ORANGE = "#fb8c00"
RED = "#e53935"
BLUE = "#64b5f6"
SLATE = "#78909c"
GREY = "#bdbdbd"
BROWN_GREY = "#a1887f"

_BY_STATE = {
    HardwareObjectState.READY: GREEN,
    HardwareObjectState.BUSY: YELLOW,
    HardwareObjectState.WARNING: ORANGE,
    HardwareObjectState.FAULT: RED,
    HardwareObjectState.OFF: SLATE,
    HardwareObjectState.UNKNOWN: GREY,
}

# Names (a control system's, a shutter's) that say more than the general
# state, each with a colour of its own: a shutter's OPEN and CLOSED are both
# READY, but must not look alike.
_BY_NAME = {
    "ALARM": ORANGE,
    "MOVING": YELLOW,
    "FAULT": RED,
    "CLOSED": BLUE,
    "OPEN": GREEN,
    "DISCONNECTED": BROWN_GREY,
    "OFF": SLATE,
}


def state_colour(state: HardwareObjectState | None, name: str = "") -> str:
    """Return the colour (``#rrggbb``) that shows a state.

    READY green, BUSY/MOVING yellow, WARNING/ALARM orange, FAULT red, OFF
    slate, UNKNOWN light grey; a shutter's CLOSED blue and OPEN green;
    DISCONNECTED brown-grey.

    Args:
        state: the general state; ``None`` counts as UNKNOWN.
        name: the control system's or the object's own state name
            (``"ALARM"``, ``"CLOSED"``), which wins over ``state`` when it is
            one of the names above.
    """
    by_name = _BY_NAME.get(name.upper())
    if by_name is not None:
        return by_name
    return _BY_STATE.get(state, GREY) if state is not None else GREY


def state_style(colour: str) -> str:
    """Return the style sheet of a state badge (a label) in ``colour``."""
    return (
        f"background-color: {colour}; color: black; border-radius: 4px;"
        " padding: 2px 8px; font-weight: bold;"
    )
