"""Helpers shared by the toolkit modules: owner hubs, clocks, error reporting."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, overload

from greenlet import getcurrent

from ..bridge import HubBridge, get_bridge, get_hub_if_exists, native
from ..errors import InvalidThreadUseError

__all__ = ["ErrorReporter", "mono_to_wall", "owner_bridge", "start_native_thread"]

log = logging.getLogger("HardwareRepository.toolkit")

# The main thread may create its hub on first use; worker threads may not.
_main_ident: int | None = threading.main_thread().ident


def owner_bridge(bridge: HubBridge | None, what: str) -> HubBridge:
    """Return ``bridge`` or the bridge of the calling thread's hub.

    A thread without a hub gets one only if it is the main thread: worker
    threads must never create a hub, so they have to pass ``bridge=``.

    :param what: names the object being created, for the error message.
    :raises InvalidThreadUseError: called in a worker thread without a hub and
        without ``bridge``.
    """
    if bridge is not None:
        return bridge
    if get_hub_if_exists() is None and native.get_ident() != _main_ident:
        raise InvalidThreadUseError(
            f"{what} runs in a gevent hub: create it in the thread that owns the "
            "hub (the GUI/main thread) or pass bridge=get_bridge() from there; "
            "a worker thread must not create a hub of its own"
        )
    return get_bridge()


def in_greenlet_of(bridge: HubBridge) -> bool:
    """Whether the caller is a greenlet (not the hub) of ``bridge``'s thread."""
    return bridge.in_hub_thread() and getcurrent() is not bridge.hub


def spawn_in(bridge: HubBridge, func: Any, *args: Any) -> None:
    """Run ``func(*args)`` in a new greenlet of ``bridge``'s hub, from any thread."""
    if bridge.in_hub_thread():
        from ..bridge import spawn_logged

        spawn_logged(func, *args)
    else:
        bridge.spawn_threadsafe(func, *args)


def start_native_thread(func: Any, *args: Any) -> int:
    """Start ``func(*args)`` in a real OS thread, even under monkey-patching."""
    return native.start_new_thread(func, args)


@overload
def mono_to_wall(mono: float) -> float: ...


@overload
def mono_to_wall(mono: None) -> None: ...


def mono_to_wall(mono: float | None) -> float | None:
    """Convert a ``time.monotonic`` instant to a ``time.time`` timestamp."""
    if mono is None:
        return None
    return time.time() - (native.monotonic() - mono)


class ErrorReporter:
    """Log the first ``first`` errors of a source with traceback, then 1 in ``every``.

    fandango printed only the first 10 errors of a periodic object; this keeps
    that idea but goes through the package's logger and keeps counting.

    :param source: named in every message.
    """

    def __init__(self, source: str, first: int = 10, every: int = 100) -> None:
        self.source = source
        self.first = first
        self.every = every
        self.count = 0

    def report(self, exc: BaseException, what: str = "failed") -> None:
        """Count ``exc`` and log it if it is one of the errors to log."""
        self.count += 1
        n = self.count
        if n <= self.first:
            suffix = (
                f" (later errors are logged 1 in {self.every})"
                if (n == self.first)
                else ""
            )
            log.error(
                "%s %s (error %d)%s",
                self.source,
                what,
                n,
                suffix,
                exc_info=(type(exc), exc, exc.__traceback__),
            )
        elif (n - self.first) % self.every == 0:
            log.error("%s %s: %r (error %d)", self.source, what, exc, n)
