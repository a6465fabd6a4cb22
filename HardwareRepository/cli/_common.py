"""What every ``hwr`` command shares: errors, the configuration path, output, Ctrl-C."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import gevent

from ..bridge import Event
from ..errors import NotConnectedError

__all__ = [
    "CONFIG_ENV",
    "DEFAULT_CONFIG",
    "ActionFailedError",
    "BadValueError",
    "StoppedByUserError",
    "UsageError",
    "WallClock",
    "config_path",
    "config_source",
    "emit",
    "explain",
    "one_line",
    "until_interrupted",
    "warn",
]

CONFIG_ENV = "HWR_CONFIG"
DEFAULT_CONFIG = "configuration"


class UsageError(Exception):
    """The user asked for something that does not exist or makes no sense (exit 2)."""


class ActionFailedError(Exception):
    """The command ran but did not achieve its goal; the message says why (exit 1)."""


class StoppedByUserError(Exception):
    """Ctrl-C ended a command before it finished; the message says where (exit 130)."""


class BadValueError(UsageError):
    """A value the hardware cannot take: wrong type, read-only, beyond limits."""


def one_line(exc: BaseException) -> str:
    """Return ``"Type: message"`` on one line (Tango's reasons hold newlines)."""
    return " ".join(f"{type(exc).__name__}: {exc}".split())


def explain(exc: BaseException) -> str:
    """Return one line naming the cause of a hardware failure.

    A device that cannot be reached is said to be so, with the likely cause
    (its server is not running), rather than the control system's last
    message (cppTango's "connection request was delayed" after a first
    failed attempt says nothing about why).
    """
    if isinstance(exc, NotConnectedError):
        device = getattr(exc, "device", None)
        target = getattr(exc, "target", None)
        if device and target:
            reasons = ", ".join(dict.fromkeys(getattr(exc, "reasons", ()))) or "-"
            return (
                f"{device}: {target}: cannot reach the device: its device server is "
                f"not running, or not at the configured address (Tango: {reasons})"
            )
    return one_line(exc)


def config_source(args: argparse.Namespace) -> tuple[str, str]:
    """Return the configuration path the user chose, and where it came from.

    The argument wins over ``--config``, which wins over ``$HWR_CONFIG``;
    otherwise ``./configuration``.

    Raises:
        UsageError: a directory of the path does not exist.
    """
    choices = (
        (getattr(args, "path", None), "argument"),
        (getattr(args, "config", None), "--config"),
        (os.environ.get(CONFIG_ENV), f"${CONFIG_ENV}"),
    )
    path, source = next(
        ((str(p), s) for p, s in choices if p), (DEFAULT_CONFIG, "the default")
    )
    for part in path.split(os.pathsep):
        if part and not os.path.isdir(part):
            raise UsageError(f"configuration directory {part!r} does not exist")
    return path, source


def config_path(args: argparse.Namespace) -> str:
    """Return the configuration path the user chose (argument, option, env)."""
    return config_source(args)[0]


def emit(args: argparse.Namespace, data: Any, text: str | None) -> None:
    """Print ``data`` as JSON with ``--json``, else ``text`` (if not ``None``)."""
    if getattr(args, "json", False):
        print(json.dumps(data, default=_jsonable), flush=True)
    elif text is not None:
        print(text, flush=True)


def _jsonable(value: Any) -> Any:
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return tolist()  # numpy arrays and scalars
    name = getattr(value, "name", None)
    return name if isinstance(name, str) else str(value)


def warn(message: str) -> None:
    """Print one line to standard error (not part of the command's output)."""
    print(message, file=sys.stderr, flush=True)


@contextmanager
def until_interrupted(also: Callable[[], None] | None = None) -> Iterator[Event]:
    """Yield an Event set by Ctrl-C (SIGINT) or SIGTERM, handled in the hub.

    Args:
        also: called too, in the hub, on each such signal (to wake a wait).
    """
    stop = Event()

    def on_signal() -> None:
        stop.send()
        if also is not None:
            also()

    handlers = [
        gevent.signal_handler(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)
    ]
    try:
        yield stop
    finally:
        for handler in handlers:
            handler.cancel()


class WallClock:
    """Wall-clock time that never goes backwards during a command.

    The wall time is read once, at creation; later times add the monotonic
    clock's progress, so the stamps of successive lines never decrease, even
    if the system clock is stepped.
    """

    def __init__(self) -> None:
        self._wall = time.time()
        self._start = time.monotonic()

    def now(self) -> float:
        """Return seconds since the epoch (monotonic since creation)."""
        return self._wall + (time.monotonic() - self._start)

    def stamp(self, when: float | None = None) -> str:
        """Return ``HH:MM:SS.mmm`` of ``when`` (default :meth:`now`, read once)."""
        now = self.now() if when is None else when
        return (
            time.strftime("%H:%M:%S", time.localtime(now))
            + f".{int(now * 1000) % 1000:03d}"
        )
