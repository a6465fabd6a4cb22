"""The quality of a channel value."""

from __future__ import annotations

import enum

__all__ = ["Quality"]


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
