"""Synchronisation primitives usable from any thread and any greenlet.

Each wait is cooperative in a greenlet (other greenlets of its hub keep running)
and native in a plain thread. State is guarded by one native lock per object,
never held while waiting; waiters are woken through :class:`~._waiter.Waiter`,
which crosses threads only through the hub bridge.

Timeouts: waits that return a value (:meth:`AsyncResult.get`,
:meth:`Queue.get`, :meth:`Queue.put`) raise :class:`~HardwareRepository.errors.Timeout`;
waits whose documented result is a boolean (:meth:`Event.wait`,
:meth:`Lock.acquire`) return ``False``.
"""

from __future__ import annotations

import queue as _stdlib_queue
from collections import deque
from types import TracebackType
from typing import Any, Generic, TypeVar

from greenlet import getcurrent

from ..errors import Timeout
from . import native
from ._waiter import Waiter

__all__ = ["AsyncResult", "Empty", "Event", "Full", "Lock", "Queue", "RLock"]

T = TypeVar("T")


def _deadline(timeout: float | None) -> float | None:
    return None if timeout is None else native.monotonic() + timeout


def _remaining(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - native.monotonic())


class Event:
    """A flag that threads and greenlets can wait for.

    All methods are safe from any thread and any greenlet (not from inside the
    hub itself for :meth:`wait`).
    """

    def __init__(self) -> None:
        self._lock = native.allocate_lock()
        self._flag = False
        self._waiters: list[Waiter] = []  # guarded by _lock

    def __repr__(self) -> str:
        return f"<Event {'set' if self._flag else 'clear'}>"

    def is_set(self) -> bool:
        """Return whether the flag is set."""
        return self._flag

    def send(self) -> None:
        """Set the flag and wake every waiter."""
        with self._lock:
            self._flag = True
            waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            waiter.wake()

    set = send

    def clear(self) -> None:
        """Reset the flag; later :meth:`wait` calls block again."""
        with self._lock:
            self._flag = False

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the flag is set.

        :param timeout: seconds, or ``None`` to wait for ever.
        :returns: ``True`` if the flag was set, ``False`` on timeout.
        """
        with self._lock:
            if self._flag:
                return True
            if timeout is not None and timeout <= 0:
                return False  # a poll: no waiter, so it works inside the hub too
            waiter = Waiter()
            self._waiters.append(waiter)
        woken = False
        try:
            woken = waiter.wait(timeout)
        finally:
            if not woken:
                with self._lock:
                    if waiter in self._waiters:
                        self._waiters.remove(waiter)
        return woken


class AsyncResult(Generic[T]):
    """A value or an exception that one party sets and others wait for.

    ``set`` and ``get`` are safe from any thread and any greenlet; the result is
    set once. An exception travels with its original traceback: :meth:`get`
    re-raises it with the frames where it was raised.

    :param name: what the result is for; named in timeout messages.
    """

    def __init__(self, name: str | None = None) -> None:
        self.name = name
        self._event = Event()
        self._value: T | None = None
        self._exception: BaseException | None = None
        self._traceback: TracebackType | None = None
        self._set_lock = native.allocate_lock()
        self._is_set = False  # guarded by _set_lock

    def __repr__(self) -> str:
        if not self.ready():
            state = "pending"
        elif self._exception is not None:
            state = f"exception={self._exception!r}"
        else:
            state = f"value={self._value!r}"
        label = f" {self.name}" if self.name else ""
        return f"<AsyncResult{label} {state}>"

    def _claim(self) -> None:
        with self._set_lock:
            if self._is_set:
                raise RuntimeError(f"{self!r} is already set")
            self._is_set = True

    def set(self, result: T | BaseException | None = None) -> None:
        """Set the result; an exception instance makes :meth:`get` raise it.

        :raises RuntimeError: the result was already set.
        """
        if isinstance(result, BaseException):
            self.set_exception(result)
            return
        self._claim()
        self._value = result
        self._event.send()

    def set_exception(self, exception: BaseException) -> None:
        """Make :meth:`get` raise ``exception`` with its current traceback.

        :raises RuntimeError: the result was already set.
        """
        self._claim()
        self._exception = exception
        self._traceback = exception.__traceback__
        self._event.send()

    def ready(self) -> bool:
        """Return whether the result (value or exception) is set."""
        return self._event.is_set()

    def successful(self) -> bool:
        """Return whether the result is set and is not an exception."""
        return self.ready() and self._exception is None

    @property
    def exception(self) -> BaseException | None:
        """The exception, if the result is set to one."""
        return self._exception

    def wait(self, timeout: float | None = None) -> T | None:
        """Wait until the result is set or ``timeout`` passes; never raise.

        :returns: the value if it is set and successful; ``None`` on timeout and
            when the result is an exception (tell them apart with :meth:`ready`
            and :meth:`successful`).
        """
        self._event.wait(timeout)
        return self._value

    def get(self, timeout: float | None = None) -> T:
        """Wait for the result and return it, or raise its exception.

        :param timeout: seconds, or ``None`` to wait for ever.
        :raises Timeout: the result was not set in time.
        """
        if not self._event.wait(timeout):
            what = self.name or "the result"
            raise Timeout(f"{what} was not ready after {timeout} s")
        if self._exception is not None:
            raise self._exception.with_traceback(self._traceback)
        return self._value  # type: ignore[return-value]


class Empty(_stdlib_queue.Empty):
    """:meth:`Queue.get_nowait` found the queue empty."""


class Full(_stdlib_queue.Full):
    """:meth:`Queue.put` with ``block=False`` found the queue full."""


class Queue(Generic[T]):
    """A FIFO queue that threads and greenlets can share.

    Items put by one producer come out in the order they were put. ``put`` and
    ``get`` are safe from any thread and any greenlet.

    :param maxsize: at most this many items; ``0`` means unbounded.
    """

    def __init__(self, maxsize: int = 0) -> None:
        self.maxsize = maxsize
        self._items: deque[T] = deque()
        self._lock = native.allocate_lock()
        self._getters: deque[Waiter] = deque()  # guarded by _lock
        self._putters: deque[Waiter] = deque()  # guarded by _lock

    def __repr__(self) -> str:
        return f"<Queue {len(self._items)}/{self.maxsize or 'inf'}>"

    def qsize(self) -> int:
        """Return the number of items queued."""
        return len(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def empty(self) -> bool:
        """Return whether no item is queued."""
        return not self._items

    def full(self) -> bool:
        """Return whether a put would have to wait."""
        return 0 < self.maxsize <= len(self._items)

    @staticmethod
    def _wake_one(waiters: deque[Waiter]) -> None:
        while waiters:
            if waiters.popleft().wake():
                return

    def put(self, item: T, block: bool = True, timeout: float | None = None) -> None:
        """Append ``item``, waiting for room if the queue is bounded and full.

        :raises Full: ``block`` is false and the queue is full.
        :raises Timeout: no room within ``timeout`` seconds.
        """
        deadline = _deadline(timeout)
        while True:
            with self._lock:
                if not self.maxsize or len(self._items) < self.maxsize:
                    self._items.append(item)
                    self._wake_one(self._getters)
                    return
                if not block:
                    raise Full(f"{self!r} is full")
                if deadline is not None and native.monotonic() >= deadline:
                    raise Timeout(f"no room in {self!r} after {timeout} s")
                waiter = Waiter()
                self._putters.append(waiter)
            if not self._park(waiter, self._putters, deadline):
                raise Timeout(f"no room in {self!r} after {timeout} s")

    def put_nowait(self, item: T) -> None:
        """Append ``item`` or raise :class:`Full`."""
        self.put(item, block=False)

    def get(self, block: bool = True, timeout: float | None = None) -> T:
        """Remove and return the oldest item, waiting for one if needed.

        :raises Empty: ``block`` is false and the queue is empty.
        :raises Timeout: no item within ``timeout`` seconds.
        """
        deadline = _deadline(timeout)
        while True:
            with self._lock:
                if self._items:
                    item = self._items.popleft()
                    self._wake_one(self._putters)
                    return item
                if not block:
                    raise Empty(f"{self!r} is empty")
                if deadline is not None and native.monotonic() >= deadline:
                    raise Timeout(f"nothing in {self!r} after {timeout} s")
                waiter = Waiter()
                self._getters.append(waiter)
            if not self._park(waiter, self._getters, deadline):
                raise Timeout(f"nothing in {self!r} after {timeout} s")

    def get_nowait(self) -> T:
        """Remove and return the oldest item or raise :class:`Empty`."""
        return self.get(block=False)

    def _park(
        self, waiter: Waiter, waiters: deque[Waiter], deadline: float | None
    ) -> bool:
        """Wait on ``waiter``; on timeout or abort pass a won wake-up on."""
        try:
            woken = waiter.wait(_remaining(deadline))
        except BaseException:
            self._abandon(waiter, waiters)
            raise
        if not woken:
            with self._lock:
                if waiter in waiters:
                    waiters.remove(waiter)
        return woken

    def _abandon(self, waiter: Waiter, waiters: deque[Waiter]) -> None:
        with self._lock:
            if waiter.cancel():
                if waiter in waiters:
                    waiters.remove(waiter)
            else:
                # We consumed a wake-up meant for whoever takes our place.
                self._wake_one(waiters)


class RLock:
    """A re-entrant lock owned by one greenlet, shared by threads and greenlets.

    Ownership belongs to the greenlet that acquired it (each plain thread is its
    own main greenlet). Waiters are served first come, first served: a release
    hands the lock directly to the oldest waiter, so none starves. Safe from
    any thread and any greenlet, except inside the hub itself.
    """

    _reentrant = True

    def __init__(self) -> None:
        self._lock = native.allocate_lock()
        self._owner: Any = None  # guarded by _lock
        self._count = 0  # guarded by _lock
        self._waiters: deque[Waiter] = deque()  # guarded by _lock

    def __repr__(self) -> str:
        state = f"owned x{self._count}" if self._owner is not None else "free"
        return f"<{type(self).__name__} {state}, {len(self._waiters)} waiting>"

    def locked(self) -> bool:
        """Return whether some greenlet owns the lock."""
        return self._owner is not None

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        """Acquire the lock.

        :param blocking: wait for the lock if another greenlet owns it.
        :param timeout: seconds to wait at most; ``None`` waits for ever.
        :returns: whether the lock was acquired.
        :raises RuntimeError: a non-reentrant :class:`Lock` is acquired again by
            its owner without a timeout, which could never succeed.
        """
        me = getcurrent()
        with self._lock:
            if self._owner is None:
                self._owner, self._count = me, 1
                return True
            if self._owner is me:
                if self._reentrant:
                    self._count += 1
                    return True
                if blocking and timeout is None:
                    raise RuntimeError(
                        f"{self!r} is already held by this greenlet; acquiring it "
                        "again would deadlock (use RLock)"
                    )
            if not blocking or (timeout is not None and timeout <= 0):
                return False
            waiter = Waiter(me)
            self._waiters.append(waiter)
        try:
            woken = waiter.wait(timeout)
        except BaseException:
            with self._lock:
                if waiter.cancel():
                    if waiter in self._waiters:
                        self._waiters.remove(waiter)
                elif self._owner is me:
                    # Ownership was handed to us as we were interrupted.
                    self._release_locked()
            raise
        if not woken:
            with self._lock:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
        return woken

    def release(self) -> None:
        """Release the lock once; it is free when released as often as acquired.

        :raises RuntimeError: the caller does not own the lock.
        """
        with self._lock:
            if self._owner is not getcurrent():
                raise RuntimeError(f"cannot release {self!r}: not its owner")
            self._count -= 1
            if self._count == 0:
                self._release_locked()

    def _release_locked(self) -> None:
        self._owner, self._count = None, 0
        while self._waiters:
            waiter = self._waiters.popleft()
            self._owner, self._count = waiter.payload, 1
            if waiter.wake():
                return
            self._owner, self._count = None, 0

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self.release()


class Lock(RLock):
    """A non-reentrant :class:`RLock`: the owner may not acquire it again."""

    _reentrant = False
