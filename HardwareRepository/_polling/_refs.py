"""How the Poller refers to the polled callable and to its callbacks."""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Callable
from typing import Any

__all__ = ["CallableRef", "callable_ref", "callback_ref"]

CallableRef = Callable[[], Callable[..., Any] | None]


def _strong(func: Callable[..., Any]) -> CallableRef:
    return lambda: func


def callable_ref(
    func: Callable[..., Any], on_collected: Callable[[Any], None]
) -> tuple[CallableRef, bool]:
    """Refer to the polled callable weakly where Python allows it.

    * a bound method: weakly, through its object (``weakref.WeakMethod``);
    * a function, lambda or callable object: weakly (``weakref.ref``), so a
      lambda not referenced elsewhere is collected at once;
    * what cannot be referenced weakly (builtins such as ``time.time``, methods
      of builtin types, objects with ``__slots__``): strongly.

    :param on_collected: called (in whatever thread the collection happens)
        when a weakly referenced callable is collected.
    :returns: the reference and whether it is weak.
    """
    try:
        if inspect.ismethod(func):
            return weakref.WeakMethod(func, on_collected), True
        return weakref.ref(func, on_collected), True
    except TypeError:
        return _strong(func), False


def callback_ref(
    func: Callable[..., Any] | None, on_collected: Callable[[Any], None]
) -> tuple[CallableRef | None, bool]:
    """Refer to a callback: bound methods weakly, everything else strongly.

    A bound-method callback must not keep its object (the poller's owner)
    alive; a function or lambda is kept so that ``poll(f, value_changed_callback
    =lambda v: ...)`` works. ``None`` stays ``None``.

    :returns: the reference (``None`` for no callback) and whether it is weak.
    """
    if func is None:
        return None, False
    if not callable(func):
        raise TypeError(f"callback {func!r} is not callable")
    if inspect.ismethod(func):
        try:
            return weakref.WeakMethod(func, on_collected), True
        except TypeError:
            return _strong(func), False
    return _strong(func), False
