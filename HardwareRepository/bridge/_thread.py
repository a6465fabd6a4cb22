"""Real threads that run their own gevent hub, and per-thread resources."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

import gevent

from ..errors import BridgeClosedError, InvalidThreadUseError, Timeout
from . import native
from ._hub import get_bridge
from ._launch import Launcher
from ._sync import AsyncResult, Event

__all__ = ["Thread", "ThreadResource"]

log = logging.getLogger("HardwareRepository.bridge")
T = TypeVar("T")
_thread_numbers = itertools.count(1)


class Thread:
    """A real OS thread running its own gevent hub.

    The thread runs ``target(*args, **kwargs)`` in a greenlet of its hub and ends
    when it returns; without a target it serves :meth:`spawn` and :meth:`apply`
    until :meth:`stop`. An exception from the target ends the thread too: it is
    logged with its traceback (logger ``HardwareRepository.bridge``) and
    :meth:`get` re-raises it. When it ends, every greenlet it still runs is killed and
    its hub and loop are destroyed (no file descriptor is left behind).

    All methods are safe from any thread and any greenlet, except waiting
    (:meth:`join`, :meth:`get`, ``start(wait=True)``) inside a hub itself.
    The thread is a real thread even when the application monkey-patched
    ``threading``.

    :param name: shown in ``repr`` and log messages.
    """

    def __init__(
        self,
        target: Callable[..., Any] | None = None,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
        *,
        name: str | None = None,
    ) -> None:
        self.name = name or f"HubThread-{next(_thread_numbers)}"
        self._target = target
        self._args = args
        self._kwargs = kwargs or {}
        self._launcher: Launcher | None = None
        self._started = Event()
        self._stop_requested = Event()
        self._finished = Event()
        self._result: AsyncResult[Any] = AsyncResult(name=f"result of {self.name}")
        self._failure: BaseException | None = None  # set in the thread itself
        self._start_lock = native.allocate_lock()
        self._start_called = False
        self.ident: int | None = None

    def __repr__(self) -> str:
        if self._finished.is_set():
            state = "finished"
        elif self._started.is_set():
            state = "running"
        else:
            state = "new"
        return f"<Thread {self.name} {state}>"

    def is_alive(self) -> bool:
        """Return whether the thread has started and not finished."""
        return self._started.is_set() and not self._finished.is_set()

    def start(self, wait: bool = True, timeout: float | None = None) -> None:
        """Start the thread.

        :param wait: return only once its hub is ready to serve calls.
        :raises RuntimeError: the thread was already started.
        :raises Timeout: ``wait`` and the thread was not ready in ``timeout``.
        """
        with self._start_lock:
            if self._start_called:
                raise RuntimeError(f"{self!r} was already started")
            self._start_called = True
        native.start_new_thread(self._bootstrap, ())
        if wait and not self._started.wait(timeout):
            raise Timeout(f"{self!r} did not start within {timeout} s")

    def _bootstrap(self) -> None:
        self.ident = native.get_ident()
        hub = None
        try:
            hub = gevent.get_hub()
            bridge = get_bridge()
            self._launcher = Launcher()
            main = None
            if self._target is not None:
                main = gevent.spawn(self._run_target)
                main.link(lambda _: self._stop_requested.send())
            self._started.send()
            self._stop_requested.wait()
            if main is not None:
                main.kill(block=True)
                self._record(main)
            else:
                self._result.set(None)
            self._launcher.close()
            _kill_hub_greenlets(hub)
            bridge.close()
        except BaseException as exc:
            log.exception("%r failed in its hub", self)
            if not self._result.ready():
                self._result.set_exception(exc)
        finally:
            if hub is not None:
                hub.destroy(destroy_loop=True)
            self.ident = None
            self._started.send()
            self._finished.send()

    def _run_target(self) -> Any:
        # The target's exception is caught here, so that it reaches get() and
        # the log instead of being printed by gevent's hub.
        assert self._target is not None  # only spawned when there is one
        try:
            return self._target(*self._args, **self._kwargs)
        except gevent.GreenletExit:
            raise
        except BaseException as exc:
            log.error(
                "%r: its target %r raised (Thread.get() re-raises it)",
                self,
                self._target,
                exc_info=True,
            )
            self._failure = exc
            return None

    def _record(self, main: gevent.Greenlet) -> None:
        if self._failure is not None:
            self._result.set_exception(self._failure)
        elif main.successful():
            value = main.value
            self._result.set(None if isinstance(value, gevent.GreenletExit) else value)
        else:
            self._result.set_exception(main.exception)

    def _require_launcher(self) -> Launcher:
        if self._launcher is None or self._finished.is_set():
            raise BridgeClosedError(f"{self!r} is not running")
        return self._launcher

    def spawn(
        self, func: Callable[..., T], *args: Any, **kwargs: Any
    ) -> AsyncResult[T]:
        """Run ``func`` in a new greenlet of this thread.

        :returns: an :class:`AsyncResult` with its value or exception.
        :raises BridgeClosedError: the thread is not running.
        """
        return self._require_launcher().apply_async(func, *args, **kwargs)

    apply_async = spawn

    def apply(
        self,
        func: Callable[..., T],
        *args: Any,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> T:
        """Run ``func`` in this thread and return its value (or raise).

        :raises Timeout: no result within ``timeout`` seconds.
        :raises BridgeClosedError: the thread is not running.
        """
        return self._require_launcher().apply(func, *args, timeout=timeout, **kwargs)

    def stop(self, wait: bool = True, timeout: float | None = None) -> None:
        """Kill the thread's greenlets (its target first) and end it.

        A greenlet busy without yielding (a CPU loop, a native blocking call)
        cannot be killed until it yields; ``wait`` then times out. Called from
        the thread itself, it requests the stop and returns without waiting.
        Called before :meth:`start`, it returns at once and a later start ends
        the thread immediately.

        :raises Timeout: ``wait`` and the thread did not end in ``timeout``.
        """
        self._stop_requested.send()
        if wait and self._start_called and self.ident != native.get_ident():
            self.join(timeout)

    def join(self, timeout: float | None = None) -> None:
        """Wait until the thread has ended.

        :raises Timeout: it did not end within ``timeout`` seconds.
        :raises RuntimeError: the thread was never started.
        :raises InvalidThreadUseError: called from the thread itself.
        """
        if self._finished.is_set():
            return
        if not self._start_called:
            raise RuntimeError(f"cannot join {self!r}: it was never started")
        if self.ident == native.get_ident():
            raise InvalidThreadUseError(f"{self!r} cannot join itself")
        if not self._finished.wait(timeout):
            raise Timeout(f"{self!r} did not end within {timeout} s")

    def get(self, timeout: float | None = None) -> Any:
        """Wait for the thread to end; return its target's value or raise its error.

        :raises Timeout: the thread did not end within ``timeout`` seconds.
        """
        self.join(timeout)
        return self._result.get(0)


def _kill_hub_greenlets(hub: Any) -> None:
    """Kill every greenlet still running in ``hub`` (its own thread only).

    Includes greenlets the target spawned itself, so their ``finally`` blocks
    run and their waiters leave the primitives they wait on.
    """
    import gc

    from greenlet import getcurrent

    me = getcurrent()
    for _ in range(3):
        alive = [
            obj
            for obj in gc.get_objects()
            if isinstance(obj, gevent.Greenlet)
            and obj.parent is hub
            and obj is not me
            and not obj.dead
        ]
        if not alive:
            return
        gevent.killall(alive, timeout=5)


class _Holder:
    """Lives in a native thread-local; its deletion at thread exit drops the entry."""

    __slots__ = ("key", "owner")

    def __init__(self, owner: ThreadResource[Any], key: int) -> None:
        self.owner = owner
        self.key = key

    def __del__(self) -> None:
        self.owner._forget(self.key)


class ThreadResource(Generic[T]):
    """One resource per thread, created on first use, gone with its thread.

    Typical use: one client object per thread for a library that is not
    thread-safe. All methods are safe from any thread.

    :param init_resource: called without arguments in the thread that first
        calls :meth:`get`, to create that thread's resource.
    """

    def __init__(self, init_resource: Callable[[], T]) -> None:
        self._init_resource = init_resource
        self._local = native.thread_local()
        self._lock = native.allocate_lock()
        self._resources: dict[int, T] = {}  # guarded by _lock
        self._keys = itertools.count()

    def get(self) -> T:
        """Return the calling thread's resource, creating it if needed."""
        holder = getattr(self._local, "holder", None)
        if holder is not None:
            with self._lock:
                if holder.key in self._resources:
                    return self._resources[holder.key]
        resource = self._init_resource()
        holder = _Holder(self, next(self._keys))
        with self._lock:
            self._resources[holder.key] = resource
        self._local.holder = holder
        return resource

    def pop(self) -> T | None:
        """Remove and return the calling thread's resource (``None`` if none)."""
        holder = getattr(self._local, "holder", None)
        if holder is None:
            return None
        self._local.holder = None
        with self._lock:
            return self._resources.pop(holder.key, None)

    def _forget(self, key: int) -> None:
        with self._lock:
            self._resources.pop(key, None)

    def __iter__(self) -> Iterator[T]:
        """Iterate over the resources of the threads that are still alive."""
        with self._lock:
            return iter(list(self._resources.values()))

    def __len__(self) -> int:
        with self._lock:
            return len(self._resources)
