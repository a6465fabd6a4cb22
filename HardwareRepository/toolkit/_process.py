"""A process worker: jobs run one at a time in a child process."""

from __future__ import annotations

import itertools
import logging
import multiprocessing
from collections.abc import Callable
from typing import Any, TypeVar

from ..bridge import AsyncResult, Event, native
from ..errors import BridgeClosedError, CommunicationError, Timeout
from ._common import start_native_thread
from ._process_child import child_main

__all__ = ["ProcessWorker"]

log = logging.getLogger("HardwareRepository.toolkit")
T = TypeVar("T")
_numbers = itertools.count(1)

OnDone = Callable[[AsyncResult[Any]], Any]


class ProcessWorker:
    """Run submitted calls one at a time, in order, in a child process.

    For work that must not share the interpreter (a library that crashes, leaks
    or holds the GIL). Functions, arguments and results travel by pickling, so
    functions must be importable (module level, not lambdas). A job's exception
    is re-raised by ``result.get()`` with the child's traceback as a note.

    The child is started with ``multiprocessing`` (``context="spawn"`` by
    default: it inherits no threads, hubs or locks of this process). One real
    thread of this process receives the replies and sets the results; it
    creates no gevent object. :meth:`submit`, :meth:`call` and :meth:`stop` are
    safe from any thread and any greenlet. If the child dies, every pending and
    later job fails with :class:`~HardwareRepository.errors.BridgeClosedError`.

    :param init: picklable callable run first in the child; if it raises, the
        worker ends and every job fails.
    :param context: the ``multiprocessing`` start method.
    """

    def __init__(
        self,
        name: str | None = None,
        *,
        init: Callable[[], Any] | None = None,
        context: str = "spawn",
    ) -> None:
        self.name = name or f"ProcessWorker-{next(_numbers)}"
        ctx = multiprocessing.get_context(context)
        self._conn, child_conn = ctx.Pipe()
        # typeshed declares Process on each concrete context, not on the
        # BaseContext that get_context(str) returns; every start method has it.
        self._process = ctx.Process(  # type: ignore[attr-defined]
            target=child_main, args=(child_conn, init), name=self.name, daemon=True
        )
        self._lock = native.allocate_lock()
        self._send_lock = native.allocate_lock()
        self._pending: dict[int, tuple[AsyncResult[Any], OnDone | None]] = {}
        self._ids = itertools.count(1)
        self._closed = False  # guarded by _lock
        self._exit_reason = ""
        self._finished = Event()
        self._process.start()
        child_conn.close()
        self.pid: int | None = self._process.pid
        start_native_thread(self._receive)

    def __repr__(self) -> str:
        state = "stopped" if self._finished.is_set() else f"pid {self.pid}"
        return f"<ProcessWorker {self.name} {state}, {len(self._pending)} pending>"

    @property
    def alive(self) -> bool:
        """Whether the child process and its receiver still run."""
        return not self._finished.is_set()

    @property
    def queue_len(self) -> int:
        """Jobs submitted and not answered yet (the running one included)."""
        return len(self._pending)

    def submit(
        self, func: Callable[..., T], *args: Any, **kwargs: Any
    ) -> AsyncResult[T]:
        """Send ``func(*args, **kwargs)`` to the child.

        :raises BridgeClosedError: the worker is stopped or its child died.
        :raises pickle.PicklingError: (or ``TypeError``, ``AttributeError``)
            the call cannot be pickled.
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
        """Like :meth:`submit`; ``on_done(result)`` runs in the receiver thread.

        ``on_done`` must be short and must not block; use a
        :class:`~HardwareRepository.bridge.HubBridge` to reach the hub.
        """
        if not callable(func):
            raise TypeError(f"{func!r} is not callable")
        result: AsyncResult[T] = AsyncResult(name=getattr(func, "__qualname__", None))
        with self._lock:
            if self._closed:
                raise BridgeClosedError(f"{self!r} is stopped{self._exit_reason}")
            job_id = next(self._ids)
            self._pending[job_id] = (result, on_done)
        try:
            with self._send_lock:
                self._conn.send((job_id, func, args, kwargs or {}))
        except BaseException:
            with self._lock:
                self._pending.pop(job_id, None)
            raise
        return result

    def call(
        self,
        func: Callable[..., T],
        *args: Any,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> T:
        """Run ``func(*args, **kwargs)`` in the child and return its value.

        :raises Timeout: no result within ``timeout`` s (the job is not cancelled).
        """
        return self.submit(func, *args, **kwargs).get(timeout)

    def stop(self, timeout: float | None = 10.0) -> None:
        """Let the child finish the jobs sent so far, then end it.

        :param timeout: seconds to wait; after that the child is terminated
            (its unfinished jobs fail) and waited for once more as long.
        :raises Timeout: the child could not be ended.
        """
        with self._lock:
            send = not self._closed
            self._closed = True
        if send:
            try:
                with self._send_lock:
                    self._conn.send(None)
            except OSError:
                pass  # the child is already gone; the receiver has seen EOF
        if self._finished.wait(timeout):
            return
        log.warning("%r did not end within %s s; terminating it", self, timeout)
        self._process.terminate()
        if not self._finished.wait(timeout):
            raise Timeout(f"{self!r} did not end after terminate()")

    def __enter__(self) -> ProcessWorker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _receive(self) -> None:
        try:
            while True:
                try:
                    job_id, ok, payload = self._conn.recv()
                except (EOFError, OSError):
                    break
                self._deliver(job_id, ok, payload)
        finally:
            self._process.join()
            code = self._process.exitcode
            with self._lock:
                self._closed = True
                self._exit_reason = f" (child exited with code {code})"
                pending, self._pending = self._pending, {}
            for result, on_done in pending.values():
                result.set_exception(
                    BridgeClosedError(f"{self!r}: the child ended{self._exit_reason}")
                )
                self._done(result, on_done)
            self._conn.close()
            self._process.close()
            self._finished.set()

    def _deliver(self, job_id: int, ok: bool, payload: Any) -> None:
        if job_id == 0:
            exc, text = payload
            log.error("%r: init failed in the child:\n%s", self, text)
            return
        with self._lock:
            result, on_done = self._pending.pop(job_id, (None, None))
        if result is None:
            return
        if ok:
            result.set(payload)
        else:
            exc, text = payload
            if not isinstance(exc, BaseException):
                exc = CommunicationError(repr(exc))
            exc.add_note(f"in {self!r}:\n{text}")
            result.set_exception(exc)
        self._done(result, on_done)

    def _done(self, result: AsyncResult[Any], on_done: OnDone | None) -> None:
        if on_done is None:
            return
        try:
            on_done(result)
        except Exception:
            log.exception("%r: on_done %r failed", self, on_done)
