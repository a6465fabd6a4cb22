"""``hwr demo`` and ``hwr gui``: the live view, in a window or in the terminal."""

from __future__ import annotations

import argparse
import pathlib
from typing import Any

from ._common import config_path, warn
from ._table import show_table
from ._window import window_problem

__all__ = ["cmd_demo", "cmd_gui", "demo_configuration", "register", "run_demo"]


def register(sub: Any) -> None:
    """Add ``demo`` and ``gui`` to the ``hwr`` sub-command parsers."""
    demo = sub.add_parser(
        "demo",
        help="run the demo beamline (servers + window, or a terminal table)",
        description="Start the demo's device servers, load configuration/demo "
        "and show it live: in a Qt window when one can open (otherwise the "
        "terminal table, with the reason in one line), until Ctrl-C.",
    )
    demo.add_argument(
        "--no-gui", action="store_true", help="live table in the terminal"
    )
    demo.add_argument(
        "--duration",
        type=float,
        default=None,
        help="stop by itself after this many seconds (default: until Ctrl-C)",
    )
    demo.set_defaults(run=cmd_demo)

    gui = sub.add_parser(
        "gui",
        help="open the Qt window on a configuration",
        description="Open the Qt window on a configuration; where no window "
        "can open, show the terminal table instead (the reason in one line).",
    )
    gui.add_argument("path", nargs="?", help="configuration path (overrides --config)")
    gui.add_argument("--no-gui", action="store_true", help="live table in the terminal")
    gui.add_argument(
        "--duration", type=float, default=None, help="quit after this many seconds"
    )
    gui.set_defaults(run=cmd_gui)


def demo_configuration() -> pathlib.Path:
    """Return ``configuration/demo`` of the source tree.

    Raises:
        RuntimeError: the package is not run from its source tree.
    """
    from ..demo.servers import DEMO_CONFIGURATION

    path = DEMO_CONFIGURATION
    if not path.is_dir():
        raise RuntimeError(
            f"demo configuration not found at {path}; run `hwr demo` from an "
            "editable install of the source tree (make demo does that)"
        )
    return path


def show_live(path: str, *, no_gui: bool, duration: float | None) -> int:
    """Show the configuration at ``path`` in the window, else in the terminal.

    Where no window can open (no display, Qt's platform plugin failing), one
    line on standard error says why before the table starts.
    """
    if not no_gui:
        problem = window_problem()
        if problem is None:
            from ..gui import run_gui

            return run_gui(path, duration=duration)
        warn(
            f"hwr: no window ({problem}); showing the terminal table "
            "(--no-gui skips this check)"
        )
    return show_table(path, duration)


def cmd_gui(args: argparse.Namespace) -> int:
    """Open the Qt window on a configuration (or the terminal table)."""
    return show_live(config_path(args), no_gui=args.no_gui, duration=args.duration)


def cmd_demo(args: argparse.Namespace) -> int:
    """Start the demo servers, load the demo configuration, show it."""
    return run_demo(no_gui=args.no_gui, duration=args.duration)


def run_demo(no_gui: bool = False, duration: float | None = None) -> int:
    """Start the demo servers, load the demo configuration, show it live.

    Opens the Qt window when one can open (and ``no_gui`` is false), else
    prints a live table until Ctrl-C (or ``duration`` seconds). Stops the
    servers and the repository on the way out, whatever happens.
    """
    from ..demo.servers import start_demo_servers
    from ..demo.simulated import SimulatedSources

    config = demo_configuration()
    print("starting the demo Tango device servers (no database) ...", flush=True)
    servers = start_demo_servers()
    sources = SimulatedSources()
    sources.start()
    print(
        "the demo's TINE and Taco channels use SIMULATED clients "
        "(their libraries are not installed)",
        flush=True,
    )
    try:
        return show_live(str(config), no_gui=no_gui, duration=duration)
    finally:
        sources.stop()
        servers.stop()
        print("demo stopped", flush=True)
