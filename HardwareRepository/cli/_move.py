"""``hwr mv``: move a motor, show its position live, stop it on Ctrl-C."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from ..BaseHardwareObjects import HardwareObjectState
from ..bridge import Event
from ..states import object_state_text
from ._common import (
    ActionFailedError,
    BadValueError,
    StoppedByUserError,
    UsageError,
    config_path,
    emit,
    until_interrupted,
)
from ._lookup import (
    find_object,
    is_motor,
    motor_limits,
    repository,
    wait_connected,
    wait_first_state,
)
from ._values import format_value, parse_value

__all__ = ["cmd_mv", "register"]

# Seconds a move may take to show BUSY; a motor already at its target may
# never do so.
_START_TIMEOUT = 1.0
# Seconds a motor may take to come to rest after Ctrl-C asked it to stop.
_STOP_TIMEOUT = 10.0


def register(sub: Any) -> None:
    """Add ``mv`` to the ``hwr`` sub-command parsers."""
    mv = sub.add_parser(
        "mv",
        help="move a motor and wait, showing its position (Ctrl-C stops it)",
        description="Move a motor to VALUE and wait until it stops, showing the "
        "position live. Ctrl-C stops the motor (exit 130). A target beyond the "
        "limits is refused (exit 2); a move that ends in another state than "
        "READY exits 1.",
    )
    mv.add_argument("object", metavar="OBJECT")
    mv.add_argument("value", metavar="VALUE", help="the target position")
    mv.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds to wait at most for the move (default: until it ends); "
        "the motor is stopped when it runs out",
    )
    mv.set_defaults(run=cmd_mv)


def cmd_mv(args: argparse.Namespace) -> int:
    """Move a motor, wait, and report where it ended."""
    with repository(config_path(args)) as repo:
        motor = find_object(repo, args.object)
        if not is_motor(motor):
            raise UsageError(f"{motor.name()} is not a motor ({type(motor).__name__})")
        target = parse_value(args.value)
        if not isinstance(target, (int, float)) or isinstance(target, bool):
            raise BadValueError(
                f"{motor.name()}: bad position {args.value!r}: a number is needed"
            )
        wait_connected(motor.get_channels(), args.connect_timeout)
        wait_first_state(motor, args.connect_timeout)
        unit = str(motor.get_unit()) if hasattr(type(motor), "get_unit") else ""
        low, high = motor_limits(motor, args.connect_timeout)
        if (low is not None and target < low) or (high is not None and target > high):
            raise BadValueError(
                f"{motor.name()}: {target} {unit} is out of limits "
                f"[{format_value(low)}, {format_value(high)}] {unit}".rstrip()
            )
        return _move(args, motor, float(target), unit)


def _move(args: argparse.Namespace, motor: Any, target: float, unit: str) -> int:
    progress = _Progress(motor, unit, json=args.json)
    changed = Event()

    def on_change(*_args: Any) -> None:
        changed.send()
        progress.show()

    motor.connect("valueChanged", on_change)
    motor.connect("stateChanged", on_change)
    deadline = None if args.timeout is None else time.monotonic() + args.timeout
    try:
        with until_interrupted(also=changed.send) as interrupted:
            motor.set_value(target)
            progress.show()
            _wait_for_end(motor, changed, interrupted, deadline)
            if interrupted.is_set() or _past(deadline):
                motor.stop()
                _wait_for_end(motor, changed, Event(), time.monotonic() + _STOP_TIMEOUT)
                progress.done()
                if interrupted.is_set():
                    raise StoppedByUserError(
                        f"{motor.name()}: stopped at {progress.text()} (Ctrl-C)"
                    )
                raise ActionFailedError(
                    f"{motor.name()}: still moving after {args.timeout:g} s: "
                    f"stopped at {progress.text()}"
                )
    finally:
        motor.disconnect("valueChanged", on_change)
        motor.disconnect("stateChanged", on_change)
    progress.done()
    state = motor.get_state()
    emit(
        args,
        {
            "object": motor.name(),
            "value": motor.get_value(),
            "unit": unit,
            "state": state.name,
            "target": target,
        },
        None,
    )
    if state is not HardwareObjectState.READY:
        raise ActionFailedError(
            f"{motor.name()}: the move ended in {object_state_text(motor)} "
            f"at {progress.text()}"
        )
    return 0


def _past(deadline: float | None) -> bool:
    return deadline is not None and time.monotonic() >= deadline


def _wait_for_end(
    motor: Any, changed: Event, interrupted: Event, deadline: float | None
) -> None:
    """Wait until the motor was BUSY and is no longer (or never became BUSY)."""
    start_by = time.monotonic() + _START_TIMEOUT
    seen_busy = False
    while not interrupted.is_set() and not _past(deadline):
        changed.clear()
        busy = motor.get_state() is HardwareObjectState.BUSY
        seen_busy = seen_busy or busy
        if not busy and (seen_busy or time.monotonic() >= start_by):
            return
        limit = start_by if not seen_busy else deadline
        left = None if limit is None else max(0.0, limit - time.monotonic())
        changed.wait(left)


class _Progress:
    """Show the motor's position and state: one line rewritten on a terminal."""

    def __init__(self, motor: Any, unit: str, *, json: bool) -> None:
        self.motor = motor
        self.unit = unit
        self.quiet = json
        self.tty = sys.stdout.isatty()
        self._last = ""

    def text(self) -> str:
        value = self.motor.get_value()
        position = "-" if value is None else format_value(value)
        return f"{position} {self.unit}".rstrip()

    def show(self) -> None:
        if self.quiet:
            return
        line = f"{self.motor.name()} {self.text()}  {object_state_text(self.motor)}"
        if line == self._last:
            return
        self._last = line
        if self.tty:
            sys.stdout.write("\r\x1b[K" + line)
        else:
            sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def done(self) -> None:
        self.show()
        if self.tty and not self.quiet:
            sys.stdout.write("\n")
            sys.stdout.flush()
