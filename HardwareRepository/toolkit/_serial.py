"""A serial worker: one real thread that owns a library which is not thread-safe."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from ..bridge import AsyncResult, Empty, Event, Queue, native
from ..errors import BridgeClosedError, Timeout
from ._common import start_native_thread

__all__ = ["SerialWorker"]

log = logging.getLogger("HardwareRepository.toolkit")
T = TypeVar("T")
_numbers = itertools.count(1)

OnDone = Callable[[AsyncResult[Any]], Any]


class _Job:
    __slots__ = ("args", "func", "kwargs", "on_done", "result")

    def __init__(
        self,
        func: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        on_done: OnDone | None,
    ) -> None:
        self.func = func
        self.args = args
        self.kwargs = kwargs
        self.on_done = on_done
        self.result: AsyncResult[Any] = AsyncResult(
            name=getattr(func, "__qualname__", repr(func))
        )


_STOP: Any = object()
_NUDGE: Any = object()


class SerialWorker:
    """Run submitted calls one at a time, in submission order, in one real thread.

    Use it for a device library that must only ever be called from one thread:
    every call made through the worker runs in its thread. Results come back as
    :class:`~HardwareRepository.bridge.AsyncResult`, which a greenlet waits for
    cooperatively and a plain thread natively. The worker thread never creates
    a gevent hub or gevent object.

    :meth:`submit`, :meth:`call` and :meth:`stop` are safe from any thread and
    any greenlet. A timeout on :meth:`call` only stops the wait: the call stays
    queued (or keeps running) and its result is dropped.

    :param name: shown in ``repr`` and log messages.
    :param init: called without arguments in the worker thread before any
        job (e.g. to open the library); if it raises, every job fails with
        :class:`~HardwareRepository.errors.BridgeClosedError` chained to it.
    :param finish: called in the worker thread after the last job.
    :param start: start the thread now (else call :meth:`start`).
    """

    def __init__(
        self,
        name: str | None = None,
        *,
        init: Callable[[], Any] | None = None,
        finish: Callable[[], Any] | None = None,
        start: bool = True,
    ) -> None:
        self.name = name or f"SerialWorker-{next(_numbers)}"
        self._init = init
        self._finish = finish
        self._jobs: Queue[Any] = Queue()
        self._lock = native.allocate_lock()
        self._state = "new"  # new, running, stopping, stopped; guarded by _lock
        self._busy = False
        self._queued = 0  # jobs in _jobs; guarded by _lock
        self._thread_ident: int | None = None
        self._finished = Event()
        self._init_error: BaseException | None = None
        if start:
            self.start()

    def __repr__(self) -> str:
        kind = type(self).__name__
        return f"<{kind} {self.name} {self._state}, {self.queue_len} queued>"

    # -- lifecycle ----------------------------------------------------------

    def start(self) -> None:
        """Start the worker thread; starting a started worker does nothing.

        :raises BridgeClosedError: the worker was stopped.
        """
        with self._lock:
            if self._state == "running":
                return
            if self._state != "new":
                raise BridgeClosedError(f"{self!r} was stopped; create a new one")
            self._state = "running"
        start_native_thread(self._main)

    def stop(
        self,
        timeout: float | None = None,
        *,
        cancel_pending: bool = False,
        wait: bool = True,
    ) -> None:
        """Stop accepting jobs, finish (or cancel) the queued ones, end the thread.

        :param timeout: seconds to wait for the thread to end.
        :param cancel_pending: fail the queued jobs with
            :class:`~HardwareRepository.errors.BridgeClosedError` instead of
            running them; a job already running always finishes.
        :param wait: wait for the thread to end (never from the worker itself).
        :raises Timeout: the thread did not end within ``timeout``.
        """
        with self._lock:
            state = self._state
            if state in ("running", "new"):
                self._state = "stopping"
        if state == "new":
            self._state = "stopped"
            self._finished.set()
            return
        if state == "running":
            if cancel_pending:
                self._cancel_queued()
            self._jobs.put(_STOP)
        if wait and not self.in_worker_thread() and not self._finished.wait(timeout):
            raise Timeout(f"{self!r} did not end within {timeout} s")

    def __enter__(self) -> SerialWorker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def join(self, timeout: float | None = None) -> None:
        """Wait until the worker thread has ended.

        :raises Timeout: it did not end within ``timeout`` seconds.
        """
        if not self._finished.wait(timeout):
            raise Timeout(f"{self!r} did not end within {timeout} s")

    # -- state --------------------------------------------------------------

    @property
    def alive(self) -> bool:
        """Whether the worker thread runs (started and not ended)."""
        return self._state in ("running", "stopping") and not self._finished.is_set()

    @property
    def busy(self) -> bool:
        """Whether a job is running now."""
        return self._busy

    @property
    def queue_len(self) -> int:
        """Jobs waiting to run (not counting the running one)."""
        return self._queued

    def in_worker_thread(self) -> bool:
        """Whether the caller runs in the worker thread."""
        return self._thread_ident == native.get_ident()

    # -- jobs ---------------------------------------------------------------

    def submit(
        self, func: Callable[..., T], *args: Any, **kwargs: Any
    ) -> AsyncResult[T]:
        """Queue ``func(*args, **kwargs)`` to run in the worker thread.

        :returns: its result, set in the worker thread.
        :raises BridgeClosedError: the worker is stopping or stopped.
        """
        return self.submit_with(func, args, kwargs)

    def submit_with(
        self,
        func: Callable[..., T],
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
        *,
        on_done: OnDone | None = None,
    ) -> AsyncResult[T]:
        """Like :meth:`submit`, with a completion callback.

        :param on_done: ``on_done(result)`` is called in the worker thread
            right after the result is set (also when the job is cancelled). It
            must be short and must not block; hand anything for the hub to a
            :class:`~HardwareRepository.bridge.HubBridge` (``post``). Its
            exceptions are logged.
        :raises BridgeClosedError: the worker is stopping or stopped.
        """
        if not callable(func):
            raise TypeError(f"{func!r} is not callable")
        job = _Job(func, args, kwargs or {}, on_done)
        with self._lock:
            if self._state not in ("new", "running"):
                raise BridgeClosedError(f"{self!r} is stopped; cannot run {func!r}")
            self._queued += 1
            self._jobs.put(job)
        return job.result

    def call(
        self,
        func: Callable[..., T],
        *args: Any,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> T:
        """Run ``func(*args, **kwargs)`` in the worker thread and return its value.

        Called from the worker thread itself (from inside a job) it runs inline.

        :raises Timeout: no result within ``timeout`` seconds (the job is not
            cancelled).
        :raises BridgeClosedError: the worker is stopped.
        """
        if self.in_worker_thread():
            return func(*args, **kwargs)
        return self.submit(func, *args, **kwargs).get(timeout)

    # -- worker thread ------------------------------------------------------

    def _idle_timeout(self) -> float | None:
        """Seconds the worker may wait for a job before :meth:`_on_idle`."""
        return None

    def _on_idle(self) -> None:
        """Called in the worker thread when the idle timeout expires."""

    def _nudge(self) -> None:
        """Make the worker recompute its idle timeout."""
        self._jobs.put(_NUDGE)

    def _main(self) -> None:
        self._thread_ident = native.get_ident()
        try:
            if self._init is not None:
                try:
                    self._init()
                except Exception as exc:
                    log.exception("%r: init %r failed", self, self._init)
                    self._init_error = exc
                    with self._lock:
                        self._state = "stopping"
                    self._cancel_queued()
                    return
            self._serve()
        finally:
            if self._finish is not None and self._init_error is None:
                try:
                    self._finish()
                except Exception:
                    log.exception("%r: finish %r failed", self, self._finish)
            with self._lock:
                self._state = "stopped"
            self._cancel_queued()
            self._finished.set()

    def _serve(self) -> None:
        while True:
            try:
                item = self._jobs.get(timeout=self._idle_timeout())
            except Timeout:
                self._on_idle()
                continue
            if item is _STOP:
                return
            if item is _NUDGE:
                continue
            self._run(item)

    def _run(self, job: _Job) -> None:
        with self._lock:
            self._queued -= 1
        self._busy = True
        try:
            value = job.func(*job.args, **job.kwargs)
        except BaseException as exc:
            job.result.set_exception(exc)
        else:
            job.result.set(value)
        finally:
            self._busy = False
        self._done(job)

    def _done(self, job: _Job) -> None:
        if job.on_done is None:
            return
        try:
            job.on_done(job.result)
        except Exception:
            log.exception("%r: on_done %r failed", self, job.on_done)

    def _cancel_queued(self) -> None:
        while True:
            try:
                item = self._jobs.get_nowait()
            except Empty:
                return
            if isinstance(item, _Job):
                with self._lock:
                    self._queued -= 1
                error = BridgeClosedError(
                    f"{self!r} stopped before running {item.func!r}"
                )
                error.__cause__ = self._init_error
                item.result.set_exception(error)
                self._done(item)
