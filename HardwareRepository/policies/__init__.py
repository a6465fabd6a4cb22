"""Policies every control system and the poller share, written once.

* :func:`values_equal` -- whether a value changed: numpy arrays of any shape
  and dtype, NaN equal to NaN, nested lists, tuples and dicts; never raises.
* :class:`ConnectionHealth` -- whether a link works: each outage logged once
  (then at debug level), the recovery logged, the last error kept, and the
  link's :class:`RetryBackoff` (delays doubling up to a maximum).
* :data:`NOT_INITIALIZED` -- the one "no value yet" marker of channels and
  backends (distinct from a ``None`` value, and false).

This package sits below the poller and the object layer, and imports neither.
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_exports
from ._compare import values_equal
from ._sentinel import NOT_INITIALIZED

# Imported on first use: only backends on a client library reconnect.
if TYPE_CHECKING:
    from ._health import ConnectionHealth, RetryBackoff
else:
    __getattr__ = lazy_exports(
        __name__, {"ConnectionHealth": "._health", "RetryBackoff": "._health"}
    )

__all__ = ["NOT_INITIALIZED", "ConnectionHealth", "RetryBackoff", "values_equal"]
