"""The quality of a channel value, and the "no value yet" marker."""

from __future__ import annotations

import enum
from typing import Any

__all__ = ["NOT_INITIALIZED", "Quality"]


class _NotInitialized:
    """The value of a channel that has not received one yet."""

    _instance: _NotInitialized | None = None

    def __new__(cls) -> _NotInitialized:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NOT_INITIALIZED"

    def __bool__(self) -> bool:
        return False


NOT_INITIALIZED: Any = _NotInitialized()
"""Marker for "no value yet" (distinct from a ``None`` value)."""


class Quality(enum.Enum):
    """The quality of a channel value, after Tango's ``AttrQuality``.

    ``VALID``: a good value. ``WARNING`` / ``ALARM``: a good reading outside
    the configured warning or alarm range (delivered, never dropped).
    ``CHANGING``: the value is moving (a motor position while it moves).
    ``INVALID``: the control system says the value is not usable, or the
    channel lost its connection (the last value is kept). ``UNKNOWN``: no value
    yet.
    """

    VALID = "VALID"
    WARNING = "WARNING"
    ALARM = "ALARM"
    CHANGING = "CHANGING"
    INVALID = "INVALID"
    UNKNOWN = "UNKNOWN"
