"""Run the recorder's Tango device server without a Tango database.

``python -m HardwareRepository.recording --config DIR [--port 18780]
[--device hwr/recorder/1]`` serves one :class:`ChannelRecorderDevice` on
``tango://HOST:PORT/DEVICE#dbase=no`` until Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the recorder device until interrupted; return the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m HardwareRepository.recording",
        description="The channel recorder's Tango device server (no database).",
    )
    parser.add_argument("--config", required=True, help="hardware-object configuration")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18780)
    parser.add_argument("--device", default="hwr/recorder/1")
    parser.add_argument(
        "--mode", default="parallel", choices=["parallel", "concurrent"]
    )
    args = parser.parse_args(argv)

    from tango.test_context import MultiDeviceTestContext

    from .tango_device import ChannelRecorderDevice

    devices = [
        {
            "class": ChannelRecorderDevice,
            "devices": [
                {
                    "name": args.device,
                    "properties": {"Configuration": args.config, "Mode": args.mode},
                }
            ],
        }
    ]
    context = MultiDeviceTestContext(
        devices,
        host=args.host,
        port=args.port,
        process=False,
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    context.start()
    try:
        url = f"tango://{args.host}:{args.port}/{args.device}#dbase=no"
        print(f"recorder: {url} (Ctrl-C stops)", flush=True)
        while not stop.wait(0.5) and context.thread.is_alive():
            pass
    finally:
        # cppTango may have shut its server down on the signal already.
        if context.thread.is_alive():
            context.stop()
        else:
            context.delete_db()
        sys.stdout.flush()
        sys.stderr.flush()
    # Skip interpreter clean-up: tearing cppTango down at exit can crash.
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
