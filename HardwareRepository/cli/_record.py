"""``hwr record OBJECT.channel... -o FILE.h5 [--duration S]``: record to NeXus."""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

from ._common import config_path, emit, until_interrupted, warn
from ._lookup import repository

__all__ = ["cmd_record", "register"]

#: seconds between two progress lines
_PROGRESS_PERIOD = 1.0


def register(sub: Any) -> None:
    """Add ``record`` to the ``hwr`` sub-command parsers."""
    record = sub.add_parser(
        "record",
        help="record channels to a NeXus (HDF5) file until Ctrl-C",
        description="Record every update of the channels to a new NeXus file, "
        "one NXlog per channel, with a progress line; Ctrl-C (or --duration) "
        "stops the recording and closes the file properly.",
    )
    record.add_argument("targets", nargs="+", metavar="OBJECT.channel")
    record.add_argument(
        "-o", "--output", required=True, metavar="FILE.h5", help="the file to create"
    )
    record.add_argument(
        "--duration", type=float, default=None, help="stop after this many seconds"
    )
    record.add_argument(
        "--mode",
        choices=["parallel", "concurrent"],
        default="parallel",
        help="write the file in its own thread (parallel, default) or in the "
        "main thread's hub (concurrent)",
    )
    record.add_argument(
        "--swmr", action="store_true", help="let readers open it with swmr=True"
    )
    record.add_argument(
        "--overwrite", action="store_true", help="replace FILE.h5 if it exists"
    )
    record.set_defaults(run=cmd_record)


def _size(path: str) -> str:
    try:
        size = float(os.path.getsize(path))
    except OSError:
        return "?"
    if size < 1000:
        return f"{size:.0f} B"
    for unit in ("kB", "MB"):
        size /= 1000
        if size < 1000:
            return f"{size:.1f} {unit}"
    return f"{size / 1000:.1f} GB"


def _progress(recorder: Any, started: float) -> str:
    info = recorder.info()
    written = sum(c["written"] for c in info["channels"].values())
    received = sum(c["received"] for c in info["channels"].values())
    elapsed = max(1e-9, time.monotonic() - started)
    dropped = f", {info['dropped']} dropped" if info["dropped"] else ""
    return (
        f"{elapsed:6.1f} s  {received} samples received, {written} written "
        f"({received / elapsed:.0f}/s{dropped}), {_size(recorder.path)}"
    )


def cmd_record(args: argparse.Namespace) -> int:
    """Record the channels until Ctrl-C or ``--duration``; close the file."""
    from ..recording import ChannelRecorder

    interactive = sys.stderr.isatty()
    with repository(config_path(args)) as repo, until_interrupted() as stop:
        recorder = ChannelRecorder(
            args.targets,
            args.output,
            args.mode,
            repo,
            swmr=args.swmr,
            overwrite=args.overwrite,
        )
        for warning in recorder.warnings:
            warn(f"hwr record: WARNING: {warning}")
        recorder.start()
        started = time.monotonic()
        print(f"recording into {recorder.path} (Ctrl-C stops)", file=sys.stderr)
        deadline = None if args.duration is None else started + args.duration
        try:
            while not recorder.done():
                wait = _PROGRESS_PERIOD
                if deadline is not None:
                    wait = min(wait, deadline - time.monotonic())
                if wait <= 0 or stop.wait(wait):
                    break
                line = _progress(recorder, started)
                if interactive:
                    print(f"\r{line}", end="", file=sys.stderr, flush=True)
                else:
                    print(line, file=sys.stderr, flush=True)
        finally:
            recorder.stop(wait=True, timeout=30)
        if interactive:
            print(file=sys.stderr)
        info = recorder.info()
        written = sum(c["written"] for c in info["channels"].values())
        channels = len(info["channels"])
        summary = {
            "path": recorder.path,
            "state": info["state"],
            "reason": info["reason"],
            "samples": {name: c["written"] for name, c in info["channels"].items()},
            "dropped": info["dropped"],
            "warnings": info["warnings"],
        }
        if recorder.reason:
            warn(
                f"hwr record: FAILED: {recorder.reason}; {written} samples of "
                f"{channels} channel(s) are in {recorder.path}"
            )
            emit(args, summary, None)
            return 1
        emit(
            args,
            summary,
            f"recorded {written} samples of {channels} channel(s) into "
            f"{recorder.path} ({_size(recorder.path)})",
        )
        return 0
