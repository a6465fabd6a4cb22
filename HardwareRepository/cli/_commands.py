"""The ``hwr`` sub-commands; each returns the process exit code.

They run in the main thread, which owns the gevent hub and the hardware
objects; waits are cooperative, so channel updates keep flowing while a
command waits.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ..bridge import Event
from ..errors import ConfigError
from ._common import UsageError, config_path, one_line, until_interrupted
from ._values import format_value, parse_value, split_target

__all__ = [
    "cmd_call",
    "cmd_check",
    "cmd_demo",
    "cmd_get",
    "cmd_gui",
    "cmd_monitor",
    "cmd_set",
]

# How long `get` waits for an object's first state (its state arrives by
# events shortly after loading).
_STATE_TIMEOUT = 2.0


@contextmanager
def _repository(path: str) -> Iterator[Any]:
    from ..HardwareRepository import (
        init_hardware_repository,
        uninit_hardware_repository,
    )

    repo = init_hardware_repository(path)
    try:
        yield repo
    finally:
        uninit_hardware_repository()


def _find_file(repo: Any, name: str) -> str | None:
    try:
        return repo.find_file(name)
    except ConfigError:
        raise UsageError(f"{name!r} is not a hardware-object name") from None


def _object(repo: Any, name: str) -> Any:
    if not _find_file(repo, name):
        known = ", ".join(repo.names()) or "none"
        raise UsageError(f"no hardware object {name!r} (objects: {known})")
    return repo.get_hardware_object(name)


def _known(repo: Any) -> Callable[[str], bool]:
    return lambda name: bool(_find_file(repo, name))


def _channel(repo: Any, target: str) -> tuple[Any, Any]:
    name, item = split_target(target, _known(repo))
    if item is None:
        raise UsageError(f"{target!r}: give OBJECT.channel")
    obj = _object(repo, name)
    channel = obj.get_channel_object(item, optional=True)
    if channel is None:
        raise UsageError(
            f"object {name!r} has no channel {item!r} "
            f"(channels: {', '.join(obj.get_channel_names_list()) or 'none'})"
        )
    return obj, channel


def _read(channel: Any) -> Any:
    return channel.get_value(force=True)


def cmd_check(args: argparse.Namespace) -> int:
    """Load every object of the configuration and print the summary table."""
    with _repository(config_path(args)) as repo:
        records = repo.load_all()
        print(repo.summary_text())
        failed = [r for r in records if r.status == "failed"]
        warned = [r for r in records if r.status == "warning"]
        for record in failed + warned:
            for problem in record.errors + record.warnings:
                print(f"{record.status.upper()}: {problem}", file=sys.stderr)
        missing = _not_connected(repo.hardware_objects, args.connect_timeout)
        for name, channels in missing.items():
            print(f"NOT CONNECTED: {name}: {', '.join(channels)}")
        print(
            f"{len(records)} object(s): {len(records) - len(failed) - len(warned)} ok, "
            f"{len(warned)} with warnings, {len(failed)} failed; "
            f"{len(missing)} with channels not connected"
        )
        return 1 if failed or warned else 0


def _not_connected(objects: dict[str, Any], timeout: float) -> dict[str, list[str]]:
    """Wait up to ``timeout`` s for every channel to connect; return the others.

    :returns: ``{object name: [channel names not connected]}``, sorted.
    """
    channels = [
        (name, channel)
        for name, obj in sorted(objects.items())
        for channel in obj.get_channels()
    ]
    changed = Event()

    def on_change(_connected: bool) -> None:
        changed.send()

    for _, channel in channels:
        channel.connect_signal("connectionStateChanged", on_change, weak=False)
    deadline = time.monotonic() + timeout
    try:
        while True:
            changed.clear()
            waiting = [(n, c) for n, c in channels if not c.is_connected()]
            left = deadline - time.monotonic()
            if not waiting or left <= 0:
                break
            changed.wait(left)
    finally:
        for _, channel in channels:
            channel.disconnect_signal("connectionStateChanged", on_change)
    missing: dict[str, list[str]] = {}
    for name, channel in waiting:
        missing.setdefault(name, []).append(channel.name())
    return missing


def cmd_get(args: argparse.Namespace) -> int:
    """Print one channel's value, or every channel of an object."""
    with _repository(config_path(args)) as repo:
        name, item = split_target(args.target, _known(repo))
        if item is not None:
            _, channel = _channel(repo, args.target)
            value = _read(channel)
            print(f"{format_value(value, width=1000)}")
            return 0
        obj = _object(repo, name)
        failures = 0
        for channel in obj.get_channels():
            try:
                text = format_value(_read(channel))
            except Exception as exc:  # report each channel's failure, go on
                failures += 1
                text = f"<{one_line(exc)}>"
            print(f"{channel.name():<20} {text}")
        if obj.reports_state():
            print(f"{'(object state)':<20} {_first_state(obj).name}")
        return 1 if failures else 0


def _first_state(obj: Any) -> Any:
    """Return the object's state, waiting briefly for the first one.

    Right after loading, an object's state is UNKNOWN until its channels'
    first values arrive (events); a few seconds settle that.
    """
    if obj.get_state() is not obj.STATES.UNKNOWN:
        return obj.get_state()
    changed = Event()

    def on_state(_state: Any) -> None:
        if _state is not obj.STATES.UNKNOWN:
            changed.send()

    obj.connect("stateChanged", on_state)
    try:
        changed.wait(_STATE_TIMEOUT)
    finally:
        obj.disconnect("stateChanged", on_state)
    return obj.get_state()


def cmd_set(args: argparse.Namespace) -> int:
    """Write a value to a channel."""
    with _repository(config_path(args)) as repo:
        _, channel = _channel(repo, args.target)
        value = parse_value(args.value)
        channel.set_value(value)
        print(f"{args.target} <- {format_value(value)}")
        return 0


def cmd_call(args: argparse.Namespace) -> int:
    """Call a command with literal arguments and print its reply."""
    with _repository(config_path(args)) as repo:
        name, item = split_target(args.target, _known(repo))
        if item is None:
            raise UsageError(f"{args.target!r}: give OBJECT.command")
        obj = _object(repo, name)
        command = obj.get_command_object(item, optional=True)
        if command is None:
            raise UsageError(
                f"object {name!r} has no command {item!r} "
                f"(commands: {', '.join(obj.get_command_names_list()) or 'none'})"
            )
        reply = command(*(parse_value(a) for a in args.args), timeout=args.timeout)
        print(format_value(reply, width=1000))
        return 0


def cmd_monitor(args: argparse.Namespace) -> int:
    """Print one line per update of the channels, with timestamps, until Ctrl-C."""
    with _repository(config_path(args)) as repo, until_interrupted() as stop:
        receivers = []
        for target in args.targets:
            _, channel = _channel(repo, target)

            def on_update(
                value: Any, target: str = target, channel: Any = channel
            ) -> None:
                stamp = (
                    time.strftime("%H:%M:%S") + f".{int(time.time() * 1000) % 1000:03d}"
                )
                quality = channel.get_quality().name
                print(f"{stamp} {target} {format_value(value)} [{quality}]", flush=True)

            def on_connection(connected: bool, target: str = target) -> None:
                word = "connected" if connected else "DISCONNECTED"
                print(f"{time.strftime('%H:%M:%S')} {target} {word}", flush=True)

            receivers.append((channel, on_update, on_connection))
            channel.connect_signal("update", on_update, weak=False)
            channel.connect_signal("connectionStateChanged", on_connection, weak=False)
        stop.wait(args.duration)
        for channel, on_update, on_connection in receivers:
            channel.disconnect_signal("update", on_update)
            channel.disconnect_signal("connectionStateChanged", on_connection)
        return 0


def cmd_gui(args: argparse.Namespace) -> int:
    """Open the Qt window on a configuration."""
    from ..gui import run_gui

    return run_gui(config_path(args))


def cmd_demo(args: argparse.Namespace) -> int:
    """Start the demo servers, load the demo configuration, show it."""
    from ._demo import run_demo

    return run_demo(no_gui=args.no_gui, duration=args.duration)
