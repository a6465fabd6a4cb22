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

from ..bridge import native

__all__ = ["WorkerPool", "in_pool_thread"]

log = logging.getLogger("HardwareRepository.Poller")

_thread_state = native.thread_local()


def in_pool_thread() -> bool:
    """Whether the caller runs in a thread of a :class:`WorkerPool`."""
    return getattr(_thread_state, "pool", None) is not None


#: Seconds of queueing after which the pool adds a thread, when all threads are
#: busy: the most a hanging call delays the others while the pool may grow.
GROW_AFTER = 0.002

# Weight of the last task in the running average of task durations.
_AVERAGE_WEIGHT = 0.125

Task = tuple[Callable[..., Any], tuple[Any, ...], float]


class WorkerPool:
    """Run submitted calls in at most ``max_threads`` real threads.

    Tasks run in FIFO order. A thread that finishes a task takes the next
    queued one without parking, so a batch of short tasks is run by one thread
    in one wake-up instead of waking one thread per task (threads contending
    for the GIL delay the hub that receives their results). The pool grows, up
    to ``max_threads``, by waking an idle thread or starting one:

    * at once when no thread is running;
    * at once when the queued tasks, at the average task duration so far,
      would keep every running thread busy for more than :data:`GROW_AFTER`;
    * when :meth:`grow_stalled` (called by the scheduler thread) finds that
      tasks are queued and no thread took one for :data:`GROW_AFTER` or more:
      that is how a hanging task gets a thread beside it. Threads that take
      tasks slowly because they wait for the GIL are not a stall: more
      threads would only wait for it too.

    A thread that finds no work for ``idle_timeout`` s ends.

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
        self._mutex = native.allocate_lock()
        # All below guarded by _mutex.
        self._tasks: deque[Task] = deque()
        self._idle: list[Any] = []  # one native lock per parked thread
        self._threads = 0  # started and not ended
        self._free = 0  # running threads not inside a task (about to take one)
        self._busy = 0  # threads inside a task
        self._closed = False
        self._average = 0.0  # running average of task durations, s
        self._last_take = 0.0  # monotonic time a thread last took a task
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
        self.submit_many([(func, args)])

    def submit_many(
        self, calls: list[tuple[Callable[..., Any], tuple[Any, ...]]]
    ) -> None:
        """Run each ``func(*args)`` of ``calls`` in a pool thread; never blocks.

        :raises RuntimeError: the pool was shut down.
        """
        now = native.monotonic()
        with self._mutex:
            if self._closed:
                raise RuntimeError("the poller thread pool was shut down")
            self._tasks.extend((func, args, now) for func, args in calls)
            if self._free == 0 and self._should_grow():
                self._add_free_thread()

    def _should_grow(self) -> bool:
        # Caller holds _mutex, tasks are queued and no thread is free.
        busy = self._busy
        return busy == 0 or len(self._tasks) * self._average > GROW_AFTER * busy

    def grow_stalled(self, now: float) -> float | None:
        """Add a thread if no thread took a queued task for :data:`GROW_AFTER` s.

        Called periodically by the scheduler thread.

        :param now: the monotonic time.
        :returns: when to call again (monotonic), or ``None`` while no task is
            queued or the pool is at its cap (a thread ending its task then takes
            the next one).
        """
        with self._mutex:
            if not self._tasks or self._closed:
                return None
            if self._free == 0:
                waiting_since = max(self._tasks[0][2], self._last_take)
                if now - waiting_since < GROW_AFTER:
                    return waiting_since + GROW_AFTER
                if not self._idle and self._threads >= int(self._max_threads()):
                    return None
                self._add_free_thread()
            return now + GROW_AFTER

    def _add_free_thread(self) -> None:
        # Caller holds _mutex: wake an idle thread, else start one if allowed.
        if self._idle:
            self._free += 1
            self._idle.pop().release()
        elif self._threads < int(self._max_threads()):
            self._threads += 1
            self._free += 1
            self.peak_threads = max(self.peak_threads, self._threads)
            exit_lock = native.allocate_lock()
            exit_lock.acquire()
            self._exits.append(exit_lock)
            native.start_new_thread(self._worker, (exit_lock,))

    def _worker(self, exit_lock: Any) -> None:
        parked = native.allocate_lock()
        parked.acquire()
        _thread_state.pool = self
        try:
            while True:
                task = self._next_task(parked)
                if task is None:
                    return
                func, args, _ = task
                start = self._last_take = native.monotonic()
                try:
                    func(*args)
                except BaseException:
                    log.exception("poller pool task %r failed", func)
                finally:
                    del task, func, args  # drop the references while idle
                    duration = native.monotonic() - start
                    with self._mutex:
                        self._average += (duration - self._average) * _AVERAGE_WEIGHT
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
                    if self._tasks and self._free == 0 and self._should_grow():
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
        deadline = None if timeout is None else native.monotonic() + timeout
        for exit_lock in exits:
            if deadline is None:
                exit_lock.acquire()
            elif not exit_lock.acquire(True, max(0.0, deadline - native.monotonic())):
                return False
            exit_lock.release()
        return True
