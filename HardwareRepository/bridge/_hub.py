"""The one crossing primitive: hand a call from any thread to a gevent hub.

A :class:`HubBridge` belongs to the gevent hub of one OS thread. It owns one
async watcher, created, started and closed in that thread, and a deque. Any
thread may :meth:`~HubBridge.post` a call: it is appended to the deque and the
watcher is sent. The hub drains *everything* queued on each wake-up, in order,
so wake-ups may coalesce without losing anything.

Every other primitive of :mod:`HardwareRepository.bridge` crosses threads
through this module and nothing else.
"""

from __future__ import annotations

import logging
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any

import gevent

# gevent offers no public way to ask for the current thread's hub without
# creating one; this is the package's only import of it (re-exported by the
# bridge), so a gevent upgrade that moves it breaks one line.
from gevent._hub_local import get_hub_if_exists  # noqa: PLC2701
from greenlet import getcurrent

from ..errors import BridgeClosedError, InvalidThreadUseError
from . import native

__all__ = ["HubBridge", "get_bridge", "get_bridge_if_exists", "get_hub_if_exists"]

log = logging.getLogger("HardwareRepository.bridge")

# hub -> its bridge; guarded by _registry_lock.
_bridges: weakref.WeakKeyDictionary[Any, HubBridge] = weakref.WeakKeyDictionary()
_registry_lock = native.allocate_lock()


class HubBridge:
    """Run calls posted from any thread in the gevent hub of one thread.

    Create it with :func:`get_bridge` in the thread whose hub it serves.
    :meth:`post` is safe to call from any thread (and from the hub's own thread);
    everything else is for the hub's thread only.

    Posted calls run inside the hub itself, in the order they were posted by
    each thread. They must return quickly and must not block or switch: use
    :meth:`spawn_threadsafe` for anything that waits. An ``Exception`` from a
    posted call is logged with its traceback and does not stop the others; a
    ``BaseException`` (``KeyboardInterrupt``) propagates to the hub, and the
    calls still queued run at the next loop iteration.

    Each wake-up runs the calls queued when it arrived; calls posted meanwhile
    run at the next loop iteration, so a flood of posts cannot starve the hub's
    timers and greenlets.

    The watcher is *not* ref'd on its own, so an idle bridge does not keep
    ``gevent.wait()`` from returning. While a greenlet of this hub waits on a
    bridge primitive, the bridge is ref'd, so the waiting greenlet never gets
    ``LoopExit``. The price: two greenlets of one hub waiting on each other
    through bridge primitives hang (until their timeouts) instead of getting
    ``LoopExit``, since another thread could always be about to deliver.
    """

    def __init__(self, hub: Any) -> None:
        if hub.thread_ident != native.get_ident():
            raise InvalidThreadUseError(
                "a HubBridge must be created in the thread of the hub it serves"
            )
        # Weak, so that the registry (keyed weakly by hub) can forget the hub of
        # a thread that has ended.
        self._hub_ref = weakref.ref(hub)
        self.thread_ident: int = hub.thread_ident
        self._calls: deque[tuple[Callable[..., Any], tuple[Any, ...]]] = deque()
        # Guards _closed against a concurrent send() on a closed watcher.
        self._lock = native.allocate_lock()
        self._closed = False
        self._keepalive = 0  # hub thread only
        self._watcher = hub.loop.async_()
        self._watcher.ref = False
        self._watcher.start(self._drain)
        #: calls run so far (hub thread only; for diagnostics)
        self.calls_run = 0
        #: most calls found queued on one wake-up (hub thread only)
        self.max_batch = 0

    @property
    def hub(self) -> Any:
        """The gevent hub this bridge serves (``None`` once it is gone)."""
        return self._hub_ref()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{len(self._calls)} queued"
        return f"<HubBridge thread={self.thread_ident:#x} {state}>"

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def in_hub_thread(self) -> bool:
        """Whether the caller runs in this bridge's thread."""
        return native.get_ident() == self.thread_ident

    def post(self, func: Callable[..., Any], *args: Any) -> None:
        """Queue ``func(*args)`` to run in the hub; safe from any thread.

        :raises BridgeClosedError: the bridge was closed (its thread ended).
        """
        with self._lock:
            if self._closed:
                raise BridgeClosedError(
                    f"cannot post {func!r}: the hub bridge of thread "
                    f"{self.thread_ident:#x} is closed"
                )
            self._calls.append((func, args))
            self._watcher.send()

    def spawn_threadsafe(self, func: Callable[..., Any], *args: Any) -> None:
        """Run ``func(*args)`` in a new greenlet of this hub; safe from any thread.

        An exception it raises is logged with its traceback.
        """
        self.post(spawn_logged, func, *args)

    def _drain(self) -> None:
        # Run what was queued when the wake-up arrived, not what is posted while
        # running it: a thread posting as fast as the hub runs must not freeze
        # the hub's timers and greenlets. Anything left gets a new wake-up, so
        # the queue is still emptied, over more than one loop iteration.
        calls = self._calls
        n = 0
        try:
            for _ in range(len(calls)):
                func, args = calls.popleft()
                n += 1
                try:
                    func(*args)
                except Exception:
                    log.exception("call %r posted to the gevent hub failed", func)
        finally:
            self.calls_run += n
            if n > self.max_batch:
                self.max_batch = n
            if calls and not self._closed:
                self._watcher.send()

    def keepalive(self, delta: int) -> None:
        """Count greenlets waiting on other threads; hub thread only.

        While the count is positive the watcher is ref'd, so the loop cannot run
        out of work (``LoopExit``) while a thread is about to deliver.
        """
        self._keepalive += delta
        if not self._closed:
            self._watcher.ref = self._keepalive > 0

    def close(self) -> None:
        """Stop accepting posts, run what is queued and close the watcher.

        Hub thread only. Idempotent.
        """
        if not self.in_hub_thread():
            raise InvalidThreadUseError("HubBridge.close() must run in its hub thread")
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._drain()
        self._watcher.stop()
        self._watcher.close()
        hub = self.hub
        if hub is not None:
            with _registry_lock:
                _bridges.pop(hub, None)


def spawn_logged(func: Callable[..., Any], *args: Any) -> gevent.Greenlet:
    """Spawn ``func(*args)`` in the current hub; log its exception, if any.

    Unlike a bare ``gevent.spawn`` an ``Exception`` reaches the package's logger
    with its traceback, instead of being printed by the hub.
    ``KeyboardInterrupt`` and ``SystemExit`` still reach the main greenlet.
    """
    return gevent.spawn(_run_logged, func, args)


def _run_logged(func: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    # KeyboardInterrupt and SystemExit propagate: gevent's hub hands them to
    # the main greenlet, as for any greenlet. GreenletExit is a normal kill.
    try:
        return func(*args)
    except Exception:
        log.exception("greenlet running %r failed", func)
        return None


def get_bridge() -> HubBridge:
    """Return the bridge of the calling thread's hub, creating both if needed.

    Call it in the thread that owns the hardware objects (the GUI thread in
    mxCuBE); hand the bridge (or an object built on it) to other threads.

    Safe to call from the hub greenlet itself.
    """
    hub = gevent.get_hub()
    with _registry_lock:
        bridge = _bridges.get(hub)
    if bridge is None:
        bridge = HubBridge(hub)
        with _registry_lock:
            _bridges[hub] = bridge
    return bridge


def get_bridge_if_exists() -> HubBridge | None:
    """Return the calling thread's bridge if its hub has one, else ``None``.

    Never creates a hub; safe to call from worker threads.
    """
    hub = get_hub_if_exists()
    if hub is None:
        return None
    with _registry_lock:
        return _bridges.get(hub)


def current_greenlet_can_wait() -> bool:
    """Whether the caller may wait cooperatively (a greenlet that is not a hub)."""
    hub = get_hub_if_exists()
    return hub is not None and getcurrent() is not hub
