"""A bounded pool of real OS threads that grows on demand and shrinks when idle.

Threads are started with the native ``start_new_thread`` (real threads even if
the application monkey-patched ``threading``). They never create a gevent hub
or any gevent object.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from ..bridge import _native

__all__ = ["WorkerPool", "in_pool_thread"]

log = logging.getLogger("HardwareRepository.Poller")

_thread_state = _native.thread_local()


def in_pool_thread() -> bool:
    """Whether the caller runs in a thread of a :class:`WorkerPool`."""
    return getattr(_thread_state, "pool", None) is not None


Task = tuple[Callable[..., Any], tuple[Any, ...]]


class WorkerPool:
    """Run submitted calls in at most ``max_threads`` real threads.

    A task never waits while the pool may still grow: when a task is queued and
    no thread is free to take it, an idle thread is woken or a new one started,
    up to ``max_threads``. Beyond that, tasks wait in FIFO order. A thread that
    finds no work for ``idle_timeout`` s ends.

    :meth:`submit` is safe from any thread. A task's exception is logged with
    its traceback; tasks are expected to handle their own errors.

    :param max_threads: the cap (a callable is read each time the pool wants to
        grow, so a changed setting applies at once).
    :param idle_timeout: seconds, read in the same way.
    """

    def __init__(
        self, max_threads: Callable[[], float], idle_timeout: Callable[[], float]
    ) -> None:
        self._max_threads = max_threads
        self._idle_timeout = idle_timeout
        self._mutex = _native.allocate_lock()
        # All below guarded by _mutex.
        self._tasks: deque[Task] = deque()
        self._idle: list[Any] = []  # one native lock per parked thread
        self._threads = 0  # started and not ended
        self._free = 0  # running threads not inside a task (about to take one)
        self._busy = 0  # threads inside a task
        self._closed = False
        self._exits: list[Any] = []  # one native lock per thread, released at exit
        #: most threads alive at once (for diagnostics and the benchmark)
        self.peak_threads = 0

    def __repr__(self) -> str:
        return (
            f"<WorkerPool threads={self._threads} busy={self._busy} "
            f"queued={len(self._tasks)}>"
        )

    @property
    def threads(self) -> int:
        """Threads alive now."""
        return self._threads

    @property
    def busy(self) -> int:
        """Threads running a task now."""
        return self._busy

    @property
    def queued(self) -> int:
        """Tasks waiting for a thread."""
        return len(self._tasks)

    def submit(self, func: Callable[..., Any], *args: Any) -> None:
        """Run ``func(*args)`` in a pool thread; never blocks.

        :raises RuntimeError: the pool was shut down.
        """
        with self._mutex:
            if self._closed:
                raise RuntimeError("the poller thread pool was shut down")
            self._tasks.append((func, args))
            if self._free == 0:
                self._add_free_thread()

    def _add_free_thread(self) -> None:
        # Caller holds _mutex: wake an idle thread, else start one if allowed.
        if self._idle:
            self._free += 1
            self._idle.pop().release()
        elif self._threads < int(self._max_threads()):
            self._threads += 1
            self._free += 1
            self.peak_threads = max(self.peak_threads, self._threads)
            exit_lock = _native.allocate_lock()
            exit_lock.acquire()
            self._exits.append(exit_lock)
            _native.start_new_thread(self._worker, (exit_lock,))

    def _worker(self, exit_lock: Any) -> None:
        parked = _native.allocate_lock()
        parked.acquire()
        _thread_state.pool = self
        try:
            while True:
                task = self._next_task(parked)
                if task is None:
                    return
                func, args = task
                try:
                    func(*args)
                except BaseException:
                    log.exception("poller pool task %r failed", func)
                finally:
                    task = func = args = None
                    with self._mutex:
                        self._busy -= 1
                        self._free += 1
        finally:
            with self._mutex:
                self._exits.remove(exit_lock)
            exit_lock.release()

    def _next_task(self, parked: Any) -> Task | None:
        """Take the next task, parking while there is none; ``None``: end."""
        self._mutex.acquire()
        try:
            while True:
                if self._tasks and not self._closed:
                    task = self._tasks.popleft()
                    self._free -= 1
                    self._busy += 1
                    if self._tasks and self._free == 0:
                        self._add_free_thread()
                    return task
                if self._closed:
                    self._free -= 1
                    self._threads -= 1
                    return None
                self._free -= 1
                self._idle.append(parked)
                self._mutex.release()
                try:
                    woken = parked.acquire(True, self._idle_timeout())
                finally:
                    self._mutex.acquire()
                if not woken:
                    if parked in self._idle:
                        self._idle.remove(parked)
                        self._threads -= 1
                        return None
                    # Woken between the timeout and taking the mutex: consume it.
                    parked.acquire()
        finally:
            self._mutex.release()

    def shutdown(self, timeout: float | None) -> bool:
        """Stop accepting tasks, drop queued ones and wait for threads to end.

        A thread stuck in a task ends only when the task returns.

        :param timeout: seconds to wait in total (``None``: for ever).
        :returns: whether every thread ended in time.
        """
        with self._mutex:
            self._closed = True
            dropped = len(self._tasks)
            self._tasks.clear()
            idle, self._idle = self._idle, []
            self._free += len(idle)
            for parked in idle:
                parked.release()
            exits = list(self._exits)
        if dropped:
            log.debug("poller pool shut down with %d queued call(s) dropped", dropped)
        deadline = None if timeout is None else _native.monotonic() + timeout
        for exit_lock in exits:
            if deadline is None:
                exit_lock.acquire()
            elif not exit_lock.acquire(True, max(0.0, deadline - _native.monotonic())):
                return False
            exit_lock.release()
        return True
