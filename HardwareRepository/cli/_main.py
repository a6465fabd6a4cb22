"""Argument parsing and dispatch of the ``hwr`` sub-commands."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from ..errors import HardwareRepositoryError

__all__ = ["CONFIG_ENV", "UsageError", "main", "one_line"]

CONFIG_ENV = "HWR_CONFIG"

log = logging.getLogger("HardwareRepository.cli")


class UsageError(Exception):
    """The user asked for something that does not exist or makes no sense."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hwr",
        description="Hardware objects from XML: check, read, write, call, monitor.",
    )
    parser.add_argument(
        "--config",
        help=f"configuration path: directories separated by '{os.pathsep}', "
        f"first match wins (default: ${CONFIG_ENV}, else ./configuration)",
    )
    parser.add_argument(
        "--log-level",
        default=None,
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="what to log on standard error (default WARNING; ERROR for "
        "check, whose summary lists every problem)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="run the demo beamline (servers + window)")
    demo.add_argument(
        "--no-gui", action="store_true", help="live table in the terminal"
    )
    demo.add_argument(
        "--duration",
        type=float,
        default=None,
        help="stop by itself after this many seconds (default: until Ctrl-C)",
    )

    check = sub.add_parser(
        "check",
        help="load everything and print the summary",
        description="Load every object and print the summary table, then the "
        "channels that did not connect. Exit 1 when an object failed to load "
        "or has warnings; unreachable hardware alone is not a configuration "
        "error (exit 0).",
    )
    check.add_argument(
        "path", nargs="?", help="configuration path (overrides --config)"
    )
    check.add_argument(
        "--connect-timeout",
        type=float,
        default=3.0,
        help="seconds to wait for channels to connect (default 3; 0: do not wait)",
    )

    get = sub.add_parser("get", help="print an object's channels or one channel")
    get.add_argument("target", metavar="OBJECT[.channel]")

    set_ = sub.add_parser("set", help="write a channel")
    set_.add_argument("target", metavar="OBJECT.channel")
    set_.add_argument("value", help="a Python literal, or text")

    call = sub.add_parser("call", help="call a command and print its reply")
    call.add_argument("target", metavar="OBJECT.command")
    call.add_argument("args", nargs="*", help="Python literals, or text")
    call.add_argument("--timeout", type=float, default=None, help="seconds")

    monitor = sub.add_parser("monitor", help="print every update until Ctrl-C")
    monitor.add_argument("targets", nargs="+", metavar="OBJECT.channel")
    monitor.add_argument(
        "--duration", type=float, default=None, help="stop after this many seconds"
    )

    from ._record import add_record_parser

    add_record_parser(sub)

    gui = sub.add_parser("gui", help="open the Qt window on a configuration")
    gui.add_argument("path", nargs="?", help="configuration path (overrides --config)")
    return parser


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


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``hwr`` with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    args = _parser().parse_args(argv)
    if args.log_level is None:
        args.log_level = "ERROR" if args.command == "check" else "WARNING"
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    from . import _commands

    handler = getattr(args, "handler", None) or getattr(
        _commands, f"cmd_{args.command}"
    )
    try:
        return handler(args)
    except UsageError as exc:
        print(f"hwr {args.command}: {exc}", file=sys.stderr)
        return 2
    except (HardwareRepositoryError, TimeoutError, OSError, RuntimeError) as exc:
        if args.log_level == "DEBUG":
            log.exception("hwr %s failed", args.command)
        print(f"hwr {args.command}: {one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"hwr {args.command}: interrupted", file=sys.stderr)
        return 130
