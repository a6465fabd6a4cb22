"""Compare two values of a control system without ever raising."""

from __future__ import annotations

import logging
import math
import sys
from collections.abc import Mapping
from typing import Any

__all__ = ["values_equal"]

log = logging.getLogger("HardwareRepository.policies")

_MAX_DEPTH = 32
# Types whose == is a plain truth value (NaN handled apart): the fast path.
_SIMPLE = frozenset({int, float, str, bytes, bool, complex, type(None)})


def values_equal(old: Any, new: Any) -> bool:
    """Return whether a value is unchanged (``new`` equals ``old``); never raises.

    * numpy arrays are equal when shape, dtype and every element are (NaN
      equals NaN); a change of shape or dtype is a change;
    * a float NaN equals a float NaN;
    * lists, tuples and dicts are compared element by element with these
      rules (so a list of arrays works), down to a depth of 32;
    * anything else with ``==``; a result that is not a truth value, or an
      ``__eq__`` that raises, counts as *changed*.
    """
    if old is new:
        return True
    try:
        return _equal(old, new, 0)
    except Exception as exc:
        log.debug("comparing %r with %r raised %r: counted as changed", old, new, exc)
        return False


def _is_array(value: Any) -> bool:
    numpy = sys.modules.get("numpy")
    return numpy is not None and isinstance(value, numpy.ndarray)


def _equal(old: Any, new: Any, depth: int) -> bool:
    if old is new:
        return True
    kind = type(old)
    if kind is type(new) and kind in _SIMPLE:
        return old == new or (old != old and new != new)  # NaN: x != x
    if _is_array(old) or _is_array(new):
        return _arrays_equal(old, new, depth)
    if depth < _MAX_DEPTH:
        if isinstance(old, (list, tuple)) and isinstance(new, (list, tuple)):
            return (
                type(old) is type(new)
                and len(old) == len(new)
                and all(_equal(a, b, depth + 1) for a, b in zip(old, new, strict=True))
            )
        if isinstance(old, Mapping) and isinstance(new, Mapping):
            return (
                type(old) is type(new)
                and old.keys() == new.keys()
                and all(_equal(old[k], new[k], depth + 1) for k in old)
            )
    if _is_nan(old) and _is_nan(new):
        return True
    result = old == new
    if isinstance(result, bool):
        return result
    # numpy.bool_ and the like; anything without a truth value raises -> changed
    return bool(result) if type(result).__name__ in ("bool_", "bool") else False


def _is_nan(value: Any) -> bool:
    if isinstance(value, float):
        return math.isnan(value)
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, (numpy.floating, numpy.complexfloating)):
        return bool(numpy.isnan(value))
    if isinstance(value, complex):
        return math.isnan(value.real) or math.isnan(value.imag)
    return False


def _arrays_equal(old: Any, new: Any, depth: int) -> bool:
    import numpy

    if not (isinstance(old, numpy.ndarray) and isinstance(new, numpy.ndarray)):
        return False
    if old.shape != new.shape or old.dtype != new.dtype:
        return False
    if old.dtype.kind in "fc":
        return bool(numpy.array_equal(old, new, equal_nan=True))
    if old.dtype.kind == "O":
        return depth < _MAX_DEPTH and all(
            _equal(a, b, depth + 1)
            for a, b in zip(old.ravel().tolist(), new.ravel().tolist(), strict=True)
        )
    return bool(numpy.array_equal(old, new))
