"""Detect threads, greenlets and file descriptors that a piece of code leaves behind.

Counted resources:

* Python threads: every thread with a Python frame (``sys._current_frames``),
  including threads started with ``_thread.start_new_thread``; native threads
  of C libraries (omniORB's, Qt's) are not Python threads and are not counted;
* greenlets that were started and have not finished, excluding hubs and the
  main greenlet of each thread;
* file descriptors other than sockets (``/proc/self/fd``); a gevent hub that is
  not destroyed leaves an eventfd and an epoll descriptor, and those count.
  Sockets are left out because control-system clients keep connection pools.
"""

from __future__ import annotations

import gc
import os
import sys
import time
from dataclasses import dataclass, field

from greenlet import greenlet

__all__ = ["LeakReport", "ResourceSnapshot", "wait_for_no_leaks"]


def _fd_targets() -> dict[int, str]:
    targets: dict[int, str] = {}
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:  # not Linux: nothing to compare
        return targets
    for name in names:
        try:
            target = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue  # closed between listdir and readlink (the listdir fd itself)
        if not target.startswith("socket:"):
            targets[int(name)] = target
    return targets


def _live_greenlets() -> set[int]:
    from gevent.hub import Hub

    live = set()
    for obj in gc.get_objects():
        if (
            isinstance(obj, greenlet)
            and obj.parent is not None
            and not isinstance(obj, Hub)
            and bool(obj)
        ):
            live.add(id(obj))
    return live


@dataclass
class ResourceSnapshot:
    """Threads, started greenlets and non-socket descriptors alive at one moment."""

    threads: set[int] = field(default_factory=set)
    greenlets: set[int] = field(default_factory=set)
    fds: dict[int, str] = field(default_factory=dict)

    @classmethod
    def take(cls) -> ResourceSnapshot:
        """Record what is alive now."""
        return cls(
            threads=set(sys._current_frames()),
            greenlets=_live_greenlets(),
            fds=_fd_targets(),
        )


@dataclass
class LeakReport:
    """What is alive now and was not alive at the reference snapshot."""

    threads: list[str]
    greenlets: int
    fds: list[str]

    def __bool__(self) -> bool:
        return bool(self.threads or self.greenlets or self.fds)

    def __str__(self) -> str:
        parts = []
        if self.threads:
            parts.append(f"{len(self.threads)} thread(s): " + "; ".join(self.threads))
        if self.greenlets:
            parts.append(f"{self.greenlets} greenlet(s) still running")
        if self.fds:
            parts.append("file descriptor(s): " + ", ".join(self.fds))
        return "leaked " + " | ".join(parts)


def _describe_thread(ident: int) -> str:
    frame = sys._current_frames().get(ident)
    if frame is None:
        return f"{ident:#x}"
    code = frame.f_code
    return f"{ident:#x} in {code.co_name} ({code.co_filename}:{frame.f_lineno})"


def _compare(before: ResourceSnapshot) -> LeakReport:
    now = ResourceSnapshot.take()
    return LeakReport(
        threads=[_describe_thread(t) for t in now.threads - before.threads],
        greenlets=len(now.greenlets - before.greenlets),
        fds=[
            f"{fd}->{target}"
            for fd, target in now.fds.items()
            if before.fds.get(fd) != target
        ],
    )


def wait_for_no_leaks(before: ResourceSnapshot, timeout: float = 3.0) -> LeakReport:
    """Wait up to ``timeout`` s for resources created since ``before`` to go away.

    Threads end and greenlets finish asynchronously, so the comparison is
    retried (running the gevent hub of the calling thread, if any, in between).
    :returns: the leaks left at the end (false when there are none).
    """
    import gevent

    from ..bridge import get_hub_if_exists

    deadline = time.monotonic() + timeout
    while True:
        gc.collect()
        report = _compare(before)
        if not report or time.monotonic() > deadline:
            return report
        if get_hub_if_exists() is not None:
            gevent.sleep(0.02)
        else:
            time.sleep(0.02)
