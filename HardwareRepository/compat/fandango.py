"""fandango-compatible threading names on the package's toolkit.

Code written against ``fandango.threads`` / ``fandango.dicts`` (and
``fandango.qt.QWorker``) runs with::

    from HardwareRepository.compat.fandango import ThreadedObject, ThreadDict

Differences from fandango, on purpose:

* targets are callables (or ``[callable, *args]`` lists) or, for a
  :class:`WorkerProcess` with an executor, names of the executor's attributes;
  strings are never evaluated (without an executor they raise ``TypeError``);
* :class:`QWorker` hands items to the GUI thread through the hub bridge (on
  the package's Qt loop) instead of Qt signals, takes them as soon as they are
  queued and does not sleep before it starts;
* :meth:`ThreadedObject.kill` ends the thread also while the object is stopped
  (fandango's loop never checked the kill flag while stopped), and ``start()``
  acts at once instead of at the next period tick;
* errors are logged through ``logging`` (``HardwareRepository.toolkit``), not
  printed;
* callbacks of :class:`WorkerThread` / :class:`WorkerProcess` run in a greenlet
  of the hub of the thread that created the worker (fandango ran them in its
  receiver thread), so they may touch hardware objects directly.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

from ..bridge import (
    AsyncResult,
    Event,
    HubBridge,
    Launcher,
    Queue,
    get_bridge_if_exists,
    native,
)
from ..errors import BridgeClosedError, Timeout
from ..toolkit import PeriodicTask, PolledCache, ProcessWorker, SerialWorker
from . import _fandango_child as _child

__all__ = [
    "DataExpired",
    "QWorker",
    "ThreadDict",
    "ThreadedObject",
    "WorkerException",
    "WorkerProcess",
    "WorkerThread",
]

log = logging.getLogger("HardwareRepository.compat.fandango")
_NULL: Any = object()


class WorkerException(Exception):  # noqa: N818 (fandango's name)
    """A task given to a worker is not usable (e.g. a string to evaluate)."""


class DataExpired(Exception):  # noqa: N818 (fandango's name)
    """The value of a key of :meth:`WorkerProcess.add` is missing or too old."""


def _as_call(target: Any, args: Any = None) -> tuple[Callable[..., Any], tuple, dict]:
    """Normalise a fandango task into ``(callable, args, kwargs)``."""
    if isinstance(target, str):
        raise TypeError(
            f"string targets are not evaluated ({target!r}); pass a callable, or "
            "bind an executor to a WorkerProcess and name one of its methods"
        )
    if isinstance(target, (list, tuple)) and target and callable(target[0]):
        target, args = target[0], tuple(target[1:])
    if not callable(target):
        raise TypeError(f"{target!r} is not callable")
    if args is None:
        return target, (), {}
    if isinstance(args, Mapping):
        return target, (), dict(args)
    if isinstance(args, (list, tuple)):
        return target, tuple(args), {}
    return target, (args,), {}


class ThreadedObject:
    """fandango's ``ThreadedObject``: one thread running ``target`` periodically.

    The thread is created at construction, paused; :meth:`start` resumes it
    at once, :meth:`stop` pauses it, :meth:`kill` ends it (running or paused).
    Hooks (override them or use the ``set_*_hook`` methods) run in the thread:
    ``start_hook(ts)`` and ``loop_hook(ts)`` may return ``(args, kwargs)`` for
    the target, ``stop_hook()`` runs when paused or killed.

    :param target: callable run every ``period`` seconds.
    :param nthreads: only 1 is supported (as in fandango).
    :param first: cycles to skip after each start before the target runs
        (fandango meant this but silently ignored it).
    :param min_wait: accepted for compatibility; unused (deadlines are exact).
    """

    INSTANCES: ClassVar[list[ThreadedObject]] = []

    def __init__(
        self,
        target: Callable[..., Any] | None = None,
        period: float = 1.0,
        nthreads: int = 1,
        start: bool = False,
        min_wait: float = 1e-5,
        first: int = 0,
    ) -> None:
        if nthreads != 1:
            raise ValueError("ThreadedObject supports nthreads=1 only")
        self._target = target
        self._first = first
        self._skipped = 0
        self._start_args: tuple[tuple, dict] = ((), {})
        self._start_hook = self.start_hook
        self._loop_hook = self.loop_hook
        self._stop_hook = self.stop_hook
        self._wait_hook: Callable[[], Any] | None = None
        self._task = PeriodicTask(
            self._run_target,
            period,
            where="thread",
            name=type(self).__name__,
            on_start=self._on_start,
            on_cycle=self._on_cycle,
            on_stop=self._on_stop,
        )
        self._task.launch()
        ThreadedObject.INSTANCES.append(self)
        if start:
            self.start()

    def __repr__(self) -> str:
        """Name the class and its periodic task, for logs."""
        return f"<{type(self).__name__} {self._task!r}>"

    # hooks meant to be overridden
    def start_hook(self, *args: Any, **kwargs: Any) -> Any:
        """Return ``(args, kwargs)`` for the target, or ``None``; runs at each start."""
        return None

    def loop_hook(self, *args: Any, **kwargs: Any) -> Any:
        """Return ``(args, kwargs)`` for this cycle, or ``None`` for the start ones."""
        return None

    def stop_hook(self, *args: Any, **kwargs: Any) -> Any:
        """Runs in the thread when the object is stopped or killed."""
        return None

    # lifecycle
    def start(self) -> None:
        """Start (or resume) the cycles now."""
        self._task.start()

    def stop(self, wait: float = 3.0) -> None:
        """Pause; wait up to ``wait`` s for a running cycle to end (no error)."""
        try:
            self._task.stop(wait=bool(wait), timeout=wait or None)
        except Timeout:
            log.warning("%r: the running cycle did not end within %s s", self, wait)

    def kill(self, wait: float = 3.0) -> None:
        """End the thread, even when stopped; wait up to ``wait`` s for it."""
        try:
            self._task.kill(wait=bool(wait), timeout=wait or None)
        except Timeout:
            log.warning("%r: the thread did not end within %s s", self, wait)
        if self in ThreadedObject.INSTANCES:
            ThreadedObject.INSTANCES.remove(self)

    @classmethod
    def stop_all(cls) -> None:
        """Stop every live instance."""
        for instance in list(cls.INSTANCES):
            instance.stop()

    @classmethod
    def kill_all(cls) -> None:
        """Kill every live instance (they leave :attr:`INSTANCES`)."""
        for instance in list(cls.INSTANCES):
            instance.kill()

    # configuration
    def set_target(self, target: Callable[..., Any]) -> None:
        """Set the callable run at each cycle (``None``: cycles do nothing)."""
        self._target = target

    def get_target(self) -> Callable[..., Any] | None:
        """Return the callable run at each cycle, or ``None``."""
        return self._target

    def set_period(self, period: float) -> None:
        """Set the seconds between cycle deadlines; applies from the next cycle."""
        self._task.period = period

    def get_period(self) -> float:
        """Return the seconds between cycle deadlines."""
        return self._task.period

    def set_start_hook(self, hook: Callable[..., Any]) -> None:
        """Set the hook run in the thread at each start, with the start's arguments."""
        self._start_hook = hook

    def set_loop_hook(self, hook: Callable[..., Any]) -> None:
        """Set the hook run in the thread after each cycle's target."""
        self._loop_hook = hook

    def set_stop_hook(self, hook: Callable[..., Any]) -> None:
        """Set the hook run in the thread when the task stops."""
        self._stop_hook = hook

    def set_wait_hook(self, hook: Callable[[], Any]) -> None:
        """``hook()`` runs after each cycle, before the wait for the next one."""
        self._wait_hook = hook

    # diagnostics
    def get_count(self) -> int:
        """Return the cycles run so far (failed ones included)."""
        return self._task.count

    def get_errors(self) -> int:
        """Return how many cycles' target raised."""
        return self._task.errors

    def get_delay(self) -> float:
        """Return how late the last cycle started after its deadline, seconds."""
        return self._task.delay

    def get_acc_delay(self) -> float:
        """Return the sum of the cycles' start delays, seconds."""
        return self._task.acc_delay

    def get_avg_delay(self) -> float:
        """Return the mean start delay per cycle, seconds."""
        return self._task.avg_delay

    def get_usage(self) -> float:
        """Return the last cycle's duration divided by the period (1.0: never idle)."""
        return self._task.usage

    def get_next(self) -> float | None:
        """Return ``time.time()`` when the next cycle is due; ``None`` when stopped."""
        return self._task.next

    def get_last(self) -> float | None:
        """Return ``time.time()`` when the last cycle started; ``None`` before one."""
        return self._task.last

    def get_started(self) -> float:
        """Return ``time.time()`` of the last start; 0 if never started."""
        return self._task.started

    def get_nthreads(self) -> int:
        """Return the number of threads: always 1."""
        return 1

    def is_alive(self, i: int = 0) -> bool:
        """Return whether the thread exists and has not ended (``i`` is ignored)."""
        return self._task.alive

    def is_started(self) -> bool:
        """Return whether cycles are scheduled (started, not stopped or killed)."""
        return self._task.running

    # in the thread
    def _on_start(self, task: PeriodicTask) -> None:
        self._skipped = 0
        supplied = self._start_hook(time.time())
        self._start_args = _args_pair(supplied) or ((), {})

    def _on_cycle(self, task: PeriodicTask, deadline: float) -> Any:
        return _args_pair(self._loop_hook(deadline)) or self._start_args

    def _on_stop(self, task: PeriodicTask) -> None:
        self._stop_hook()

    def _run_target(self, *args: Any, **kwargs: Any) -> None:
        try:
            if self._skipped < self._first:
                self._skipped += 1
            elif self._target is not None:
                self._target(*args, **kwargs)
        finally:
            if self._wait_hook is not None:
                self._wait_hook()


def _args_pair(supplied: Any) -> tuple[tuple, dict] | None:
    if supplied is None:
        return None
    args, kwargs = supplied
    return tuple(args or ()), dict(kwargs or {})


class ThreadDict(dict):
    """fandango's ``ThreadDict``: a dict whose keys are read by a background thread.

    ``td[key]`` returns the cached value; ``td[key] = value`` calls
    ``write_method(key, value)`` (in the polling thread) and stores what it
    returns. Keys registered with :meth:`append` are read every ``period``
    seconds (``timewait`` if 0). Hardware is never accessed while the dict is
    locked. With ``threaded=False`` there is no thread: reads happen on access.

    The polling thread starts at construction; :meth:`stop` ends it.
    """

    def __init__(
        self,
        other: Mapping[Any, Any] | Iterable[tuple[Any, Any]] | None = None,
        read_method: Callable[[Any], Any] | None = None,
        write_method: Callable[[Any, Any], Any] | None = None,
        timewait: float = 0.1,
        threaded: bool = True,
        trace: bool = False,
        delay: float = 0.0,
    ) -> None:
        super().__init__()
        self.read_method = read_method
        self.write_method = write_method
        self.timewait = timewait
        self.threaded = threaded
        self.trace = trace
        self._cache: PolledCache[Any, Any] | None = None
        if threaded and read_method is not None:
            self._cache = PolledCache(
                read_method,
                write_method,
                period=timewait,
                name="ThreadDict",
                keep_write_result=True,
                start=False,
            )
        if other:
            for key, value in dict(other).items():
                dict.__setitem__(self, key, value)
        if self._cache is not None:
            self.start()

    def __repr__(self) -> str:
        """Show the cached contents."""
        return f"ThreadDict({dict(self.items())!r})"

    def start(self) -> None:
        """Start the polling thread (again); idempotent."""
        if self._cache is not None:
            self._cache.start()

    def stop(self, timeout: float | None = 10.0) -> None:
        """End the polling thread (pending writes are done first)."""
        if self._cache is not None:
            self._cache.stop(timeout)

    def alive(self) -> bool:
        """Whether the polling thread runs."""
        return self._cache is not None and self._cache.running

    def append(self, key: Any, value: Any = None, period: float = 0) -> None:
        """Register ``key`` for polling every ``period`` s (``timewait`` if 0)."""
        dict.__setitem__(self, key, value)
        if self._cache is not None:
            self._cache.add(key, period or self.timewait, initial=value)

    def __getitem__(self, key: Any) -> Any:
        """Return the cached value of ``key`` (read on access when not threaded)."""
        if self._cache is not None and key in self._cache:
            return self._cache.get(key, dict.__getitem__(self, key))
        if not self.threaded and self.read_method is not None:
            value = self.read_method(key)
            dict.__setitem__(self, key, value)
            return value
        return dict.__getitem__(self, key)

    def get(self, key: Any, default: Any = None, hw: bool = False) -> Any:
        """Return the cached value; ``hw=True`` reads the hardware now."""
        if hw and self.read_method is not None:
            if self._cache is not None and key in self._cache:
                return self._cache.get(key, refresh=True)
            value = self.read_method(key)
            dict.__setitem__(self, key, value)
            return value
        try:
            return self[key]
        except KeyError:
            return default

    def __setitem__(self, key: Any, value: Any) -> None:
        """Write ``value`` with ``write_method`` (polling thread); cache the reply."""
        if self.write_method is None:
            dict.__setitem__(self, key, value)
            return
        if self._cache is not None:
            if key not in self._cache:
                self.append(key)
            self._cache.set(key, value)
            return
        dict.__setitem__(self, key, self.write_method(key, value))

    def __delitem__(self, key: Any) -> None:
        """Forget ``key`` and stop polling it."""
        dict.__delitem__(self, key)
        if self._cache is not None and key in self._cache:
            self._cache.remove(key)

    def values(self) -> list[Any]:  # type: ignore[override]
        """Return the cached values, in key order."""
        return [self[key] for key in self]

    def items(self) -> list[tuple[Any, Any]]:  # type: ignore[override]
        """Return the ``(key, cached value)`` pairs, in key order."""
        return [(key, self[key]) for key in self]


class _KeyedData:
    def __init__(self, target, args, period, expire, callback) -> None:
        self.target = target
        self.args = args
        self.period = period or 0
        self.expire = expire or 0
        self.callback = callback
        self.date = -1.0
        self.value: Any = None


class _Worker:
    """What WorkerThread and WorkerProcess share: keyed tasks on a serial backend."""

    def __init__(self, backend: SerialWorker | ProcessWorker) -> None:
        self._backend = backend
        self._bridge: HubBridge | None = get_bridge_if_exists()
        self._lock = native.allocate_lock()
        self.data: dict[Any, _KeyedData] = {}
        self._callbacks: dict[Any, list[Callable[[Any], Any]]] = {}
        self._poller: PolledCache[Any, Any] | None = None
        self._pending_results: dict[Any, AsyncResult[Any]] = {}

    def _prepare(
        self, target: Any, args: Any = None
    ) -> tuple[Callable[..., Any], tuple, dict]:
        """Return ``(callable, args, kwargs)`` to run for a fandango task."""
        return _as_call(target, args)

    def _deliver(self, callback: Callable[[Any], Any], value: Any) -> None:
        if self._bridge is None or self._bridge.closed:
            log.error("%r: no hub to run callback %r in", self, callback)
            return
        self._bridge.spawn_threadsafe(callback, value)

    def send(
        self,
        key: Any,
        target: Any,
        args: Any = None,
        callback: Callable[[Any], Any] | None = None,
    ) -> AsyncResult[Any]:
        """Run ``target(*args)`` in the worker; ``callback(value)`` gets the result.

        While a job of the same ``key`` is pending, further sends only add
        their callback to it (as in fandango). The callback runs in a greenlet
        of the hub of the thread that created the worker; an exception of the
        job is passed to it as the value.
        """
        func, fargs, fkwargs = self._prepare(target, args)
        with self._lock:
            waiting = self._callbacks.get(key)
            if waiting is not None:
                if callback is not None and callback not in waiting:
                    waiting.append(callback)
                return self._pending_results[key]
            self._callbacks[key] = [callback] if callback is not None else []
        result = self._backend.submit_with(
            func, fargs, fkwargs, on_done=lambda r: self._sent_done(key, r)
        )
        with self._lock:
            if key in self._callbacks:
                self._pending_results[key] = result
        return result

    def _sent_done(self, key: Any, result: AsyncResult[Any]) -> None:
        with self._lock:
            callbacks = self._callbacks.pop(key, [])
            self._pending_results.pop(key, None)
        value = result.exception if result.exception is not None else result.wait(0)
        for callback in callbacks:
            self._deliver(callback, value)

    def command(
        self, command: Any, args: Any = None, timeout: float | None = None
    ) -> Any:
        """Run ``command(*args)`` in the worker and return its value (or raise)."""
        func, fargs, fkwargs = self._prepare(command, args)
        return self._backend.submit_with(func, fargs, fkwargs).get(timeout)

    def add(
        self,
        key: Any,
        target: Any = None,
        args: Any = None,
        period: float = 0,
        expire: float = 0,
        callback: Callable[[Any], Any] | None = None,
    ) -> None:
        """Evaluate ``target(*args)`` now and, if ``period`` > 0, every ``period`` s.

        :meth:`get` returns the latest value until it is older than
        ``max(expire, period)`` s; ``callback(value)`` runs (in the hub) on
        each update.
        """
        self._prepare(target, args)
        data = _KeyedData(target, args, period, expire, callback)
        with self._lock:
            self.data[key] = data
            if self._poller is None:
                self._poller = PolledCache(self._evaluate, name="worker keys")
        self._poller.add(key, period if period > 0 else 3600.0 * 24 * 365)

    def _evaluate(self, key: Any) -> Any:
        data = self.data.get(key)
        if data is None:
            return None
        func, fargs, fkwargs = self._prepare(data.target, data.args)
        try:
            value = self._backend.submit_with(func, fargs, fkwargs).get()
        except Exception as exc:
            value = exc
        data.value, data.date = value, time.time()
        if data.callback is not None:
            self._deliver(data.callback, value)
        return value

    def get(self, key: Any = _NULL, default: Any = _NULL, _raise: bool = False) -> Any:
        """Return the value of an :meth:`add`-ed key.

        :raises DataExpired: never evaluated, or older than ``max(expire,
            period)`` seconds (then the value is dropped).
        """
        if key not in self.data:
            if default is not _NULL:
                return default
            raise KeyError(key)
        data = self.data[key]
        if data.date <= 0:
            raise DataExpired(f"{key!r} has no value yet")
        value = data.value
        if data.expire >= 0 and data.date + max(data.expire, data.period) < time.time():
            data.date, data.value = -1.0, None
        if _raise and isinstance(value, Exception):
            raise value
        return value

    def pop(self, key: Any) -> _KeyedData:
        """Stop evaluating ``key`` and return its record."""
        data = self.data.pop(key)
        if self._poller is not None and key in self._poller:
            self._poller.remove(key)
        return data

    def keys(self) -> list[Any]:
        return list(self.data)

    def _stop_keys(self, timeout: float | None) -> None:
        if self._poller is not None:
            self._poller.stop(timeout)


class WorkerThread(_Worker):
    """fandango's ``WorkerThread``: tasks run one at a time in a background thread.

    ``put(task)`` queues a callable or ``[callable, *args]``; ``get()`` returns
    the oldest ``(task, result)`` pair (an exception is the result of a failed
    task) or ``None``; ``flush()`` returns all of them. Plus the keyed
    ``send``/``add``/``command`` of :class:`WorkerProcess`.

    ``process=True`` runs the tasks in a child process instead (callables and
    results must then be picklable). The thread starts with :meth:`start`.
    """

    def __init__(
        self,
        name: str = "",
        process: bool = False,
        wait: float = 0.01,
        target: Any = None,
        hook: Callable[[], Any] | None = None,
        trace: bool = False,
    ) -> None:
        self._name = name or "WorkerThread"
        self._process_mode = process
        self.hook = hook
        self._outputs: list[tuple[Any, Any]] = []
        self._queued = 0
        self._started = False
        backend: SerialWorker | ProcessWorker
        if process:
            backend = ProcessWorker(self._name)
        else:
            backend = SerialWorker(self._name, start=False)
        super().__init__(backend)
        if target is not None:
            self.put(target)

    def start(self) -> None:
        """Start the worker thread."""
        self._started = True
        if isinstance(self._backend, SerialWorker):
            self._backend.start()

    def stop(self, timeout: float | None = 10.0) -> None:
        """Run what is queued, then end the thread (or process)."""
        self._stop_keys(timeout)
        if isinstance(self._backend, SerialWorker):
            self._backend.stop(timeout)
        else:
            self._backend.stop(timeout)

    def isAlive(self) -> bool:
        """Return whether the worker's thread or process runs."""
        return self._backend.alive

    is_alive = isAlive

    def put(self, target: Any) -> None:
        """Queue a task: a callable or ``[callable, *args]``; never a string."""
        func, args, kwargs = _as_call(target)
        with self._lock:
            self._queued += 1
        self._backend.submit_with(
            func, args, kwargs, on_done=functools.partial(self._put_done, target)
        )

    def _put_done(self, target: Any, result: AsyncResult[Any]) -> None:
        value = result.exception if result.exception is not None else result.wait(0)
        with self._lock:
            self._queued -= 1
            self._outputs.append((target, value))
        if self.hook is not None:
            self.hook()

    def get(self, key: Any = _NULL, default: Any = _NULL, _raise: bool = False) -> Any:
        """Without arguments: the oldest ``(task, result)`` or ``None``.

        With a key: the value of an :meth:`add`-ed key (see :class:`WorkerProcess`).
        """
        if key is not _NULL:
            return super().get(key, default, _raise)
        with self._lock:
            return self._outputs.pop(0) if self._outputs else None

    def flush(self) -> list[tuple[Any, Any]]:
        """Return and forget every ``(task, result)`` pair available."""
        with self._lock:
            outputs, self._outputs = self._outputs, []
        return outputs

    def getSize(self) -> int:
        """Return how many tasks are queued and not yet done."""
        return self._queued

    def getDone(self) -> bool:
        """Return whether no task is queued and no result is waiting."""
        return not self._queued and not self._outputs


class WorkerProcess(_Worker):
    """fandango's ``WorkerProcess``: keyed tasks evaluated in a child process.

    ``send(key, target, args, callback)`` runs a target in the child;
    ``add(key, target, args, period, expire, callback)`` evaluates a key
    periodically; ``get(key)`` returns its value; ``command(target, args)``
    runs one call synchronously.

    **Executors.** ``WorkerProcess(target=executor)`` or ``bind(cls, args)``
    (which makes ``cls(*args)`` in the child) gives the child an object whose
    methods are targets, named by strings: ``send("k", "read", ("x",))`` runs
    ``executor.read("x")`` in the child. As in fandango, a target sent without
    ``args`` to an executor that has a ``process`` method (or is callable) is
    that method's argument. Strings are looked up as attribute names and never
    evaluated; with no executor bound they raise ``TypeError``. Callables (and
    ``[callable, *args]`` lists) are called. Executors, targets, arguments and
    results travel by pickling.

    **Keep-alive and idle timeout.** A thread of this process sends a
    keep-alive to the child every ``keepalive`` seconds; the child exits (with
    status :data:`IDLE_EXIT_CODE`) when nothing reached it for ``timeout``
    seconds: no request and no keep-alive, because this process hangs or the
    keep-alive was turned off. A job running longer than that is not idleness.
    Calls made after the child ended raise
    :class:`~HardwareRepository.errors.BridgeClosedError`.

    Callbacks run in a greenlet of the hub of the thread that created the
    worker.

    Args:
        target: the executor object (picklable), or ``None``.
        start: accepted for compatibility; the child starts at construction.
        timeout: the child's idle timeout in seconds; 0 means fandango's
            default, :data:`ALIVE_PERIOD`.
        timewait: accepted for compatibility (fandango's polling interval;
            nothing polls here).
        keepalive: seconds between keep-alives; 0 sends none.
    """

    #: fandango's default idle timeout of the child, in seconds
    ALIVE_PERIOD = 15.0
    #: the child's exit status after its idle timeout
    IDLE_EXIT_CODE = _child.IDLE_EXIT_CODE

    def __init__(
        self,
        target: Any = None,
        start: bool = True,
        timeout: float = 0,
        timewait: float = 0,
        keepalive: float = 3.0,
    ) -> None:
        if isinstance(target, str):
            raise TypeError(
                f"WorkerProcess(target={target!r}): strings are not evaluated; "
                "pass the executor object"
            )
        self.timeout = timeout or self.ALIVE_PERIOD
        self.keepalive = keepalive
        self._executor_bound = target is not None
        backend = ProcessWorker(
            "WorkerProcess",
            init=functools.partial(_child.start, target, self.timeout),
        )
        super().__init__(backend)
        #: keep-alives the child has acknowledged
        self.keepalives = 0
        self._keeper: PeriodicTask | None = None
        if keepalive > 0:
            self._keeper = PeriodicTask(
                self._send_keepalive,
                keepalive,
                where="thread",
                name="WorkerProcess keep-alive",
                first=keepalive,
                start=True,
            )

    def __repr__(self) -> str:
        """Name the worker and its child process, for logs."""
        return f"<WorkerProcess {self._backend!r}>"

    def _send_keepalive(self) -> None:
        if not self._backend.alive:
            return
        try:
            self._backend.submit_with(_child.keep_alive, on_done=self._kept_alive)
        except BridgeClosedError:
            pass  # the child ended between the check and the send

    def _kept_alive(self, result: AsyncResult[Any]) -> None:
        if result.successful():
            self.keepalives += 1

    def _prepare(
        self, target: Any, args: Any = None
    ) -> tuple[Callable[..., Any], tuple, dict]:
        if not self._executor_bound:
            _as_call(target, args)  # only callables: strings name executor methods
        # Every job goes through run(), which also keeps the child's idle clock.
        return _child.run, (target, args), {}

    def bind(self, target: Any, args: Any = None) -> AsyncResult[str]:
        """Make the child's executor ``target``, or ``target(*args)`` with ``args``.

        Later targets resolve against it (calls are run in order, so the next
        call already sees it). ``args`` is spread as in :meth:`send`.

        Returns:
            the result of the binding in the child (the executor's ``repr``);
            a failure is also logged.

        Raises:
            TypeError: ``target`` is a string (never evaluated).
        """
        if isinstance(target, str):
            raise TypeError(
                f"bind({target!r}): strings are not evaluated; pass a class or object"
            )
        self._executor_bound = True
        return self._backend.submit_with(
            _child.bind, (target, args), on_done=self._bound
        )

    def _bound(self, result: AsyncResult[str]) -> None:
        if result.exception is not None:
            log.error("%r: bind failed: %r", self, result.exception)

    def start(self) -> None:
        """The child starts at construction; kept for compatibility."""

    def stop(self, timeout: float | None = 10.0) -> None:
        """End the keep-alive and the key polling, then the child (after its jobs)."""
        if self._keeper is not None:
            self._keeper.kill(wait=True, timeout=timeout)
        self._stop_keys(timeout)
        self._backend.stop(timeout)

    def isAlive(self) -> bool:
        """Return whether the child process runs."""
        return self._backend.alive

    is_alive = isAlive


_STOP: Any = object()


class QWorker:
    """fandango's ``QWorker`` (``TauEmitterThread``): feed queued items to the GUI.

    A worker thread takes items from ``queue`` and has each one processed in
    the thread that created the worker (the GUI thread, whose gevent hub is the
    package's Qt loop, :mod:`HardwareRepository.qtloop`): ``method(*item)``, or
    without ``method`` ``item[0](*item[1:])`` (an item that is not a tuple or a
    list is the one argument). Items are processed one at a time, in queue
    order: the next is handed over only when the previous one returned, so a
    flood of items never floods the GUI. The method runs in a greenlet of the
    GUI thread: it may touch widgets and wait cooperatively. An exception it
    raises is logged with its traceback and the next item follows.

    The string ``"exit"`` as an item ends the thread (other strings are
    skipped), as in fandango; :meth:`stop` does the same at once. Unlike
    fandango, items are taken as soon as they are queued (:meth:`next` is not
    needed), and the thread does not sleep before it starts.

    Create it in the GUI thread; :meth:`start`, :meth:`stop` and the queue are
    safe from any thread.

    Args:
        parent: accepted for compatibility (fandango's Qt parent); unused.
        name: names the thread in logs.
        queue: where items come from; a new
            :class:`~HardwareRepository.bridge.Queue` by default. Any object
            with ``get()``, ``put()`` and ``qsize()`` whose ``get`` blocks a
            plain thread (``queue.Queue`` if the application did not
            monkey-patch threads).
        method: called with each item's elements; ``None``: the item's first
            element is the callable.
        cursor: a Qt cursor shape (or ``True`` for the wait cursor) shown over
            the application while items are pending.
        sleep: accepted for compatibility (fandango waited that many ms before
            the first item); unused.
    """

    def __init__(
        self,
        parent: Any = None,
        name: str = "",
        queue: Any = None,
        method: Callable[..., Any] | None = None,
        cursor: Any = None,
        sleep: int = 5000,
    ) -> None:
        self.name = name or "QWorker"
        self.queue: Any = queue if queue is not None else Queue()
        self.method = method
        self.cursor = cursor
        self._launcher = Launcher()
        self._cursor_shown = False  # GUI thread only
        self._done = 0
        self._state_lock = native.allocate_lock()
        self._running = False  # guarded by _state_lock
        self._ended = Event()
        self._ended.set()

    def __repr__(self) -> str:
        """Name the worker, its state and how many items it handled."""
        state = "running" if self._running else "stopped"
        return f"<QWorker {self.name} {state}, {self._done} done>"

    def getQueue(self) -> Any:
        """Return the queue items are taken from."""
        return self.queue

    def getDone(self) -> float:
        """Return the fraction of items done so far (0 to 1)."""
        pending = self.queue.qsize()
        return self._done / (self._done + pending) if self._done else 0.0

    def next(self) -> None:
        """Kept for compatibility: items are taken as soon as they are queued."""

    def start(self) -> None:
        """Start the worker thread; idempotent."""
        with self._state_lock:
            if self._running:
                return
            self._running = True
            self._ended.clear()
        native.start_new_thread(self._run, ())

    def isRunning(self) -> bool:
        """Return whether the worker thread runs."""
        return self._running

    def stop(self, timeout: float | None = 10.0) -> bool:
        """End the thread after the item being processed; wait ``timeout`` s.

        Items still queued stay in the queue.

        Returns:
            whether the thread has ended.
        """
        if self._running:
            self.queue.put(_STOP)
        return self._ended.wait(timeout)

    def wait(self, msecs: int | None = None) -> bool:
        """Wait for the thread to end, as ``QThread.wait`` (milliseconds)."""
        return self._ended.wait(None if msecs is None else msecs / 1000)

    def _run(self) -> None:
        try:
            while True:
                item = self.queue.get()
                if item is _STOP:
                    return
                if isinstance(item, str):
                    if item == "exit":
                        return
                    continue
                try:
                    self._launcher.apply(self._process, item)
                except BridgeClosedError:
                    log.warning("%r: the GUI thread's hub is closed; stopping", self)
                    return
        finally:
            with self._state_lock:
                self._running = False
            self._ended.set()

    def _process(self, item: Any) -> None:
        # In a greenlet of the GUI thread.
        if self.cursor is not None and not self._cursor_shown:
            self._show_cursor(True)
        if not isinstance(item, (tuple, list)):
            item = (item,)
        method = self.method
        if method is None:
            method, item = item[0], item[1:]
        try:
            method(*item)
        except Exception:
            log.exception("%r: processing %r failed", self, item)
        finally:
            self._done += 1
            if self._cursor_shown and not self.queue.qsize():
                self._show_cursor(False)

    def _show_cursor(self, show: bool) -> None:
        from qtpy import QtCore, QtGui, QtWidgets

        if show:
            wait = QtCore.Qt.CursorShape.WaitCursor
            shape = wait if self.cursor is True else self.cursor
            QtWidgets.QApplication.setOverrideCursor(QtGui.QCursor(shape))
        else:
            QtWidgets.QApplication.restoreOverrideCursor()
        self._cursor_shown = show
