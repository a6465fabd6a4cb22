"""One scheduler thread: a heap of absolute deadlines feeding the worker pool.

The scheduler never runs a polled call itself, so a slow call cannot delay the
schedule; it only hands due jobs to the :class:`~._pool.WorkerPool`. Jobs with
the same deadline share one heap entry (a bucket) and are started together.
"""

from __future__ import annotations

import heapq
import itertools
import logging
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from ..bridge import native
from . import _config
from ._pool import WorkerPool
from ._wakeup import Wakeup

__all__ = ["Schedulable", "Scheduler"]

log = logging.getLogger("HardwareRepository.Poller")

# The fractional part of the golden ratio: k * _GOLDEN mod 1 is spread evenly.
_GOLDEN = 0.6180339887498949
# Phases of one period are rounded to slots of about this many seconds, at
# most _MAX_SLOTS per period.
_SLOT = 0.002
_MAX_SLOTS = 64


class Schedulable(Protocol):
    """What the scheduler needs from a job."""

    #: the sequence number of the job's valid entry (scheduler lock only)
    sched_entry: int | None


#: ``start(due_jobs, pool)``: called in the scheduler thread with the jobs whose
#: deadline came, as ``(deadline, job)`` pairs, to hand their calls to ``pool``.
Starter = Callable[[list[tuple[float, Any]], WorkerPool], None]


class Scheduler:
    """Fire jobs at absolute monotonic times, in a thread of its own.

    :meth:`schedule`, :meth:`cancel` and :meth:`call_soon` are safe from any
    thread. The thread starts on demand and ends once nothing has been scheduled
    for ``idle_timeout`` s, or at :meth:`shutdown`.
    """

    def __init__(self, start: Starter) -> None:
        self._start = start
        self.pool = WorkerPool(
            lambda: _config.get("max_threads"), lambda: _config.get("idle_timeout")
        )
        self._lock = native.allocate_lock()
        # All below guarded by _lock.
        self._heap: list[float] = []  # distinct deadlines
        self._buckets: dict[float, list[tuple[int, Schedulable]]] = {}
        self._live = 0  # valid entries in _buckets
        self._running = False
        self._closed = False
        self._exit_lock: Any = None
        self._seq = itertools.count()
        self._wakeup = Wakeup()
        # Appended to from any thread, even from weak-reference callbacks.
        self._soon: deque[Callable[[], Any]] = deque()
        self._origin = native.monotonic()
        self._phases = itertools.count()

    def phase_for(self, period: float) -> float:
        """Return a reference time for a new job's grid of deadlines.

        A job's regular deadlines are ``phase + n * period``. Successive jobs get
        phases spread over the period along the golden-ratio sequence, so jobs
        created together (same period) do not all fall due at the same moment
        but evenly across the period, whatever their number. Phases are
        rounded to slots of about ``_SLOT`` s, so that jobs of one period that
        share a slot fall due at the very same time and are fired together
        (one wake-up of the scheduler for the group).

        :param period: the job's period, in seconds.
        :returns: a monotonic time.
        """
        with self._lock:
            k = next(self._phases)
        slots = min(_MAX_SLOTS, max(1, round(period / _SLOT)))
        return self._origin + (int(k * _GOLDEN % 1.0 * slots) * period) / slots

    @property
    def running(self) -> bool:
        """Whether the scheduler thread is alive."""
        return self._running

    @property
    def scheduled(self) -> int:
        """Jobs waiting for their deadline."""
        return self._live

    def schedule(self, job: Schedulable, due: float) -> None:
        """Fire ``job`` at monotonic time ``due``, replacing its previous deadline.

        :raises RuntimeError: the scheduler was shut down.
        """
        with self._lock:
            if self._closed:
                raise RuntimeError("the poller scheduler was shut down")
            if job.sched_entry is None:
                self._live += 1
            seq = next(self._seq)
            job.sched_entry = seq
            bucket = self._buckets.get(due)
            if bucket is None:
                bucket = self._buckets[due] = []
                heapq.heappush(self._heap, due)
            bucket.append((seq, job))
            earliest = self._heap[0] == due
            self._ensure_thread()
        if earliest:
            self._wakeup.wake()

    def cancel(self, job: Schedulable) -> None:
        """Forget ``job``'s pending deadline, if any.

        When no deadline is left, the thread is woken so that its idle timeout
        starts now rather than at the forgotten deadline.
        """
        idle = False
        with self._lock:
            if job.sched_entry is not None:
                job.sched_entry = None
                self._live -= 1
                if self._live == 0:
                    self._heap.clear()
                    self._buckets.clear()
                    idle = True
        if idle:
            self._wakeup.wake()

    def call_soon(self, func: Callable[[], Any]) -> None:
        """Run ``func()`` in the scheduler thread soon.

        Safe from weak-reference callbacks: no lock is taken. If the thread is
        not running, ``func`` runs when it next starts (or at :meth:`shutdown`).
        """
        self._soon.append(func)
        self._wakeup.wake()

    def _ensure_thread(self) -> None:
        # Caller holds _lock.
        if not self._running:
            self._running = True
            self._exit_lock = native.allocate_lock()
            self._exit_lock.acquire()
            native.start_new_thread(self._run, (self._exit_lock,))

    def _run(self, exit_lock: Any) -> None:
        try:
            idle_since: float | None = None
            while True:
                self._run_soon()
                now = native.monotonic()
                due_jobs: list[tuple[float, Schedulable]] = []
                with self._lock:
                    if self._closed:
                        self._running = False
                        return
                    self._pop_due(now, due_jobs)
                    if due_jobs:
                        timeout = 0.0
                    elif self._live:
                        idle_since = None
                        timeout = self._heap[0] - now
                    else:
                        idle = _config.get("idle_timeout")
                        if idle_since is None:
                            idle_since = now
                        elif now - idle_since >= idle and not self._soon:
                            self._running = False
                            return
                        timeout = idle_since + idle - now
                if due_jobs:
                    self._fire(due_jobs)
                else:
                    check = self.pool.grow_stalled(now)
                    if check is not None:
                        timeout = min(timeout, check - now)
                    self._wakeup.wait(timeout)
        finally:
            exit_lock.release()

    def _pop_due(self, now: float, out: list[tuple[float, Schedulable]]) -> None:
        # Caller holds _lock. Entries replaced by a later schedule() or cancelled
        # are skipped here.
        heap = self._heap
        buckets = self._buckets
        while heap and heap[0] <= now:
            due = heapq.heappop(heap)
            for seq, job in buckets.pop(due):
                if job.sched_entry == seq:
                    job.sched_entry = None
                    self._live -= 1
                    out.append((due, job))

    def _fire(self, due_jobs: list[tuple[float, Schedulable]]) -> None:
        try:
            self._start(due_jobs, self.pool)
        except Exception:
            log.exception("poller scheduler: starting %d call(s) failed", len(due_jobs))

    def _run_soon(self) -> None:
        soon = self._soon
        while soon:
            func = soon.popleft()
            try:
                func()
            except Exception:
                log.exception("poller scheduler: %r failed", func)

    def shutdown(self, timeout: float | None) -> bool:
        """Stop the thread and the pool; wait for their threads to end.

        :param timeout: seconds to wait in total (``None``: for ever).
        :returns: whether every thread ended in time.
        """
        with self._lock:
            self._closed = True
            self._heap.clear()
            self._buckets.clear()
            self._live = 0
            exit_lock = self._exit_lock if self._running else None
        self._wakeup.wake()
        deadline = None if timeout is None else native.monotonic() + timeout
        ok = True
        if exit_lock is not None:
            ok = exit_lock.acquire(True, -1 if timeout is None else timeout)
            if ok:
                exit_lock.release()
        self._run_soon()
        remaining = (
            None if deadline is None else max(0.0, deadline - native.monotonic())
        )
        return self.pool.shutdown(remaining) and ok
