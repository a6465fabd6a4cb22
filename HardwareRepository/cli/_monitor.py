"""``hwr monitor``: one timestamped line per update, until Ctrl-C."""

from __future__ import annotations

import argparse
import functools
from typing import Any

from ._common import WallClock, config_path, emit, until_interrupted
from ._lookup import channel_unit, find_channel, repository, wait_connected
from ._values import format_value

__all__ = ["cmd_monitor", "register"]


def register(sub: Any) -> None:
    """Add ``monitor`` to the ``hwr`` sub-command parsers."""
    monitor = sub.add_parser(
        "monitor",
        help="print every update until Ctrl-C",
        description="Print one line per update (time, channel, value, unit, "
        "quality) and per connection change, until Ctrl-C (exit 0) or "
        "--duration. A channel that never connected makes the exit code 1.",
    )
    monitor.add_argument("targets", nargs="+", metavar="OBJECT.channel")
    monitor.add_argument(
        "--duration", type=float, default=None, help="stop after this many seconds"
    )
    monitor.set_defaults(run=cmd_monitor)


def cmd_monitor(args: argparse.Namespace) -> int:
    """Print every update of the channels until Ctrl-C or ``--duration``."""
    with repository(config_path(args)) as repo, until_interrupted() as stop:
        watched = [(target, *find_channel(repo, target)) for target in args.targets]
        printer = _Printer(args)
        receivers = []
        for target, _obj, channel in watched:
            on_update = functools.partial(printer.update, target, channel)
            on_connection = functools.partial(printer.connection, target)
            receivers.append((channel, on_update, on_connection))
            channel.connect_signal("update", on_update, weak=False)
            channel.connect_signal("connectionStateChanged", on_connection, weak=False)
        try:
            waiting = wait_connected([c for _, _, c in watched], args.connect_timeout)
            for target, obj, channel in watched:
                if channel in waiting:
                    printer.not_connected(target)
                else:
                    printer.connected_once[target] = True
                    printer.units[target] = channel_unit(obj, channel)
            printer.start()
            stop.wait(args.duration)
        finally:
            for channel, on_update, on_connection in receivers:
                channel.disconnect_signal("update", on_update)
                channel.disconnect_signal("connectionStateChanged", on_connection)
        return 0 if all(printer.connected_once.get(t) for t, _, _ in watched) else 1


class _Printer:
    """Print updates and connection changes, each stamped when it arrived.

    Lines that arrive before the units are known (while the channels connect)
    are held, then printed in order with their units. Receivers run in the hub.
    """

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.clock = WallClock()
        self.units: dict[str, str] = {}
        self.connected_once: dict[str, bool] = {}
        self._held: list[tuple[float, str, Any, str | None]] | None = []

    def update(self, target: str, channel: Any, value: Any) -> None:
        self.connected_once[target] = True
        self._show(self.clock.now(), target, value, channel.get_quality().name)

    def connection(self, target: str, connected: bool) -> None:
        self.connected_once[target] = self.connected_once.get(target) or connected
        word = "connected" if connected else "DISCONNECTED"
        self._show(self.clock.now(), target, word, None)

    def not_connected(self, target: str) -> None:
        word = (
            f"not connected after {self.args.connect_timeout:g} s "
            "(is its server running?)"
        )
        self._show(self.clock.now(), target, word, None)

    def start(self) -> None:
        """Print the lines held so far; print later ones at once."""
        held, self._held = self._held or [], None
        for line in held:
            self._print(*line)

    def _show(self, when: float, target: str, value: Any, quality: str | None) -> None:
        if self._held is not None:
            self._held.append((when, target, value, quality))
        else:
            self._print(when, target, value, quality)

    def _print(self, when: float, target: str, value: Any, quality: str | None) -> None:
        stamp = self.clock.stamp(when)
        if quality is None:  # a connection change
            data = {"time": when, "target": target, "connected": value == "connected"}
            emit(self.args, data, f"{stamp} {target} {value}")
            return
        unit = self.units.get(target, "")
        data = {
            "time": when,
            "target": target,
            "value": value,
            "unit": unit,
            "quality": quality,
        }
        text = f"{stamp} {target} {format_value(value)} {unit} [{quality}]"
        emit(self.args, data, " ".join(text.split()))
