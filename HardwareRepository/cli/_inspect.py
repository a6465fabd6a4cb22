"""``hwr check`` and ``hwr list``: what a configuration holds and whether it loads."""

from __future__ import annotations

import argparse
import os
import re
from typing import Any

from ..states import object_state_text
from ._common import CONFIG_ENV, DEFAULT_CONFIG, config_source, emit
from ._lookup import (
    channel_unit,
    find_object,
    item_kind,
    item_source,
    repository,
    wait_connected,
    wait_first_states,
)

__all__ = ["cmd_check", "cmd_list", "register"]


def register(sub: Any) -> None:
    """Add ``check`` and ``list`` to the ``hwr`` sub-command parsers."""
    check = sub.add_parser(
        "check",
        help="load everything and print the summary",
        description="Load every object and print the summary table, each "
        "problem once, then the channels that did not connect. Exit 1 when an "
        "object failed to load or has warnings; unreachable hardware alone is "
        "not a configuration error (exit 0). Without a configuration, each "
        "configuration under ./configuration is checked on its own.",
    )
    check.add_argument(
        "path", nargs="?", help="configuration path (overrides --config)"
    )
    check.set_defaults(run=cmd_check)

    list_ = sub.add_parser(
        "list",
        help="list objects with their channels, commands and units",
        description="Load the objects and list each with its class and state, "
        "its channels (type, source, unit, connected) and its commands.",
    )
    list_.add_argument("objects", nargs="*", metavar="OBJECT", help="default: all")
    list_.add_argument(
        "--names",
        action="store_true",
        help="only the object names, without loading anything (fast)",
    )
    list_.set_defaults(run=cmd_list)


# -- check ------------------------------------------------------------------------
def cmd_check(args: argparse.Namespace) -> int:
    """Load every object of the configuration; print the summary and problems."""
    path, source = config_source(args)
    parts = _separate_configurations(path) if source == "the default" else []
    if not parts:
        return _check_one(args, path, source)
    names = ", ".join(os.path.basename(p) for p in parts)
    if not args.json:
        print(
            f"no configuration given: ./{DEFAULT_CONFIG} holds {len(parts)} "
            f"configurations ({names}); checking each on its own "
            f"(choose one with --config or ${CONFIG_ENV})"
        )
    return max(_check_one(args, part, "the default") for part in parts)


def _separate_configurations(path: str) -> list[str]:
    """Return the sub-directories of ``path`` that hold configurations.

    Only when ``path`` itself holds no object file: then its references
    (``href="/…"``) could never resolve, each sub-directory being its own tree.
    """
    if os.pathsep in path or _has_xml(path, top_only=True):
        return []
    return sorted(
        entry.path
        for entry in os.scandir(path)
        if entry.is_dir() and _has_xml(entry.path, top_only=False)
    )


def _has_xml(path: str, *, top_only: bool) -> bool:
    for _root, _dirs, files in os.walk(path):
        if any(f.endswith(".xml") for f in files):
            return True
        if top_only:
            return False
    return False


def _check_one(args: argparse.Namespace, path: str, source: str) -> int:
    with repository(path) as repo:
        records = repo.load_all()
        objects = sorted(repo.hardware_objects.items())
        waiting = wait_connected(
            [c for _, obj in objects for c in obj.get_channels()],
            args.connect_timeout,
        )
        missing = {
            name: names
            for name, obj in objects
            if (names := [c.name() for c in obj.get_channels() if c in waiting])
        }
        failed = [r for r in records if r.status == "failed"]
        warned = [r for r in records if r.status == "warning"]
        directories = [os.path.abspath(d) for d in repo.path]
        data = {
            "configuration": directories,
            "source": source,
            "objects": [r.as_dict() for r in records],
            "not_connected": missing,
            "missing_lookups": repo.missing_lookups(),
        }
        lines = [f"configuration: {os.pathsep.join(directories)} (from {source})"]
        lines.append(_table(records))
        for record in failed + warned:
            for problem in record.errors + record.warnings:
                text = " ".join(str(problem).split())
                lines.append(f"{record.status.upper()}: {text}{_hint(text, repo)}")
        lines += [
            f"NOT CONNECTED: {name}: {', '.join(channels)}"
            for name, channels in missing.items()
        ]
        lines += [  # mxcubecore face: absent items answered with None
            f"MISSING LOOKUP: {message}"
            for messages in data["missing_lookups"].values()
            for message in messages
        ]
        lines.append(
            f"{len(records)} object(s): {len(records) - len(failed) - len(warned)} "
            f"ok, {len(warned)} with warnings, {len(failed)} failed; "
            f"{len(missing)} with channels not connected"
        )
        emit(args, data, "\n".join(lines))
        return 1 if failed or warned else 0


def _table(records: list[Any]) -> str:
    rows = [("object", "class", "file", "ms", "status")]
    rows += [
        (
            r.name,
            r.class_name.rsplit(".", 1)[-1] or "-",
            os.path.basename(r.file) if r.file else "-",
            f"{r.load_time * 1000:.1f}",
            r.status,
        )
        for r in records
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = []
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=True)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


_NO_FILE = re.compile(r"no file (\S+\.xml) in")


def _hint(problem: str, repo: Any) -> str:
    """Say where a missing referenced file is, if it is in a sub-directory."""
    match = _NO_FILE.search(problem)
    if not match:
        return ""
    relative = match.group(1)
    for directory in repo.path:
        for root, _dirs, files in os.walk(directory):
            candidate = os.path.join(root, relative)
            if os.path.basename(relative) in files and os.path.isfile(candidate):
                return (
                    f" (there is {os.path.relpath(candidate)}: references are "
                    f"resolved from the configuration's top; did you mean "
                    f"--config {os.path.relpath(root)}?)"
                )
    return ""


# -- list -------------------------------------------------------------------------
def cmd_list(args: argparse.Namespace) -> int:
    """List objects with their class, state, channels and commands."""
    path, _source = config_source(args)
    with repository(path) as repo:
        if args.names:
            names = [name.lstrip("/") for name in repo.names()]
            emit(args, names, "\n".join(names))
            return 0
        if args.objects:
            objects = [find_object(repo, name) for name in args.objects]
        else:
            repo.load_all()
            objects = [obj for _name, obj in sorted(repo.hardware_objects.items())]
        channels = [c for obj in objects for c in obj.get_channels()]
        wait_connected(channels, args.connect_timeout)
        wait_first_states(objects, args.connect_timeout)
        data = [_describe(obj) for obj in objects]
        emit(args, data, "\n".join(_list_lines(entry) for entry in data))
        return 0


def _describe(obj: Any) -> dict[str, Any]:
    return {
        "object": obj.name(),
        "class": type(obj).__name__,
        "state": object_state_text(obj) if obj.reports_state() else "",
        "channels": [
            {
                "name": c.name(),
                "type": item_kind(c),
                "source": item_source(c),
                "unit": channel_unit(obj, c),
                "connected": bool(c.is_connected()),
            }
            for c in obj.get_channels()
        ],
        "commands": [
            {"name": c.name(), "type": item_kind(c), "source": item_source(c)}
            for c in obj.get_commands()
        ],
        "roles": {
            role: getattr(obj.get_object_by_role(role), "name", lambda: "-")()
            for role in obj.get_roles()
        },
    }


def _list_lines(entry: dict[str, Any]) -> str:
    lines = [f"{entry['object']}  {entry['class']}  {entry['state']}".rstrip()]
    for channel in entry["channels"]:
        connected = "" if channel["connected"] else "  (not connected)"
        unit = f" [{channel['unit']}]" if channel["unit"] else ""
        lines.append(
            f"  channel {channel['name']:<14} {channel['type']:<6} "
            f"{channel['source']}{unit}{connected}"
        )
    lines += [
        f"  command {c['name']:<14} {c['type']:<6} {c['source']}"
        for c in entry["commands"]
    ]
    lines += [
        f"  role    {role:<14} -> {name}" for role, name in entry["roles"].items()
    ]
    return "\n".join(lines)
