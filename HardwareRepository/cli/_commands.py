"""``hwr get``, ``hwr set`` and ``hwr call``: read, write, command.

They run in the main thread, which owns the gevent hub and the hardware
objects; waits are cooperative, so channel updates keep flowing while a
command waits.
"""

from __future__ import annotations

import argparse
import numbers
from typing import Any

from ..errors import HardwareRepositoryError
from ..states import describe_state, native_state_name
from ._common import BadValueError, config_path, emit, explain
from ._lookup import (
    channel_unit,
    find_channel,
    find_command,
    find_target,
    is_motor,
    motor_limits,
    repository,
    wait_connected,
    wait_first_state,
)
from ._values import format_value, parse_value

__all__ = ["cmd_call", "cmd_get", "cmd_set", "register"]


def register(sub: Any) -> None:
    """Add ``get``, ``set`` and ``call`` to the ``hwr`` sub-command parsers."""
    get = sub.add_parser(
        "get",
        help="print an object's state and channels, or one channel",
        description="Print one channel's value with its unit, or an object's "
        "state and every channel. Waits up to --connect-timeout for the first "
        "values.",
    )
    get.add_argument("target", metavar="OBJECT[.channel]")
    get.set_defaults(run=cmd_get)

    set_ = sub.add_parser(
        "set",
        help="write a channel",
        description="Write a value to a channel. A value of the wrong type, a "
        "read-only channel or a motor position beyond the limits is refused "
        "(exit 2) before anything is written.",
    )
    set_.add_argument("target", metavar="OBJECT.channel")
    set_.add_argument("value", help="a Python literal, or text")
    set_.set_defaults(run=cmd_set)

    call = sub.add_parser("call", help="call a command and print its reply")
    call.add_argument("target", metavar="OBJECT.command")
    call.add_argument("args", nargs="*", help="Python literals, or text")
    call.add_argument("--timeout", type=float, default=None, help="seconds")
    call.set_defaults(run=cmd_call)


def cmd_get(args: argparse.Namespace) -> int:
    """Print one channel's value, or an object's state and every channel."""
    with repository(config_path(args)) as repo:
        obj, item = find_target(repo, args.target)
        if item is not None:
            _, channel = find_channel(repo, args.target)
            wait_connected([channel], args.connect_timeout)
            value = channel.get_value(force=True)
            unit = channel_unit(obj, channel)
            emit(
                args,
                {"target": args.target, "value": value, "unit": unit},
                f"{format_value(value, width=1000)} {unit}".rstrip(),
            )
            return 0
        return _print_object(args, obj)


def _print_object(args: argparse.Namespace, obj: Any) -> int:
    channels = list(obj.get_channels())
    wait_connected(channels, args.connect_timeout)
    data: dict[str, Any] = {"object": obj.name()}
    lines = []
    if obj.reports_state():
        state = wait_first_state(obj, args.connect_timeout)
        native = native_state_name(obj)
        data["state"] = state.name
        data["native_state"] = native
        lines.append(f"{'state':<20} {describe_state(state, native)}")
    failures = 0
    data["channels"] = {}
    for channel in channels:
        if obj.reports_state() and channel.name() == "state":
            continue  # shown above, in the shared vocabulary
        entry: dict[str, Any] = {}
        try:
            value = channel.get_value(force=True)
        except Exception as exc:
            failures += 1
            entry["error"] = explain(exc)
            text = f"<{entry['error']}>"
        else:
            entry["value"] = value
            entry["unit"] = channel_unit(obj, channel)
            text = f"{format_value(value)} {entry['unit']}".rstrip()
        data["channels"][channel.name()] = entry
        lines.append(f"{channel.name():<20} {text}")
    emit(args, data, "\n".join(lines))
    return 1 if failures else 0


def cmd_set(args: argparse.Namespace) -> int:
    """Write a value to a channel, after checking that the hardware can take it."""
    with repository(config_path(args)) as repo:
        obj, channel = find_channel(repo, args.target)
        wait_connected([channel], args.connect_timeout)
        value = parse_value(args.value)
        _check_value(args.target, obj, channel, value, args.connect_timeout)
        try:
            channel.set_value(value)
        except (TypeError, ValueError) as exc:
            raise BadValueError(
                f"{args.target}: bad value {args.value!r}: {exc}"
            ) from exc
        except HardwareRepositoryError as exc:
            cause = exc.__cause__
            if isinstance(cause, (TypeError, ValueError)):
                raise BadValueError(
                    f"{args.target}: bad value {args.value!r}: {cause}"
                ) from exc
            raise
        emit(
            args,
            {"target": args.target, "value": value},
            f"{args.target} <- {format_value(value)}",
        )
        return 0


# Tango's numeric scalar types (``tango.CmdArgType`` codes), as a Tango
# attribute's configuration reports them.
_TANGO_NUMBERS = {
    2: "DevShort",
    3: "DevLong",
    4: "DevFloat",
    5: "DevDouble",
    6: "DevUShort",
    7: "DevULong",
    22: "DevUChar",
    23: "DevLong64",
    24: "DevULong64",
}


def _check_value(
    target: str, obj: Any, channel: Any, value: Any, timeout: float
) -> None:
    """Refuse a value the channel cannot take, with the reason.

    Raises:
        BadValueError: read-only, not a number for a numeric channel, or a
            motor position beyond its limits.
    """
    info = _channel_info(channel)
    if info is not None:
        if str(getattr(info, "writable", "")).endswith("READ"):
            raise BadValueError(f"{target} is not writable (read-only)")
        number_type = _TANGO_NUMBERS.get(int(getattr(info, "data_type", -1)))
        scalar = str(getattr(info, "data_format", "")).endswith("SCALAR")
        if number_type and scalar and not _is_number(value):
            raise BadValueError(
                f"{target}: bad value {value!r}: a number is needed ({number_type})"
            )
    if channel.name() == "position" and is_motor(obj) and _is_number(value):
        low, high = motor_limits(obj, timeout)
        if (low is not None and value < low) or (high is not None and value > high):
            unit = channel_unit(obj, channel)
            raise BadValueError(
                f"{target}: {value} {unit} is out of limits "
                f"[{format_value(low)}, {format_value(high)}] {unit}".rstrip()
            )


def _channel_info(channel: Any) -> Any:
    get_info = getattr(channel, "get_info", None)
    if get_info is None or not channel.is_connected():
        return None
    try:
        return get_info(timeout=2.0)
    except Exception:
        return None


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def cmd_call(args: argparse.Namespace) -> int:
    """Call a command with literal arguments; print its reply, if it has one."""
    with repository(config_path(args)) as repo:
        _, command = find_command(repo, args.target)
        reply = command(*(parse_value(a) for a in args.args), timeout=args.timeout)
        emit(
            args,
            {"target": args.target, "reply": reply},
            None if reply is None else format_value(reply, width=1000),
        )
        return 0
