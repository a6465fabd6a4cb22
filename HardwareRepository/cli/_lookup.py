"""Finding what the user named, and waiting for its first values.

Objects load at once, but their channels connect and deliver their first
values shortly after (events, polling). Commands therefore wait up to
``--connect-timeout`` seconds for what they read, cooperatively, so updates
keep flowing while they wait.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from ..BaseHardwareObjects import HardwareObjectState
from ..bridge import Event
from ..errors import ConfigError
from ._common import UsageError
from ._values import split_target

__all__ = [
    "channel_unit",
    "find_channel",
    "find_command",
    "find_object",
    "find_target",
    "is_motor",
    "item_kind",
    "item_source",
    "motor_limits",
    "repository",
    "wait_connected",
    "wait_first_state",
    "wait_first_states",
]


@contextmanager
def repository(path: str) -> Iterator[Any]:
    """Create the process-wide repository on ``path``; shut it down afterwards.

    A configuration with a ``beamline_config.yml`` is an mxCuBE one: it gets
    the mxcubecore lookup face, so ``hwr check`` lists the lookups of absent
    items its classes make (``MISSING LOOKUP``) instead of failing them.
    """
    from ..HardwareRepository import (
        BEAMLINE_CONFIG_FILE,
        init_hardware_repository,
        uninit_hardware_repository,
    )

    mxcube = any(
        os.path.isfile(os.path.join(d, BEAMLINE_CONFIG_FILE))
        for d in path.split(os.pathsep)
        if d
    )
    repo = init_hardware_repository(path, compatible=True if mxcube else None)
    try:
        yield repo
    finally:
        uninit_hardware_repository()


def _find_file(repo: Any, name: str) -> str | None:
    try:
        return repo.find_file(name)
    except ConfigError:
        raise UsageError(f"{name!r} is not a hardware-object name") from None


def find_object(repo: Any, name: str) -> Any:
    """Return the loaded object ``name``.

    Raises:
        UsageError: no such object in the configuration.
        ConfigError: it exists but failed to load.
    """
    if not _find_file(repo, name):
        known = ", ".join(repo.names()) or "none"
        raise UsageError(f"no hardware object {name!r} (objects: {known})")
    return repo.get_hardware_object(name)


def _find_item(repo: Any, target: str, kind: str) -> tuple[Any, Any]:
    """Return ``(object, item)`` for ``OBJECT.item``.

    ``kind`` is "channel" or "command".
    """
    name, item = split_target(target, lambda n: bool(_find_file(repo, n)))
    if item is None:
        raise UsageError(f"{target!r}: give OBJECT.{kind}")
    obj = find_object(repo, name)
    found = getattr(obj, f"get_{kind}_object")(item, optional=True)
    if found is None:
        known = ", ".join(getattr(obj, f"get_{kind}_names_list")()) or "none"
        raise UsageError(
            f"object {obj.name()!r} has no {kind} {item!r} ({kind}s: {known})"
        )
    return obj, found


def find_channel(repo: Any, target: str) -> tuple[Any, Any]:
    """Return ``(object, channel)`` for ``OBJECT.channel``.

    Raises:
        UsageError: no such object or channel.
    """
    return _find_item(repo, target, "channel")


def find_command(repo: Any, target: str) -> tuple[Any, Any]:
    """Return ``(object, command)`` for ``OBJECT.command``.

    Raises:
        UsageError: no such object or command.
    """
    return _find_item(repo, target, "command")


def item_source(item: Any) -> str:
    """Return where a channel or command lives ("tango://…/phi attribute State")."""
    text = str(item.source())
    match = re.fullmatch(r"\w+ '[^']*' \((.*)\)", text)
    return match.group(1) if match else text


def item_kind(item: Any) -> str:
    """Return the control-system type of a channel or command (``"tango"``)."""
    name = type(item).__name__
    for suffix in ("Channel", "Command"):
        name = name.removesuffix(suffix)
    return name.lower() or "-"


def wait_connected(channels: Iterable[Any], timeout: float) -> list[Any]:
    """Wait up to ``timeout`` s for every channel to connect; return the others.

    Waits cooperatively (hub thread), following ``connectionStateChanged``.
    """
    channels = list(channels)
    changed = Event()

    def on_change(_connected: bool) -> None:
        changed.send()

    for channel in channels:
        channel.connect_signal("connectionStateChanged", on_change, weak=False)
    deadline = time.monotonic() + timeout
    try:
        while True:
            changed.clear()
            waiting = [c for c in channels if not c.is_connected()]
            left = deadline - time.monotonic()
            if not waiting or left <= 0:
                return waiting
            changed.wait(left)
    finally:
        for channel in channels:
            channel.disconnect_signal("connectionStateChanged", on_change)


def wait_first_state(obj: Any, timeout: float) -> HardwareObjectState:
    """Return the object's state, waiting up to ``timeout`` s while UNKNOWN.

    Right after loading, a state is UNKNOWN until the channels' first values
    arrive.
    """
    wait_first_states([obj], timeout)
    return obj.get_state()


def wait_first_states(objects: Iterable[Any], timeout: float) -> None:
    """Wait up to ``timeout`` s until no state-reporting object is UNKNOWN.

    Waits cooperatively (hub thread), following ``stateChanged``.
    """
    objects = [obj for obj in objects if obj.reports_state()]
    changed = Event()

    def on_state(*_args: Any) -> None:
        changed.send()

    for obj in objects:
        obj.connect("stateChanged", on_state)
    deadline = time.monotonic() + timeout
    try:
        while True:
            changed.clear()
            unknown = [o for o in objects if not _known_state(o.get_state())]
            left = deadline - time.monotonic()
            if not unknown or left <= 0:
                return
            changed.wait(left)
    finally:
        for obj in objects:
            obj.disconnect("stateChanged", on_state)


def _known_state(state: Any) -> bool:
    return state is not HardwareObjectState.UNKNOWN


# A motor's channels whose unit follows from the motor's configured unit.
_MOTOR_UNITS = {
    "position": "{}",
    "low_limit": "{}",
    "high_limit": "{}",
    "velocity": "{}/s",
}


def channel_unit(obj: Any, channel: Any) -> str:
    """Return the unit of a channel's value, ``""`` if none is known.

    A motor's position and limits take the object's configured unit
    (``<unit>``), its velocity that unit per second; other
    channels the control system's (a Tango attribute's ``unit``), when it
    reports one and the channel is connected.
    """
    per_motor = _MOTOR_UNITS.get(channel.name())
    if per_motor is not None and callable(getattr(type(obj), "get_unit", None)):
        unit = str(obj.get_unit())
        if unit:
            return per_motor.format(unit)
    info = getattr(channel, "get_info", None)
    if info is None or not channel.is_connected():
        return ""
    try:
        unit = str(info(timeout=1.0).unit or "")
    except Exception:
        return ""
    return "" if unit.lower() in ("", "no unit") else unit


def find_target(repo: Any, target: str) -> tuple[Any, str | None]:
    """Return ``(object, item name or None)`` for ``OBJECT[.item]``.

    Raises:
        UsageError: no such object.
    """
    name, item = split_target(target, lambda n: bool(_find_file(repo, n)))
    return find_object(repo, name), item


def motor_limits(obj: Any, timeout: float) -> tuple[Any, Any]:
    """Return a motor's ``(low, high)`` limits, reading them if not known yet.

    Waits up to ``timeout`` s for the limit channels to connect. ``None``
    stands for a limit that is not configured or not readable.
    """
    limits = list(obj.get_limits() or (None, None))
    channels = [
        obj.get_channel_object(name, optional=True)
        for name in ("low_limit", "high_limit")
    ]
    wait_connected([c for c in channels if c is not None], timeout)
    for index, channel in enumerate(channels):
        if limits[index] is None and channel is not None and channel.is_connected():
            limits[index] = channel.get_value(force=True)
    return limits[0], limits[1]


def is_motor(obj: Any) -> bool:
    """Return whether ``obj`` moves: ``set_value``, ``get_value``, ``stop``, limits."""
    return all(
        callable(getattr(type(obj), name, None))
        for name in ("set_value", "get_value", "stop", "get_limits")
    )
