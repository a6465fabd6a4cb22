"""Policies every control system and the poller share, written once.

* :func:`values_equal` -- whether a value changed: numpy arrays of any shape
  and dtype, NaN equal to NaN, nested lists, tuples and dicts; never raises.

This package sits below the poller and the object layer, and imports neither.
"""

from ._compare import values_equal

__all__ = ["values_equal"]
