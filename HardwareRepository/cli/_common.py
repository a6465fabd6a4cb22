"""What every ``hwr`` command shares: usage errors, the configuration path, Ctrl-C."""

from __future__ import annotations

import argparse
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager

import gevent

from ..bridge import Event

__all__ = ["CONFIG_ENV", "UsageError", "config_path", "one_line", "until_interrupted"]

CONFIG_ENV = "HWR_CONFIG"


class UsageError(Exception):
    """The user asked for something that does not exist or makes no sense."""


def one_line(exc: BaseException) -> str:
    """Return ``"Type: message"`` on one line (Tango's reasons hold newlines)."""
    return " ".join(f"{type(exc).__name__}: {exc}".split())


def config_path(args: argparse.Namespace) -> str:
    """Return the configuration path the user chose (argument, option, env)."""
    path = (
        getattr(args, "path", None)
        or args.config
        or os.environ.get(CONFIG_ENV)
        or "configuration"
    )
    for part in path.split(os.pathsep):
        if part and not os.path.isdir(part):
            raise UsageError(f"configuration directory {part!r} does not exist")
    return path


@contextmanager
def until_interrupted() -> Iterator[Event]:
    """Yield an Event set by Ctrl-C (SIGINT) or SIGTERM, handled in the hub."""
    stop = Event()
    handlers = [
        gevent.signal_handler(sig, stop.send) for sig in (signal.SIGINT, signal.SIGTERM)
    ]
    try:
        yield stop
    finally:
        for handler in handlers:
            handler.cancel()
