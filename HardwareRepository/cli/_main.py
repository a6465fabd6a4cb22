"""Argument parsing and dispatch of the ``hwr`` sub-commands.

Each sub-command lives in a module with a ``register(subparsers)`` function
that adds its parser and sets ``run`` (the function called with the parsed
arguments, returning the exit code). A new command is one more module in
:data:`COMMAND_MODULES`.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from types import ModuleType
from typing import Any

from ..Command.cpptango_stderr import keep_cpptango_noise_off_stderr
from ..errors import HardwareRepositoryError
from . import _commands, _completion, _demo, _inspect, _monitor, _move, _record
from ._common import (
    CONFIG_ENV,
    ActionFailedError,
    StoppedByUserError,
    UsageError,
    explain,
)

__all__ = ["COMMAND_MODULES", "main"]

log = logging.getLogger("HardwareRepository.cli")

#: The modules that define ``hwr``'s sub-commands, in the order of ``--help``.
COMMAND_MODULES: list[ModuleType] = [
    _demo,
    _inspect,
    _commands,
    _move,
    _monitor,
    _record,
    _completion,
]

# Commands whose output is a report of their own: the log shows only what
# the report cannot (default level), so nothing is printed twice.
_QUIET_LOG = "CRITICAL"
_LIVE_COMMANDS = ("demo", "gui")


def package_version() -> str:
    """Return the installed package's version (``"unknown"`` outside an install)."""
    try:
        return version("HardwareRepository")
    except PackageNotFoundError:
        return "unknown"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hwr",
        description="Hardware objects from XML: check, list, read, write, move, "
        "call, monitor, show.",
        epilog="Exit codes: 0 success (Ctrl-C is the normal end of demo, gui "
        "and monitor); 1 the hardware or the configuration reported an error; "
        "2 a user mistake (unknown name, bad value, read-only, out of limits); "
        "130 Ctrl-C interrupted a command before it finished.",
    )
    parser.add_argument(
        "--version", action="version", version=f"hwr {package_version()}"
    )
    parser.add_argument(
        "--config",
        help=f"configuration path: directories separated by '{os.pathsep}', "
        f"first match wins (default: ${CONFIG_ENV}, else ./configuration)",
    )
    _add_common_options(parser, defaults=True)
    parser.add_argument(
        "--log-level",
        default=None,
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="what to log on standard error (default: WARNING for demo and "
        "gui; otherwise nothing, as every error is in the command's output)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(sub)
    for command in sub.choices.values():
        _add_common_options(command, defaults=False)
    parser.set_defaults(parser=parser, commands=dict(sub.choices))
    return parser


def _add_common_options(parser: argparse.ArgumentParser, *, defaults: bool) -> None:
    """Add the options every command takes, before or after its name.

    After the name, they only override what was given before it.
    """
    timeout: Any = 3.0 if defaults else argparse.SUPPRESS
    json: Any = False if defaults else argparse.SUPPRESS
    parser.add_argument(
        "--connect-timeout",
        type=float,
        metavar="S",
        help="seconds to wait for channels to connect and deliver their first "
        "values (default 3; 0: do not wait)",
        default=timeout,
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print results as JSON (one document, or one per line for monitor)",
        default=json,
    )


class _OneLineFormatter(logging.Formatter):
    """Log records on one line each (Tango's messages hold newlines)."""

    def format(self, record: logging.LogRecord) -> str:
        return " ".join(super().format(record).split())


def _setup_logging(args: argparse.Namespace) -> None:
    level = args.log_level
    if level is None:
        level = "WARNING" if args.command in _LIVE_COMMANDS else _QUIET_LOG
    handler = logging.StreamHandler()
    if level != "DEBUG":
        handler.setFormatter(
            _OneLineFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
        )
    logging.basicConfig(level=level, handlers=[handler])


def run() -> int:
    """Run ``hwr`` as the program (the console script and ``python -m``).

    Like :func:`main` on ``sys.argv``, with cppTango's "not found in event
    callback map" lines kept off the terminal (see
    :mod:`HardwareRepository.Command.cpptango_stderr`) unless the log level is
    ``DEBUG``.
    """
    return main(filter_noise=True)


def main(argv: Sequence[str] | None = None, *, filter_noise: bool = False) -> int:
    """Run ``hwr`` with ``argv`` (default: ``sys.argv[1:]``); return the exit code.

    Args:
        argv: the arguments, without the program name.
        filter_noise: route this process's stderr through a filter that
            leaves out cppTango's harmless lines (process-wide; for the
            program, not for a caller embedding ``hwr``).
    """
    args = _parser().parse_args(argv)
    _setup_logging(args)
    if filter_noise and args.log_level != "DEBUG" and args.command != "completion":
        keep_cpptango_noise_off_stderr()
    prefix = f"hwr {args.command}:"
    try:
        return int(args.run(args))
    except UsageError as exc:
        print(f"{prefix} {exc}", file=sys.stderr)
        return 2
    except StoppedByUserError as exc:
        print(f"{prefix} interrupted: {exc}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print(f"{prefix} interrupted", file=sys.stderr)
        return 130
    except ActionFailedError as exc:
        print(f"{prefix} {exc}", file=sys.stderr)
        return 1
    except (HardwareRepositoryError, TimeoutError, OSError, RuntimeError) as exc:
        if args.log_level == "DEBUG":
            log.exception("hwr %s failed", args.command)
        print(f"{prefix} {explain(exc)}", file=sys.stderr)
        return 1
