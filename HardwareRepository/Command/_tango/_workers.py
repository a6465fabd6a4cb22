"""A small pool of native threads that run blocking Tango client calls.

Blocking calls (``command_inout``, ``read_attribute``, ``subscribe_event``...)
never run in the gevent hub's thread. They are queued here, run by at most
``max_threads`` real OS threads (real even if the application monkey-patched
``threading``), and their outcome is set on an
:class:`~HardwareRepository.bridge.AsyncResult`, which wakes a waiting greenlet
through the hub bridge. Worker threads never create gevent objects.

Each worker thread is registered with omniORB (``tango.EnsureOmniThread``), as
cppTango asks of Python threads that make Tango calls.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from typing import Any

import tango

from ...bridge import AsyncResult, Event, native
from ...errors import BridgeClosedError

__all__ = ["Job", "WorkerPool"]

log = logging.getLogger("HardwareRepository.Command.Tango")


class Job:
    """One call submitted to a :class:`WorkerPool`.

    Its :attr:`state` goes ``"queued"`` -> ``"running"`` -> ``"done"``, or
    ``"queued"`` -> ``"cancelled"`` when :meth:`WorkerPool.cancel` takes it
    back before a thread picked it up (it then never runs). Written under the
    pool's lock.
    """

    __slots__ = ("args", "func", "label", "result", "state")

    def __init__(
        self,
        func: Callable[..., Any],
        args: tuple[Any, ...],
        result: AsyncResult[Any] | None,
        label: str | None = None,
    ) -> None:
        self.func = func
        self.args = args
        self.result = result
        self.label: str = label or str(getattr(func, "__name__", func))
        self.state = "queued"

    def __repr__(self) -> str:
        return f"<Job {getattr(self.func, '__name__', self.func)} {self.state}>"


class WorkerPool:
    """Run submitted blocking calls in up to ``max_threads`` native threads.

    Threads start on demand and end after ``idle_timeout`` s without work, or
    at :meth:`shutdown`. Calls start in FIFO order of submission (with several
    threads, later calls may finish first; with ``max_threads=1`` each call
    starts only after the previous one returned). A queued call can be taken
    back with :meth:`cancel` until a thread starts it.

    :meth:`submit` and :meth:`shutdown` are safe from any thread.

    :param name: shown in ``repr`` and log messages (the device name).
    :param max_threads: the most calls that run at once.
    :param idle_timeout: seconds an idle thread waits for work before ending.
    :param on_ended: called (in the last thread, or in the caller of
        :meth:`shutdown`) once the pool is shut down and its threads ended.
    """

    def __init__(
        self,
        name: str,
        max_threads: int = 4,
        idle_timeout: float = 30.0,
        on_ended: Callable[[], None] | None = None,
    ) -> None:
        self.name = name
        self.max_threads = max_threads
        self.idle_timeout = idle_timeout
        self._lock = native.allocate_lock()
        # All below guarded by _lock.
        self._jobs: deque[Job] = deque()
        self._running: set[Job] = set()
        self._parked: list[Any] = []  # one native lock per idle thread
        self._threads = 0
        self._closed = False
        #: set once the pool is shut down and its last thread has ended
        self.ended = Event()
        self._on_ended = on_ended

    def __repr__(self) -> str:
        return (
            f"<WorkerPool {self.name} threads={self._threads} "
            f"queued={len(self._jobs)}{' closed' if self._closed else ''}>"
        )

    @property
    def threads(self) -> int:
        """The number of live worker threads."""
        return self._threads

    def submit(
        self,
        func: Callable[..., Any],
        *args: Any,
        result: AsyncResult[Any] | None = None,
        label: str | None = None,
    ) -> Job:
        """Run ``func(*args)`` in a worker thread; safe from any thread.

        :param result: set to the return value or the exception raised. Without
            one, an exception is logged with its traceback.
        :param label: names the call in :meth:`running` (default: its name).
        :returns: the queued job (see :meth:`cancel`).
        :raises BridgeClosedError: the pool was shut down.
        """
        job = Job(func, args, result, label)
        start = False
        with self._lock:
            if self._closed:
                raise BridgeClosedError(f"{self!r} is shut down")
            self._jobs.append(job)
            if self._parked:
                self._parked.pop().release()
            elif self._threads < self.max_threads:
                self._threads += 1
                start = True
        if start:
            native.start_new_thread(self._worker, ())
        return job

    def running(self) -> list[str]:
        """Return the labels of the calls running now; safe from any thread."""
        with self._lock:
            return sorted(job.label for job in self._running)

    def cancel(self, job: Job) -> bool:
        """Take ``job`` back if no thread has started it; safe from any thread.

        :returns: ``True`` if the job was still queued: it will never run (its
            result is left unset). ``False`` if it already started or ended.
        """
        with self._lock:
            if job.state != "queued":
                return False
            job.state = "cancelled"
            self._jobs.remove(job)
            return True

    def _worker(self) -> None:
        wake = native.allocate_lock()
        wake.acquire()
        try:
            with tango.EnsureOmniThread():
                while True:
                    job = self._next_job(wake)
                    if job is None:
                        return
                    self._run(job.func, job.args, job.result)
                    with self._lock:
                        job.state = "done"
                        self._running.discard(job)
        finally:
            with self._lock:
                self._threads -= 1
                ended = self._closed and self._threads == 0
            if ended:
                self._end()

    def _end(self) -> None:
        self.ended.send()
        if self._on_ended is not None:
            self._on_ended()

    def _next_job(self, wake: Any) -> Job | None:
        while True:
            with self._lock:
                if self._jobs:
                    job = self._jobs.popleft()
                    job.state = "running"
                    self._running.add(job)
                    return job
                if self._closed:
                    return None
                self._parked.append(wake)
            if wake.acquire(True, self.idle_timeout):
                continue
            with self._lock:
                if wake in self._parked:
                    self._parked.remove(wake)
                    if not self._jobs:
                        return None
                    continue
            # submit() popped and released us just as the wait ran out.
            wake.acquire()

    @staticmethod
    def _run(
        func: Callable[..., Any],
        args: tuple[Any, ...],
        result: AsyncResult[Any] | None,
    ) -> None:
        try:
            value = func(*args)
        except BaseException as exc:
            if result is None:
                log.exception("Tango worker call %r failed", func)
            else:
                result.set_exception(exc)
            return
        if result is not None:
            result.set(value)

    def shutdown(self) -> None:
        """Refuse new calls; queued calls still run, then the threads end.

        Safe from any thread, never blocks, idempotent. Wait for :attr:`ended`
        to know when every thread has ended (queued calls are bounded by the
        device's Tango timeout).
        """
        with self._lock:
            was_closed, self._closed = self._closed, True
            for wake in self._parked:
                wake.release()
            self._parked.clear()
            ended = not was_closed and self._threads == 0
        if ended:
            self._end()
