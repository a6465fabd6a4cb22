"""Hand calls from client threads to one hub greenlet: ordered, every one, sliced.

Control-system threads (an Exporter reader thread, Channel Access's threads)
put calls here; one greenlet of the owning hub runs them in the order they
were put, without merging any (a channel receives every value the server
sent), and lets the hub's other greenlets run every ``slice_seconds``. The
greenlet exists only while there is work, so an idle inbox holds no greenlet.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from time import monotonic
from typing import Any

import gevent

from ..bridge import HubBridge, _native, get_bridge

__all__ = ["HubInbox", "inbox_for_this_hub"]

log = logging.getLogger("HardwareRepository.commands")


class HubInbox:
    """An ordered queue of calls run by one greenlet of ``bridge``'s hub.

    :meth:`put` is safe from any thread and never blocks; the calls run in the
    hub thread. A call that raises is logged and the next one runs.
    """

    def __init__(self, bridge: HubBridge, slice_seconds: float = 0.002) -> None:
        self.bridge = bridge
        self.slice_seconds = slice_seconds
        self._lock = _native.allocate_lock()
        # guarded by _lock: the calls waiting, and whether a drain is under way
        self._calls: deque[tuple[Callable[..., Any], tuple[Any, ...]]] = deque()
        self._draining = False
        self._drainer: gevent.Greenlet | None = None  # hub thread only

    def put(self, func: Callable[..., Any], *args: Any) -> None:
        """Queue ``func(*args)`` for the hub; ignored once the hub's bridge closed."""
        with self._lock:
            self._calls.append((func, args))
            if self._draining:
                return
            self._draining = True
        if not self.bridge.closed:
            self.bridge.post(self._start)

    def _start(self) -> None:
        self._drainer = gevent.spawn(self._drain)

    def _drain(self) -> None:
        began = monotonic()
        while True:
            with self._lock:
                if not self._calls:
                    self._draining = False
                    return
                func, args = self._calls.popleft()
            try:
                func(*args)
            except Exception:
                log.exception("%r failed in the hub", func)
            if monotonic() - began > self.slice_seconds:
                gevent.sleep(0)
                began = monotonic()

    def close(self) -> None:
        """Drop what is queued and stop the greenlet; hub thread."""
        with self._lock:
            self._calls.clear()
        drainer, self._drainer = self._drainer, None
        if drainer is not None:
            drainer.kill(block=True, timeout=1.0)


_inboxes: dict[int, HubInbox] = {}  # by id of the bridge; hub threads only


def inbox_for_this_hub() -> HubInbox:
    """Return the shared inbox of the calling thread's hub (created on first use)."""
    bridge = get_bridge()
    inbox = _inboxes.get(id(bridge))
    if inbox is None or inbox.bridge is not bridge:
        inbox = _inboxes[id(bridge)] = HubInbox(bridge)
    return inbox
