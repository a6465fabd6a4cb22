"""Find the channel objects named ``"/object.channel"`` in a repository."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["ResolvedChannel", "control_system_units", "resolve_channels"]

log = logging.getLogger("HardwareRepository.recording")

#: seconds to wait for a channel's configuration (its units)
_INFO_TIMEOUT = 1.0


@dataclass
class ResolvedChannel:
    """A channel name and what it resolved to.

    Args:
        name: the name as given (``"/object.channel"``).
        channel: the channel object, or ``None`` when it cannot be opened.
        units: the units of its value, ``""`` when unknown.
        problem: why it cannot be opened (``""`` when it can).
    """

    name: str
    channel: Any = None
    units: str = ""
    problem: str = ""

    def source(self) -> str:
        """Describe where the values come from (device and attribute)."""
        if self.channel is None:
            return ""
        return str(self.channel.source())


def _split(name: str, repository: Any) -> tuple[str, str]:
    """Split ``/object.channel``; object names may hold dots (longest file wins)."""
    head = name
    while "." in head:
        head, _, _ = head.rpartition(".")
        if head and repository.find_file(head):
            return head, name[len(head) + 1 :]
    head, dot, tail = name.rpartition(".")
    if not dot or not head or not tail:
        raise ValueError(f"{name!r}: give a channel as OBJECT.channel")
    return head, tail


def _units(obj: Any, channel: Any, explicit: Mapping[str, str], name: str) -> str:
    """Return the units: given, a motor's unit, or the control system's."""
    if name in explicit:
        return explicit[name]
    try:
        if channel.name() == "position":
            get_unit = getattr(obj, "get_unit", None)
            unit = get_unit() if callable(get_unit) else obj.get_property("unit")
            if unit:
                return str(unit)
    except Exception:
        log.info("%s: its units are not known", name, exc_info=True)
    return control_system_units(channel, name)


def control_system_units(channel: Any, name: str) -> str:
    """Return the units the control system gives for a connected channel, or ``""``.

    Asks Tango attributes for their configuration (waiting at most 1 s,
    cooperatively); other channel types have no units to give.
    """
    get_info = getattr(channel, "get_info", None)
    if get_info is None or not channel.is_connected():
        return ""
    try:
        unit = str(get_info(timeout=_INFO_TIMEOUT).unit or "")
    except Exception:
        log.info("%s: its units are not known", name, exc_info=True)
        return ""
    return "" if unit.lower() == "no unit" else unit


def resolve_channels(
    names: Iterable[str | tuple[str, Any]],
    repository: Any,
    units: Mapping[str, str] | None = None,
) -> list[ResolvedChannel]:
    """Return each name with its channel object, or with the reason it has none.

    Runs in the thread that owns the repository (objects may be loaded).

    Args:
        names: ``"/object.channel"`` names (``"object.channel"`` works too), or
            ``(name, channel_object)`` pairs for channels that live outside a
            repository.
        repository: the hardware repository holding the objects (needed for
            names only).
        units: units per name, overriding what the objects say.
    """
    explicit = dict(units or {})
    resolved: list[ResolvedChannel] = []
    for entry in names:
        if isinstance(entry, tuple):
            name, channel = entry
            resolved.append(ResolvedChannel(name, channel, explicit.get(name, "")))
            continue
        name = entry if entry.startswith("/") else "/" + entry
        try:
            if repository is None:
                raise ValueError("no hardware repository to find it in")
            object_name, item = _split(name, repository)
            obj = repository.get_hardware_object(object_name)
            channel = obj.get_channel_object(item, optional=True)
            if channel is None:
                known = ", ".join(obj.get_channel_names_list()) or "none"
                raise ValueError(
                    f"object {object_name!r} has no channel {item!r} "
                    f"(channels: {known})"
                )
            resolved.append(
                ResolvedChannel(name, channel, _units(obj, channel, explicit, name))
            )
        except Exception as exc:
            problem = " ".join(f"{type(exc).__name__}: {exc}".split())
            log.warning("channel %s cannot be recorded: %s", name, problem)
            resolved.append(ResolvedChannel(name, problem=problem))
    return resolved
