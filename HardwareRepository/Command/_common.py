"""What the Taco and TINE modules share: client selection, arguments, retries.

* :func:`client_module` -- the real client library, imported on first use, or
  the simulated one when it was asked for explicitly (:func:`wants_simulation`);
* :func:`parse_args` -- XML ``args`` as Python literals (never evaluated);
* :func:`call_in_thread` -- one blocking client call in a new real thread;
* :class:`Backoff` -- the retry delays of a link that keeps failing;
* :func:`values_equal` -- a comparison that never raises (numpy arrays too).

Private to :mod:`HardwareRepository.Command`.
"""

from __future__ import annotations

import ast
import importlib
import logging
import os
from collections.abc import Callable
from types import ModuleType
from typing import Any, TypeVar

from ..bridge import AsyncResult, _native
from ..errors import ConfigError

__all__ = [
    "Backoff",
    "MissingClientLibraryError",
    "call_in_thread",
    "client_module",
    "milliseconds",
    "parse_args",
    "values_equal",
    "wants_simulation",
]

T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _flag(value: Any, what: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{what}={value!r} is not a boolean (true/false)")


def wants_simulation(attrs: dict[str, Any], owner: Any, env_var: str) -> bool:
    """Return whether the simulated client was asked for, and consume the attribute.

    Asked for by, in order: the element's ``simulated`` attribute, the owning
    object's ``simulated`` property, the environment variable ``env_var``
    (``1``/``true``/``yes``/``on``). Nothing else selects it: a missing real
    library is an error, never a silent switch to the simulation.

    :raises ConfigError: one of them is not a boolean.
    """
    raw = attrs.pop("simulated", None)
    if raw is not None:
        return _flag(raw, "simulated")
    if owner is not None:
        prop = owner.get_property("simulated")
        if prop is not None:
            return _flag(prop, "simulated (object property)")
    env = os.environ.get(env_var)
    if env is not None:
        return _flag(env, env_var)
    return False


class MissingClientLibraryError(ConfigError, ImportError):
    """A control system's client library is not installed.

    Both a :class:`~HardwareRepository.errors.ConfigError` (the configuration
    asks for something this installation lacks; its message is shown as is)
    and an :class:`ImportError` (what the plug-in contract lets propagate).
    The original ``ImportError`` is the ``__cause__``.
    """


def client_module(
    real_name: str, simulated_name: str, simulated: bool, description: str, hint: str
) -> ModuleType:
    """Import and return the client library module.

    :param real_name: the real client's module name (``"tine"``, ``"TacoDevice"``).
    :param simulated_name: the dotted name of the simulated client module.
    :param description: the library, for the error message.
    :param hint: how to select the simulation instead, for the error message.
    :raises MissingClientLibraryError: the real library is not installed; the
        message names it and says how to select the simulated client.
    """
    if simulated:
        return importlib.import_module(simulated_name)
    try:
        return importlib.import_module(real_name)
    except ImportError as exc:
        raise MissingClientLibraryError(
            f"the {description} is not installed: Python module {real_name} "
            f"cannot be imported ({exc}); install it, or {hint}"
        ) from exc


def parse_args(raw: Any, what: str = "args") -> tuple[Any, ...]:
    """Parse an XML argument list into a tuple of Python literals.

    Accepts what mxCuBE's ``eval("(" + args + ",)")`` accepted for literals:
    ``"1, 2"`` -> ``(1, 2)``; ``"'abc'"`` -> ``("abc",)``; ``"[1, 2]"`` ->
    ``([1, 2],)``; a number already converted by the XML loader -> one
    argument. Names, calls and any other expression are refused.

    :raises ConfigError: the text is not a comma-separated list of literals.
    """
    if raw is None:
        return ()
    if not isinstance(raw, str):
        return (raw,)
    text = raw.strip()
    if not text:
        return ()
    if not text.endswith(","):
        text += ","
    try:
        value = ast.literal_eval(f"({text})")
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise ConfigError(
            f"{what}={raw!r} is not a comma-separated list of Python literals "
            "(numbers, quoted strings, lists, tuples, dicts, True/False/None)"
        ) from None
    return tuple(value)


def milliseconds(
    attrs: dict[str, Any], key: str, default: float | None
) -> float | None:
    """Pop ``key`` (milliseconds in XML) and return it in seconds.

    :param default: seconds when the attribute is absent.
    :raises ConfigError: not a positive number.
    """
    raw = attrs.pop(key, None)
    if raw is None:
        return default
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or raw <= 0:
        raise ConfigError(f"{key}={raw!r} must be a positive number of milliseconds")
    return raw / 1000.0


def call_in_thread(
    func: Callable[..., T], *args: Any, name: str | None = None
) -> AsyncResult[T]:
    """Run ``func(*args)`` in a new real OS thread; safe from any thread.

    For blocking client-library calls: the caller waits on the returned result
    (cooperatively in a greenlet, natively in a thread). The thread ends when
    ``func`` returns; abandoning the wait never interrupts the call, which
    ends when the client's own timeout expires. The thread creates no gevent
    object.
    """
    result: AsyncResult[T] = AsyncResult(name=name)

    def main() -> None:
        try:
            value = func(*args)
        except BaseException as exc:
            result.set_exception(exc)
        else:
            result.set(value)

    _native.start_new_thread(main, ())
    return result


class Backoff:
    """Retry delays that double from ``first`` up to ``maximum`` seconds.

    Not thread-safe: use it from one thread (the hub thread of its channel).
    """

    def __init__(self, first: float = 1.0, maximum: float = 30.0) -> None:
        if first <= 0 or maximum < first:
            raise ValueError(f"bad backoff {first} s .. {maximum} s")
        self.first = first
        self.maximum = maximum
        self._next = first
        #: failures since the last :meth:`reset`
        self.failures = 0

    def next_delay(self) -> float:
        """Count a failure and return the delay before the next attempt (s)."""
        delay = self._next
        self.failures += 1
        self._next = min(self._next * 2.0, self.maximum)
        return delay

    def reset(self) -> None:
        """Forget the failures (after a success)."""
        self._next = self.first
        self.failures = 0


def values_equal(old: Any, new: Any) -> bool:
    """Return whether two client values are equal; never raises.

    numpy arrays compare element-wise (shape included, NaN equal to NaN);
    sequences compare item by item; an ``__eq__`` that raises counts as
    "changed".
    """
    if old is new:
        return True
    try:
        if _is_array(old) or _is_array(new):
            import numpy

            try:
                return bool(numpy.array_equal(old, new, equal_nan=True))
            except TypeError:  # no NaN in non-float dtypes (strings, objects)
                return bool(numpy.array_equal(old, new))
        if isinstance(old, (list, tuple)) and isinstance(new, (list, tuple)):
            return (
                type(old) is type(new)
                and len(old) == len(new)
                and all(values_equal(a, b) for a, b in zip(old, new, strict=True))
            )
        if isinstance(old, float) and isinstance(new, float):
            return old == new or (old != old and new != new)
        return bool(old == new)
    except Exception:
        logging.getLogger("HardwareRepository.commands").debug(
            "comparing %r and %r failed; counted as changed", old, new, exc_info=True
        )
        return False


def _is_array(value: Any) -> bool:
    return type(value).__module__ == "numpy" and hasattr(value, "shape")
