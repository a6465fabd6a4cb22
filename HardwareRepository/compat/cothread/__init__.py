"""cothread's cooperative API, running on gevent and the package's bridge.

Code written for Diamond's ``cothread`` runs with::

    from HardwareRepository.compat import cothread
    from HardwareRepository.compat.cothread import Spawn, Sleep, Event, Timedout

Tasks are greenlets of the calling thread's gevent hub (cothread's single
scheduler becomes "the hub of the thread using the object"). As in cothread,
the cooperative objects (:class:`Spawn`, :class:`Event`, :class:`Pulse`,
:class:`EventQueue`) belong to the thread that created them and raise
:class:`CrossThreadError` when used from another thread;
:class:`ThreadedEventQueue`, :func:`Callback`, :func:`CallbackResult` and
:func:`Quit` are the ways across, all built on :mod:`HardwareRepository.bridge`.

Timeouts are cothread's: ``None`` (never), seconds relative to now, or a
1-tuple ``(deadline,)`` holding an absolute ``time.time()``. Expiry raises
:class:`Timedout`, which is a :class:`HardwareRepository.errors.Timeout`
(hence a ``TimeoutError``).

Differences from cothread: exceptions of tasks spawned without
``raise_on_wait`` are logged (``HardwareRepository.compat.cothread``) instead
of printed; ``stack_size`` is ignored; ``ThreadedEventQueue`` creates its
``wait_descriptor`` (an eventfd, not a pipe) only when it is first asked for;
:func:`iqt` uses :mod:`HardwareRepository.qtloop` (no polling timer, and
``app.exec_()`` is never run on a coroutine stack).
"""

from __future__ import annotations

import logging
import os
import select as _select
import signal
import threading
import time
import types
import weakref
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

import gevent
import gevent.event
import gevent.select
from gevent.monkey import get_original
from greenlet import getcurrent

from ...bridge import (
    AsyncResult,
    HubBridge,
    get_bridge,
    get_bridge_if_exists,
    get_hub_if_exists,
    native,
)
from ...bridge import Event as _ThreadSafeEvent
from ...bridge import Queue as _ThreadSafeQueue
from ...errors import InvalidThreadUseError, Timeout
from ...toolkit import Timer as _CoreTimer

__all__ = [
    "AbsTimeout",
    "Callback",
    "CallbackResult",
    "CrossThreadError",
    "Deadline",
    "Event",
    "EventQueue",
    "GetDeadline",
    "Pulse",
    "Quit",
    "RLock",
    "Sleep",
    "SleepUntil",
    "Spawn",
    "ThreadedEventQueue",
    "Timedout",
    "Timer",
    "WaitForAll",
    "WaitForQuit",
    "Yield",
    "coselect",
    "iqt",
    "scheduler_thread_id",
]

log = logging.getLogger("HardwareRepository.compat.cothread")


class Timedout(Timeout):
    """A cothread wait ran out of time."""


class CrossThreadError(InvalidThreadUseError, AssertionError):
    """A cooperative object was used from a thread other than its own.

    An ``AssertionError`` too, as cothread's ``_validate_thread`` raised that.
    """


Timeout_ = float | tuple[float] | None

# -- timeouts -----------------------------------------------------------------


def GetDeadline(timeout: Timeout_) -> float | None:
    """Return the absolute ``time.time()`` deadline of a cothread timeout."""
    if timeout is None:
        return None
    if isinstance(timeout, tuple):
        return timeout[0]
    return time.time() + timeout


def AbsTimeout(timeout: Timeout_) -> tuple[float] | None:
    """Turn a timeout into the ``(deadline,)`` form, so nested waits share it."""
    deadline = GetDeadline(timeout)
    return None if deadline is None else (deadline,)


def Deadline(deadline: float | None) -> tuple[float] | None:
    """Turn an absolute ``time.time()`` deadline into a timeout argument."""
    return None if deadline is None else (deadline,)


def _remaining(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.time())


# -- thread checks ------------------------------------------------------------

#: the thread that imported this module (cothread's scheduler thread)
scheduler_thread_id: int = native.get_ident()
_main_ident = threading.main_thread().ident
# As cothread creates its scheduler on import, the importing thread gets its
# hub and bridge now (unless it is a worker thread without a hub).
_scheduler_bridge: HubBridge | None = (
    get_bridge()
    if scheduler_thread_id == _main_ident or get_hub_if_exists() is not None
    else get_bridge_if_exists()
)


def _validate_hub_thread() -> None:
    """Refuse to create a hub in a worker thread that has none."""
    if get_hub_if_exists() is None and native.get_ident() != _main_ident:
        raise CrossThreadError(
            "cothread calls need a gevent hub: this worker thread has none; use "
            "Callback/CallbackResult or a ThreadedEventQueue to reach the hub"
        )


class _EventBase:
    """Waiting greenlets of one thread, woken one or all at a time."""

    def __init__(self) -> None:
        _validate_hub_thread()
        self._owner = native.get_ident()
        self._waiters: deque[gevent.event.Event] = deque()

    def _validate(self) -> None:
        if native.get_ident() != self._owner:
            raise CrossThreadError(
                f"{type(self).__name__} belongs to thread {self._owner:#x}; cannot "
                "use it from another thread. Consider using Callback, "
                "CallbackResult or a ThreadedEventQueue."
            )

    def _wait_until(self, deadline: float | None) -> None:
        """Suspend until woken; always yields. Raises Timedout at ``deadline``."""
        self._validate()
        waiter = gevent.event.Event()
        self._waiters.append(waiter)
        try:
            woken = waiter.wait(_remaining(deadline))
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
        if not woken:
            raise Timedout(f"timed out waiting for {type(self).__name__}")

    def _wakeup(self, wake_all: bool) -> None:
        self._validate()
        if wake_all:
            waiters, self._waiters = self._waiters, deque()
            for waiter in waiters:
                waiter.set()
        elif self._waiters:
            self._waiters.popleft().set()


# -- tasks ------------------------------------------------------------------


class Spawn(_EventBase):
    """Run ``function(*args, **kwargs)`` as a new task (a greenlet).

    The task starts at the caller's next suspension point. Its exception is
    kept for :meth:`Wait` with ``raise_on_wait=True``; otherwise it is logged
    with its traceback and :meth:`Wait` returns ``None``. ``bool(task)`` tells
    whether it has finished.
    """

    def __init__(
        self,
        function: Callable[..., Any],
        *args: Any,
        raise_on_wait: bool = False,
        stack_size: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        self._function = function
        self._raise_on_wait = raise_on_wait
        self._result: tuple[bool, Any] | None = None
        self._greenlet = gevent.spawn(self._run, args, kwargs)

    def __repr__(self) -> str:
        """Name the spawned function and whether it finished, for logs."""
        state = "done" if self._result is not None else "running"
        return (
            f"<Spawn {getattr(self._function, '__qualname__', self._function)} {state}>"
        )

    def _run(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        try:
            self._result = (True, self._function(*args, **kwargs))
        except Exception as exc:
            if self._raise_on_wait:
                self._result = (False, exc)
            else:
                log.exception(
                    "spawned task %s raised an uncaught exception",
                    getattr(self._function, "__qualname__", self._function),
                )
                self._result = (True, None)
        except gevent.GreenletExit:
            self._result = (True, None)
            raise
        finally:
            self._wakeup(True)

    def __bool__(self) -> bool:
        """Return whether the task has finished."""
        return self._result is not None

    def Wait(self, timeout: Timeout_ = None) -> Any:
        """Wait for the task to finish and return its result (or raise its error).

        :raises Timedout: the task did not finish in time.
        """
        deadline = GetDeadline(timeout)
        while self._result is None:
            self._wait_until(deadline)
        ok, value = self._result
        if ok:
            return value
        raise value

    def AbortWait(self) -> None:
        """Give up waiting (nothing to release here)."""


def Sleep(timeout: Timeout_) -> None:
    """Suspend the calling task for ``timeout`` seconds (or until ``(deadline,)``)."""
    SleepUntil(GetDeadline(timeout))


def SleepUntil(deadline: float | None) -> None:
    """Suspend until the ``time.time()`` ``deadline``; always yields."""
    _validate_hub_thread()
    gevent.sleep(_remaining(deadline) if deadline is not None else 0)


def Yield(timeout: Timeout_ = 0) -> None:
    """Let every other ready task run, then resume."""
    _validate_hub_thread()
    gevent.sleep(0)


# -- events and queues ----------------------------------------------------------


class Event(_EventBase):
    """An event carrying a value or an exception.

    With ``auto_reset=True`` (the default, unlike ``threading.Event``) each
    signal is consumed by one waiter: :meth:`Signal` wakes one waiting task and
    its :meth:`Wait` resets the event. With ``auto_reset=False`` a signal wakes
    every waiter and stays until :meth:`Reset`.
    """

    def __init__(self, auto_reset: bool = True) -> None:
        super().__init__()
        self._auto_reset = auto_reset
        self._value: tuple[bool, Any] | None = None

    def __bool__(self) -> bool:
        """Return whether a signal is waiting to be taken."""
        return self._value is not None

    def Wait(self, timeout: Timeout_ = None) -> Any:
        """Wait for a signal; return its value or raise its exception.

        :raises Timedout: no signal in time.
        """
        deadline = GetDeadline(timeout)
        while self._value is None:
            self._wait_until(deadline)
        ok, value = self._value
        if self._auto_reset:
            self._value = None
        if ok:
            return value
        raise value

    def Signal(self, value: Any = None) -> None:
        """Signal the event with ``value``; wake one waiter (or all, see above)."""
        self._validate()
        self._value = (True, value)
        self._wakeup(not self._auto_reset)

    def SignalException(self, exception: BaseException) -> None:
        """Signal the event so that the next :meth:`Wait` raises ``exception``."""
        self._validate()
        self._value = (False, exception)
        self._wakeup(not self._auto_reset)

    def Reset(self) -> None:
        """Clear the signal and its value."""
        self._value = None

    def AbortWait(self) -> None:
        """Consume a pending signal of an auto-reset event without waiting."""
        if self._auto_reset:
            self._value = None


class Pulse(_EventBase):
    """A stateless condition: :meth:`Signal` wakes the tasks waiting right now."""

    def Wait(self, timeout: Timeout_ = None) -> None:
        """Wait for the next :meth:`Signal`. :raises Timedout: none in time."""
        self._wait_until(GetDeadline(timeout))

    def Signal(self, wake_all: bool = True) -> None:
        """Wake all waiting tasks (or only the oldest)."""
        self._wakeup(wake_all)

    def AbortWait(self) -> None:
        """Nothing to release."""


class EventQueue(_EventBase):
    """A FIFO of values for tasks of one thread; iterable until closed.

    :param max_length: at most this many values; :meth:`Signal` then drops the
        new value and returns ``False``.
    """

    def __init__(self, max_length: int | None = None) -> None:
        super().__init__()
        self._values: deque[Any] = deque()
        self._closed = False
        self._max_length = max_length

    def __len__(self) -> int:
        """Return how many values are queued."""
        return len(self._values)

    def Wait(self, timeout: Timeout_ = None) -> Any:
        """Return the oldest value, waiting for one.

        :raises StopIteration: the queue is closed and empty.
        :raises Timedout: no value in time.
        """
        deadline = GetDeadline(timeout)
        while not self._values and not self._closed:
            self._wait_until(deadline)
        if self._values:
            return self._values.popleft()
        raise StopIteration

    def Signal(self, value: Any) -> bool:
        """Append ``value`` and wake one waiter.

        :returns: ``False`` if the queue was full and the value was dropped.
        :raises ValueError: the queue is closed.
        """
        self._validate()
        if self._closed:
            raise ValueError("cannot Signal a closed EventQueue")
        if self._max_length is not None and len(self._values) >= self._max_length:
            return False
        self._values.append(value)
        self._wakeup(False)
        return True

    def Reset(self) -> None:
        """Discard every queued value."""
        self._values.clear()

    def close(self) -> None:
        """Refuse further values; waiters get ``StopIteration`` once it is drained."""
        self._closed = True
        self._wakeup(True)

    def AbortWait(self) -> None:
        """Consume the oldest value, if any, without waiting."""
        if self._values:
            self._values.popleft()

    def __iter__(self) -> EventQueue:
        """Return the queue itself: iterating waits for each value in turn."""
        return self

    def __next__(self) -> Any:
        """Wait for and return the next value (see :meth:`Wait`)."""
        return self.Wait()

    next = __next__


class RLock:
    """cothread's re-entrant lock, owned by the task (greenlet) that acquired it.

    Cooperative: a task waiting for it lets the other tasks of its thread run.
    The owner may acquire it again; it is free once released as many times.
    Waiting tasks get it in the order they asked. Like the other cooperative
    objects it belongs to the thread that created it
    (:class:`CrossThreadError` elsewhere); to share a lock between threads use
    :class:`HardwareRepository.bridge.RLock`.

    Usable as a context manager (``with lock:``).
    """

    def __init__(self) -> None:
        self._free = Event(auto_reset=True)  # signalled while nobody owns it
        self._free.Signal()
        self._owner: Any = None
        self._count = 0

    def __repr__(self) -> str:
        """Say whether the lock is owned, and how often."""
        state = f"owned x{self._count}" if self._owner is not None else "free"
        return f"<cothread RLock {state}>"

    def acquire(self, timeout: Timeout_ = None) -> None:
        """Acquire the lock, waiting cooperatively while another task owns it.

        Args:
            timeout: ``None``, seconds, or ``(deadline,)``.

        Raises:
            Timedout: another task still owned it at the deadline.
            CrossThreadError: called from another thread than the lock's.
        """
        me = getcurrent()
        if self._owner is me:
            self._count += 1
            return
        try:
            self._free.Wait(timeout)
        except Timedout:
            raise Timedout(f"timed out waiting for {self!r}") from None
        self._owner, self._count = me, 1

    def release(self) -> None:
        """Release the lock once; the next waiting task gets it when it is free.

        Raises:
            AssertionError: the calling task does not own the lock (cothread's
                error).
        """
        if self._owner is None or self._owner is not getcurrent():
            raise AssertionError(f"cannot release un-acquired lock {self!r}")
        self._count -= 1
        if self._count == 0:
            self._owner = None
            self._free.Signal()

    def __enter__(self) -> None:
        """Acquire the lock, waiting as long as it takes."""
        self.acquire()

    def __exit__(self, *exc_info: object) -> None:
        """Release the lock once."""
        self.release()


class ThreadedEventQueue:
    """A FIFO between threads: :meth:`Signal` and :meth:`Wait` work from any thread.

    :meth:`Wait` is cooperative in a greenlet and blocking in a plain thread; it
    never creates a hub. Built on :class:`HardwareRepository.bridge.Queue` (no
    pipe byte per value, no blocked producer). :attr:`wait_descriptor` gives a
    descriptor to ``select``/``poll`` on, made only when first asked for.
    """

    def __init__(self) -> None:
        self._queue: _ThreadSafeQueue[Any] = _ThreadSafeQueue()
        # Guards _pending and the descriptor: a value is counted and signalled
        # on the descriptor in one step, and taken off both in one step.
        self._lock = native.allocate_lock()
        self._pending = 0  # values put and not yet accounted as taken
        self._descriptor: int | None = None
        self._close_descriptor: weakref.finalize | None = None

    def __len__(self) -> int:
        """Return how many values are queued."""
        return len(self._queue)

    @property
    def wait_descriptor(self) -> int:
        """A file descriptor that is readable while values are queued.

        Wait for it with ``select``/``poll`` (or :data:`coselect`), then take a
        value with :meth:`Wait`. It is a Linux eventfd counting the queued
        values, created on first use; :meth:`close` (or garbage collection of
        the queue) closes it. Do not read it yourself.
        """
        with self._lock:
            if self._descriptor is None:
                flags = os.EFD_SEMAPHORE | os.EFD_NONBLOCK | os.EFD_CLOEXEC
                self._descriptor = os.eventfd(self._pending, flags)
                self._close_descriptor = weakref.finalize(
                    self, os.close, self._descriptor
                )
            return self._descriptor

    def close(self) -> None:
        """Close :attr:`wait_descriptor`, if it was made; the queue still works."""
        with self._lock:
            if self._close_descriptor is not None:
                self._close_descriptor()
            self._descriptor = self._close_descriptor = None

    def Wait(self, timeout: Timeout_ = None) -> Any:
        """Return the oldest value, waiting for one. :raises Timedout: none in time."""
        try:
            value = self._queue.get(timeout=_remaining(GetDeadline(timeout)))
        except Timeout:
            raise Timedout("timed out waiting for ThreadedEventQueue") from None
        with self._lock:
            self._pending -= 1
            if self._descriptor is not None:
                os.eventfd_read(self._descriptor)
        return value

    def Signal(self, value: Any) -> None:
        """Append ``value``; never blocks."""
        with self._lock:
            self._queue.put(value)
            self._pending += 1
            if self._descriptor is not None:
                os.eventfd_write(self._descriptor, 1)


def WaitForAll(event_list: Iterable[Any], timeout: Timeout_ = None) -> list[Any]:
    """Wait for every event in turn against one deadline; return their values.

    If a wait raises, the remaining events get ``AbortWait()``.
    """
    deadline = AbsTimeout(timeout)
    events = list(event_list)
    results = []
    done = 0
    try:
        for event in events:
            results.append(event.Wait(deadline))
            done += 1
    finally:
        for event in events[done + 1 :]:
            event.AbortWait()
    return results


# -- timers -----------------------------------------------------------------


def _relative(timeout: Timeout_) -> float | None:
    return _remaining(GetDeadline(timeout))


class Timer:
    """Call ``callback()`` after ``timeout``; cothread's cancellable timer.

    Runs in a greenlet of the creating thread's hub. With ``retrigger`` it
    fires every ``timeout`` until cancelled. Unless ``retrigger`` or ``reuse``
    is set, the timer is done once it fires and cannot be reset. After
    :meth:`cancel` returns the callback is not started again.
    """

    def __init__(
        self,
        timeout: Timeout_,
        callback: Callable[[], Any],
        retrigger: bool = False,
        reuse: bool = False,
        stack_size: int = 0,
    ) -> None:
        _validate_hub_thread()
        self._reuse = reuse or retrigger
        self._timer = _CoreTimer(_relative(timeout), callback, retrigger=retrigger)

    def __repr__(self) -> str:
        """Name the underlying timer, for logs."""
        return f"<cothread.Timer {self._timer!r}>"

    def cancel(self) -> None:
        """Cancel the timer for good; it will not fire after this call."""
        self._reuse = False
        self._timer.cancel()

    def reset(self, timeout: Timeout_, retrigger: bool | None = None) -> None:
        """Restart the timer with a new ``timeout`` (``None`` suspends it).

        :raises AssertionError: the timer is not reusable (or was cancelled).
        """
        if not self._reuse:
            raise AssertionError("Cannot reuse this timer")
        self._timer.reset(_relative(timeout), retrigger)


# -- crossing from other threads --------------------------------------------------


def _scheduler() -> HubBridge:
    global _scheduler_bridge
    if _scheduler_bridge is None or _scheduler_bridge.closed:
        if native.get_ident() != scheduler_thread_id:
            raise CrossThreadError(
                "the cothread scheduler thread has no gevent hub yet; call "
                "get_bridge() (or any cothread function) in it first"
            )
        _scheduler_bridge = get_bridge()
    return _scheduler_bridge


def Callback(action: Callable[..., Any], *args: Any) -> None:
    """Run ``action(*args)`` in the scheduler thread's hub; safe from any thread.

    Actions run in the order they were posted; an exception is logged.
    """
    _scheduler().post(action, *args)


def CallbackResult(
    action: Callable[..., Any],
    *args: Any,
    callback_queue: Callable[..., None] = Callback,
    callback_timeout: Timeout_ = None,
    callback_spawn: bool = True,
    **kwargs: Any,
) -> Any:
    """Run ``action`` in the scheduler thread and return its result (or raise).

    Runs inline when called from the scheduler thread. A timeout does not
    cancel the action.

    :raises Timedout: no result within ``callback_timeout``.
    """
    if native.get_ident() == scheduler_thread_id:
        return action(*args, **kwargs)
    result: AsyncResult[Any] = AsyncResult(name=getattr(action, "__qualname__", None))

    def run() -> None:
        try:
            result.set(action(*args, **kwargs))
        except BaseException as exc:
            result.set_exception(exc)

    if callback_spawn:
        callback_queue(gevent.spawn, run)
    else:
        callback_queue(run)
    try:
        return result.get(_relative(callback_timeout))
    except Timeout:
        if result.ready():
            return result.get(0)
        raise Timedout("timed out waiting for callback result") from None


# -- quitting -----------------------------------------------------------------

_quit = _ThreadSafeEvent()


def Quit() -> None:
    """Signal the quit event; it stays signalled. Safe from any thread."""
    _quit.set()


def WaitForQuit(catch_interrupt: bool = True) -> None:
    """Wait until :func:`Quit` is called.

    :param catch_interrupt: while waiting, Ctrl-C (SIGINT) calls :func:`Quit`
        instead of raising ``KeyboardInterrupt`` (main thread only); the
        previous SIGINT handler is restored on return.
    """
    previous = None
    if catch_interrupt:
        bridge = get_bridge() if get_hub_if_exists() is not None else None

        def on_sigint(signum: int, frame: Any) -> None:
            # Runs between bytecodes of the main thread, possibly while it
            # holds a bridge lock: only append a loop callback here.
            if bridge is not None:
                bridge.hub.loop.run_callback(Quit)
            else:
                Quit()

        previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        _quit.wait()
    finally:
        if catch_interrupt:
            signal.signal(signal.SIGINT, previous)


# -- Qt -----------------------------------------------------------------------


def iqt(
    poll_interval: float | None = None, run_exec: bool = False, argv: Any = None
) -> Any:
    """Return the ``QApplication``, with its loop also running the gevent hub.

    Creates the application if needed (with ``argv``, default ``sys.argv``),
    installs :func:`HardwareRepository.qtloop.install` on it and connects its
    ``aboutToQuit`` to :func:`Quit`. Run ``app.exec_()`` yourself (or wait with
    :func:`WaitForQuit` if the host runs Qt).

    :param poll_interval: ignored: the loop is event-driven.
    :param run_exec: unsupported (cothread ran ``exec_`` on a coroutine stack,
        which crashes with current PyQt5); must be false.
    :raises ImportError: Qt (through qtpy) or :mod:`HardwareRepository.qtloop`
        is not available.
    """
    if run_exec:
        raise ValueError(
            "iqt(run_exec=True) is not supported: call app.exec_() yourself; "
            "greenlets run inside Qt's loop once qtloop is installed"
        )
    try:
        from ... import qtloop
    except ImportError as exc:
        raise ImportError(
            "iqt() needs HardwareRepository.qtloop (the Qt loop that also runs "
            f"gevent), which could not be imported: {exc}"
        ) from exc
    import sys

    from qtpy.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        app = QApplication(list(sys.argv if argv is None else argv))
    qtloop.install(app)
    app.aboutToQuit.connect(Quit)
    return app


# -- coselect -----------------------------------------------------------------

_native_poll = get_original("select", "poll")


class _Poll:
    """A cooperative ``select.poll`` object; ``poll(timeout)`` takes milliseconds.

    ``timeout=None`` or negative waits for ever (cothread raised ``TypeError``).
    """

    def __init__(self) -> None:
        self._poll = gevent.select.poll()

    def register(
        self,
        fd: Any,
        eventmask: int = _select.POLLIN | _select.POLLPRI | _select.POLLOUT,
    ) -> None:
        self._poll.register(fd, eventmask)

    def modify(self, fd: Any, eventmask: int) -> None:
        self._poll.modify(fd, eventmask)

    def unregister(self, fd: Any) -> None:
        self._poll.unregister(fd)

    def poll(self, timeout: float | None = None) -> list[tuple[int, int]]:
        return self._poll.poll(timeout)


def _poll_list(
    event_list: Iterable[tuple[Any, int]], timeout: Timeout_ = None
) -> list[tuple[int, int]]:
    """Wait cooperatively until one of ``[(fd, mask)]`` is ready; ``[(fd, events)]``."""
    _validate_hub_thread()
    poller = gevent.select.poll()
    for fd, mask in event_list:
        poller.register(fd, mask)
    seconds = _relative(timeout)
    return poller.poll(None if seconds is None else seconds * 1000.0)


def _poll_block(
    event_list: Iterable[tuple[Any, int]], timeout: Timeout_ = None
) -> list[tuple[int, int]]:
    """Like ``poll_list`` but blocking the calling thread (for plain threads)."""
    poller = _native_poll()
    for fd, mask in event_list:
        poller.register(fd, mask)
    seconds = _relative(timeout)
    return poller.poll(None if seconds is None else seconds * 1000.0)


def _coselect_select(
    inputs: Iterable[Any],
    outputs: Iterable[Any],
    excepts: Iterable[Any],
    timeout: Timeout_ = None,
) -> tuple[list[Any], list[Any], list[Any]]:
    """Cooperative ``select.select``; ``timeout`` in seconds or ``(deadline,)``."""
    _validate_hub_thread()
    return gevent.select.select(
        list(inputs), list(outputs), list(excepts), _relative(timeout)
    )


coselect = types.ModuleType(
    f"{__name__}.coselect", "cothread.coselect: cooperative select and poll on gevent."
)
vars(coselect).update(
    select=_coselect_select,
    poll=_Poll,
    poll_list=_poll_list,
    poll_block=_poll_block,
    **{
        name: getattr(_select, name)
        for name in ("POLLIN", "POLLPRI", "POLLOUT", "POLLERR", "POLLHUP", "POLLNVAL")
    },
)
