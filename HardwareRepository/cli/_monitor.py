"""``hwr monitor``: one timestamped line per update, until Ctrl-C."""

from __future__ import annotations

import argparse
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
    clock = WallClock()
    with repository(config_path(args)) as repo, until_interrupted() as stop:
        watched = [(target, *find_channel(repo, target)) for target in args.targets]
        connected_once: dict[str, bool] = {}
        units: dict[str, str] = {}
        receivers = []
        for target, _obj, channel in watched:

            def on_update(
                value: Any, target: str = target, channel: Any = channel
            ) -> None:
                connected_once[target] = True
                unit = units.get(target, "")
                quality = channel.get_quality().name
                emit(
                    args,
                    {
                        "time": clock.now(),
                        "target": target,
                        "value": value,
                        "unit": unit,
                        "quality": quality,
                    },
                    f"{clock.stamp()} {target} {format_value(value)} "
                    f"{unit + ' ' if unit else ''}[{quality}]",
                )

            def on_connection(connected: bool, target: str = target) -> None:
                connected_once[target] = connected_once.get(target, False) or connected
                word = "connected" if connected else "DISCONNECTED"
                emit(
                    args,
                    {"time": clock.now(), "target": target, "connected": connected},
                    f"{clock.stamp()} {target} {word}",
                )

            receivers.append((channel, on_update, on_connection))
            channel.connect_signal("update", on_update, weak=False)
            channel.connect_signal("connectionStateChanged", on_connection, weak=False)
        try:
            waiting = wait_connected([c for _, _, c in watched], args.connect_timeout)
            for target, obj, channel in watched:
                if channel in waiting:
                    emit(
                        args,
                        {"time": clock.now(), "target": target, "connected": False},
                        f"{clock.stamp()} {target} not connected after "
                        f"{args.connect_timeout:g} s (is its server running?)",
                    )
                else:
                    connected_once[target] = True
                    units[target] = channel_unit(obj, channel)
            stop.wait(args.duration)
        finally:
            for channel, on_update, on_connection in receivers:
                channel.disconnect_signal("update", on_update)
                channel.disconnect_signal("connectionStateChanged", on_connection)
        return 0 if all(connected_once.get(t) for t, _, _ in watched) else 1
