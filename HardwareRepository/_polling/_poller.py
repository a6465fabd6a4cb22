"""The Poller: shared polling jobs, their subscribers and the module registry.

Structure (see docs/poller.md):

* a :class:`PollJob` is one polled callable with one set of arguments; the
  scheduler fires it at absolute deadlines and a pool thread calls it;
* a :class:`Poller` is what ``poll()`` returns: one subscriber of a job, with
  its own callbacks, period, ``compare`` flag, last value, state and id. Two
  ``poll()`` calls of the same callable with equal arguments share one job
  (the hardware is read once per tick) but get two Pollers, so neither
  caller's callbacks are dropped;
* values travel from the pool thread to the caller's hub through one
  :class:`~HardwareRepository.bridge.Inbox` per poller (the bridge's sink),
  and callbacks run there, in order.

Locking: ``_lock`` (a native re-entrant lock) guards the registry, the job
index, and every job's and poller's scheduling state; it is never held while
a polled call or a callback runs. The scheduler's own lock may be taken while
holding ``_lock``, never the other way round. Weak-reference callbacks take no
lock: they only hand work to the scheduler thread (``Scheduler.call_soon``).
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from gevent.monkey import get_original

from ..bridge import HubSink, get_sink, native
from ..errors import InvalidThreadUseError
from ..policies import values_equal
from . import _config
from ._pool import WorkerPool, in_pool_thread
from ._refs import CallableRef, callable_ref, callback_ref
from ._scheduler import Scheduler

__all__ = [
    "NotInitializedValue",
    "PollJob",
    "Poller",
    "PollerStatistics",
    "PollingService",
    "configure",
    "get_poller",
    "poll",
    "polling_service",
    "shutdown",
    "stop_all",
]

log = logging.getLogger("HardwareRepository.Poller")


POLLING = "polling"
STOPPED = "stopped"
FAILED = "failed"
COLLECTED = "collected"

_VALUE = 0
_ERROR = 1


class _NotInitializedValue:
    """The "no value yet" marker: equal only to itself."""

    _instance: _NotInitializedValue | None = None

    def __new__(cls) -> _NotInitializedValue:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NotInitializedValue"

    def __reduce__(self) -> str:
        return "NotInitializedValue"


#: The previous value of a poller that has produced none yet; the first value
#: always differs from it, so it is always delivered.
NotInitializedValue = _NotInitializedValue()


def _get_scheduler() -> Scheduler:
    with _lock:
        if _service.scheduler is None:
            _service.scheduler = Scheduler(_start_due)
        return _service.scheduler


def _identity(func: Callable[..., Any]) -> tuple[int, ...]:
    self_ = getattr(func, "__self__", None)
    inner = getattr(func, "__func__", None)
    if self_ is not None and inner is not None:
        return (id(self_), id(inner))
    return (id(func),)


def _describe(func: Callable[..., Any], args: tuple[Any, ...]) -> str:
    name = getattr(func, "__qualname__", None) or repr(func)
    owner = getattr(func, "__self__", None)
    if owner is not None and not isinstance(owner, type):
        name = f"{name} of {owner!r}"
    shown = ", ".join(repr(a) for a in args)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return f"{name}({shown})"


def _ms(value: float, what: str) -> float:
    try:
        ms = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{what} must be a number of milliseconds, not {value!r}")
    if not math.isfinite(ms):
        raise ValueError(f"{what} must be finite, not {value!r}")
    return ms


@dataclass(frozen=True)
class PollerStatistics:
    """A snapshot of one poller's diagnostics.

    Times are in seconds; ``next_due`` is on the :func:`time.monotonic` clock.

    :param poller_id: the poller's id.
    :param state: ``"polling"``, ``"failed"`` (an error stopped polling until
        ``restart()``), ``"stopped"`` or ``"collected"`` (the polled callable or
        a callback's object was garbage-collected).
    :param polled_call: a description of the polled callable and arguments.
    :param period: this poller's period, in milliseconds.
    :param effective_period: the period of the shared polling job (the
        smallest period of the pollers sharing it), in milliseconds.
    :param shared_by: how many pollers share the job (this one included).
    :param calls: polled calls whose outcome this poller received.
    :param errors: of those, the calls that raised.
    :param values_queued: values handed to the hub (after ``compare``).
    :param callbacks_run: items run in the hub (value or error callbacks).
    :param last_call_duration: how long the last polled call took.
    :param lateness: how late the last call started after its deadline.
    :param max_lateness: the largest lateness seen by the job.
    :param next_due: when the next call is due, or ``None`` when none is
        scheduled (stopped, failed, or a call is in flight).
    :param in_flight: whether a polled call is running now.
    :param last_latency: from the last value produced (in the pool thread) to
        its callback starting in the hub.
    """

    poller_id: int
    state: str
    polled_call: str
    period: float
    effective_period: float
    shared_by: int
    calls: int
    errors: int
    values_queued: int
    callbacks_run: int
    last_call_duration: float | None
    lateness: float | None
    max_lateness: float
    next_due: float | None
    in_flight: bool
    last_latency: float | None


class PollJob:
    """One polled callable with its arguments, shared by its subscribers.

    Internal; all state below is guarded by the module lock unless noted.
    """

    def __init__(self, args: tuple[Any, ...], key: tuple[int, ...], name: str) -> None:
        self.args = args
        self.key = key
        self.name = name
        self.ref: CallableRef = _dead_ref
        self.weak = False
        self.subscribers: tuple[Poller, ...] = ()  # replaced, never mutated
        self.period = 1.0  # s: the smallest period of the subscribers
        self.due: float | None = None  # the one valid deadline
        self.anchor = 0.0  # deadline of the last call fired (or creation time)
        self.phase = 0.0  # regular deadlines are phase + n * period
        self.in_flight = False
        self.ended = False
        self.fired = 0
        self.sched_entry: int | None = None  # scheduler lock
        self.scheduler: Scheduler | None = None
        # Written by the pool thread running the call (calls never overlap).
        self.last_duration: float | None = None
        self.lateness: float | None = None
        self.max_lateness = 0.0

    def __repr__(self) -> str:
        return f"<PollJob {self.name} every {self.period * 1e3:g} ms>"

    # -- scheduling (module lock held) --------------------------------------

    def _set_due(self, due: float) -> None:
        self.due = due
        assert self.scheduler is not None
        self.scheduler.schedule(self, due)

    def _end(self) -> None:
        if self.ended:
            return
        self.ended = True
        self.due = None
        if self.scheduler is not None:
            self.scheduler.cancel(self)
        same = _service.jobs.get(self.key)
        if same is not None and self in same:
            same.remove(self)
            if not same:
                del _service.jobs[self.key]

    def _recompute_period(self, now: float) -> None:
        if not self.subscribers:
            self._end()
            return
        period = min(p._period_ms for p in self.subscribers) / 1e3
        if period == self.period:
            return
        self.period = period
        if self.fired:
            # The new grid runs on from the last deadline.
            self.phase = self.anchor
        # Takes effect at the next tick: re-derive the pending deadline from
        # the last one (an in-flight call picks the period up when it returns).
        if not self.ended and not self.in_flight and self.fired:
            self._set_due(max(now, self.anchor + period))

    def _next_due(self, now: float) -> float:
        # The first grid point after the last deadline: one period later when
        # the last call was on the grid; after an off-grid call (the first one,
        # one brought forward for a new subscriber, or one after skipped ticks)
        # the grid is rejoined sooner, never later, so no value is ever older
        # than one period.
        period = self.period
        n = math.floor((self.anchor - self.phase) / period + 1e-6) + 1
        due = self.phase + n * period
        if due < now - period:
            # More than one tick behind (a slow call): skip the missed ticks
            # instead of firing them in a burst.
            return now
        return due

    # -- scheduler thread ---------------------------------------------------

    def _claim(self, due: float) -> bool:
        # Module lock held: mark the call due at ``due`` as started.
        if self.ended or self.in_flight or due != self.due:
            return False
        self.in_flight = True
        self.anchor = due
        self.due = None
        self.fired += 1
        return True

    # -- pool thread ----------------------------------------------------------

    def _execute(self, due: float) -> None:
        start = native.monotonic()
        lateness = start - due
        self.lateness = lateness
        self.max_lateness = max(self.max_lateness, lateness)
        func = self.ref()
        if func is None:
            with _lock:
                self.in_flight = False
            self.collected()
            return
        failure: BaseException | None = None
        value: Any = None
        try:
            value = func(*self.args)
        except BaseException as exc:
            failure = exc
        end = native.monotonic()
        del func
        self.last_duration = end - start
        if failure is None:
            for poller in self.subscribers:
                poller._offer_value(value, end)
            with _lock:
                self.in_flight = False
                if not self.ended:
                    if self.subscribers:
                        self._set_due(self._next_due(end))
                    else:
                        self._end()
            return
        with _lock:
            self.in_flight = False
            self._end()
            failed = [p for p in self.subscribers if p._state == POLLING]
            for poller in failed:
                poller._state = FAILED
            self.subscribers = ()
        for poller in failed:
            poller._offer_error(failure, end)

    # -- any thread -------------------------------------------------------------

    def collected(self) -> None:
        """The polled callable was garbage-collected: forget the job's pollers."""
        with _lock:
            never_called = self.fired <= 1 and self.last_duration is None
            self._end()
            gone = [p for p in self.subscribers if p._state in (POLLING, FAILED)]
            self.subscribers = ()
            for poller in gone:
                poller._forget(COLLECTED)
        for poller in gone:
            poller._inbox.close()
        if gone and never_called:
            log.warning(
                "%s was garbage-collected before its first call, so %d poller(s) "
                "ended at once; the Poller keeps no reference to the polled "
                "callable (pass a bound method or a function that stays referenced)",
                self.name,
                len(gone),
            )
        elif gone:
            log.debug("%s was garbage-collected: its pollers ended", self.name)


def _dead_ref() -> None:
    return None


def _start_due(due_jobs: list[tuple[float, PollJob]], pool: WorkerPool) -> None:
    """Hand the calls of jobs whose deadline came to the pool (scheduler thread)."""
    with _lock:
        started = [(job, due) for due, job in due_jobs if job._claim(due)]
    try:
        pool.submit_many([(job._execute, (due,)) for job, due in started])
    except RuntimeError:
        with _lock:
            for job, _ in started:
                job.in_flight = False
        raise


class Poller:
    """One subscriber to a polled call; what :func:`poll` returns.

    Public methods are safe from any thread. Callbacks run in dispatcher
    greenlets of the hub of the thread that called :func:`poll` (they may wait
    cooperatively), in the order the values were produced.

    Reference policy (so that a lambda callback works and a poller never keeps
    its owner alive):

    * the polled callable is held **weakly** (a bound method through its
      object); when it is collected, polling stops without error and the
      poller is forgotten. Callables that cannot be weakly referenced
      (builtins) are held strongly;
    * bound-method callbacks are held **weakly**; when such an object is
      collected the poller stops and is forgotten (nobody is left to tell);
    * functions, lambdas and other callables used as callbacks are held
      **strongly** (a lambda that captures its owner keeps the owner alive
      while the poller lives: use a bound method there).

    .. important:: Create pollers with :func:`poll`, not with this class.
    """

    def __init__(
        self,
        job: PollJob,
        period_ms: float,
        value_changed_callback: Callable[[Any], Any] | None,
        error_callback: Callable[[BaseException, int], Any] | None,
        compare: bool,
        start_value: Any,
        sink: HubSink,
    ) -> None:
        self._id = next(_service.ids)
        self._job = job
        self._period_ms = period_ms
        self._sink = sink
        self.compare = bool(compare)
        self.args = job.args
        self._value_ref, _ = callback_ref(value_changed_callback, self._owner_collected)
        self._error_ref, _ = callback_ref(error_callback, self._owner_collected)
        self._state = POLLING  # module lock
        # Written only by the pool thread running the job's call.
        self._last: Any = start_value
        self._calls = 0
        self._errors = 0
        self._queued = 0
        # Hub thread only.
        self._callbacks_run = 0
        self._last_latency: float | None = None
        # Values and errors enter the caller's hub here, in order.
        self._inbox = sink.inbox(
            self.run_delivered, label=f"poller {self._id} ({job.name})", keep_warm=True
        )

    def __repr__(self) -> str:
        return (
            f"<Poller {self._id} {self._state} {self._job.name} "
            f"every {self._period_ms:g} ms>"
        )

    # -- mxCuBE API ---------------------------------------------------------------

    def get_id(self) -> int:
        """Return this poller's id, unique for the life of the process.

        Error callbacks receive it; :func:`get_poller` maps it back.
        """
        return self._id

    def get_polling_period(self) -> float:
        """Return this poller's period, in milliseconds.

        When several pollers share one polled call, the call runs at the
        smallest of their periods (see :meth:`statistics`).
        """
        return self._period_ms

    def set_polling_period(self, milliseconds: float) -> None:
        """Change the period; the next call is due one new period after the last.

        A call in flight is not interrupted: the new period applies to the
        deadline computed when it returns.

        :param milliseconds: the new period, > 0.
        :raises ValueError: a period that is not positive.
        """
        ms = _ms(milliseconds, "polling period")
        if ms <= 0:
            raise ValueError(f"{self!r}: polling period must be > 0 ms, not {ms:g}")
        with _lock:
            self._period_ms = ms
            if self._state == POLLING:
                self._job._recompute_period(native.monotonic())

    def is_stopped(self) -> bool:
        """Return whether polling stopped (stopped, failed or collected)."""
        return self._state != POLLING

    @property
    def polled_call_ref(self) -> CallableRef:
        """The reference to the polled callable (call it: ``None`` once collected)."""
        return self._job.ref

    @property
    def old_res(self) -> Any:
        """The last value produced (``NotInitializedValue`` before the first)."""
        return self._last

    def stop(self) -> None:
        """Stop polling; idempotent.

        Once it returns, no callback of this poller starts (when called in the
        poller's hub thread -- the usual case, including from one of its
        callbacks; from another thread, a callback the hub is starting at that
        very moment may still run). A polled call in flight is not interrupted;
        its result is discarded. The poller is removed from the registry.
        """
        with _lock:
            if self._state in (STOPPED, COLLECTED):
                return
            self._forget(STOPPED)
            job = self._job
            if self in job.subscribers:
                job.subscribers = tuple(p for p in job.subscribers if p is not self)
                job._recompute_period(native.monotonic())
        self._inbox.close()

    def restart(
        self,
        delay: float | Callable[..., Any] = 0,
        polling_delay: float | None = None,
    ) -> Poller | None:
        """Stop this poller and return a new one (new id) with the same settings.

        Two forms: ``restart(delay_ms)`` and, as in the seed's example,
        ``restart(polled_call, delay_ms)`` where ``polled_call`` replaces the
        polled callable. The new poller's first call runs after the delay and
        its previous value is this one's last value, so an unchanged value is
        not delivered again (with ``compare=True``). Callbacks go to the same
        hub as this poller's.

        :param delay: milliseconds before the first call, or the new callable.
        :param polling_delay: the delay, in the two-argument form.
        :returns: the new poller, or ``None`` when the polled callable (or a
            bound-method callback's object) was garbage-collected.
        :raises TypeError: a delay that is not a number.
        """
        if callable(delay):
            polled_call: Callable[..., Any] | None = delay
            delay_ms = _ms(0 if polling_delay is None else polling_delay, "delay")
            start_value: Any = NotInitializedValue
        else:
            if polling_delay is not None:
                raise TypeError(
                    "restart() takes a delay, or a polled callable and a delay"
                )
            polled_call = self._job.ref()
            delay_ms = _ms(delay, "delay")
            start_value = self._last
        self.stop()
        value_cb = self._resolve(self._value_ref)
        error_cb = self._resolve(self._error_ref)
        if polled_call is None or value_cb is False or error_cb is False:
            log.debug("%r: not restarted, its owner was garbage-collected", self)
            return None
        return _create(
            polled_call,
            self.args,
            self._period_ms,
            value_cb,
            error_cb,
            self.compare,
            delay_ms,
            start_value,
            self._sink,
        )

    # -- diagnostics ----------------------------------------------------------------

    def statistics(self) -> PollerStatistics:
        """Return a snapshot of this poller's diagnostics."""
        job = self._job
        with _lock:
            polling = self._state == POLLING
            return PollerStatistics(
                poller_id=self._id,
                state=self._state,
                polled_call=job.name,
                period=self._period_ms,
                effective_period=job.period * 1e3,
                shared_by=len(job.subscribers) if polling else 1,
                calls=self._calls,
                errors=self._errors,
                values_queued=self._queued,
                callbacks_run=self._callbacks_run,
                last_call_duration=job.last_duration,
                lateness=job.lateness,
                max_lateness=job.max_lateness,
                next_due=job.due if polling else None,
                in_flight=job.in_flight,
                last_latency=self._last_latency,
            )

    # -- internals ------------------------------------------------------------------

    @staticmethod
    def _resolve(ref: CallableRef | None) -> Callable[..., Any] | Literal[False] | None:
        """The callback, ``None`` for none, ``False`` if its object is gone."""
        if ref is None:
            return None
        func = ref()
        return False if func is None else func

    def _forget(self, state: str) -> None:
        # Module lock held.
        self._state = state
        _service.registry.pop(self._id, None)

    def _gone(self) -> bool:
        return (
            self._job.ref() is None
            or self._resolve(self._value_ref) is False
            or self._resolve(self._error_ref) is False
        )

    def _owner_collected(self, _ref: Any = None) -> None:
        # Weak-reference callback: no lock here, hand over to the scheduler.
        scheduler = self._job.scheduler
        if scheduler is not None:
            scheduler.call_soon(self._stop_collected)

    def _stop_collected(self) -> None:
        with _lock:
            if self._state in (STOPPED, COLLECTED):
                return
        self.stop()
        with _lock:
            self._state = COLLECTED
        log.debug("%r: a callback's object was garbage-collected: stopped", self)

    def _offer_value(self, value: Any, produced: float) -> None:
        # Pool thread; calls of one job never overlap.
        if self._state != POLLING:
            return
        self._calls += 1
        if self.compare and values_equal(self._last, value):
            return
        self._last = value
        self._queued += 1
        self._push((_VALUE, value, produced))

    def _offer_error(self, exc: BaseException, produced: float) -> None:
        self._calls += 1
        self._errors += 1
        self._push((_ERROR, exc, produced))

    def _push(self, item: tuple[int, Any, float]) -> None:
        try:
            if item[0] == _VALUE:
                self._inbox.put(item)
            else:
                self._inbox.put_barrier(item)
        except RuntimeError:
            log.error(
                "%r: the hub of thread %#x is gone (its bridge is closed): stopped",
                self,
                self._sink.bridge.thread_ident,
            )
            self.stop()

    def run_delivered(self, item: tuple[int, Any, float], merged: int = 0) -> None:
        """Run one delivered item's callback (hub dispatcher greenlet)."""
        state = self._state
        if state in (STOPPED, COLLECTED):
            return
        kind, payload, produced = item
        ref = self._value_ref if kind == _VALUE else self._error_ref
        callback = self._resolve(ref)
        if callback is False:
            self._stop_collected()
            return
        self._callbacks_run += 1
        self._last_latency = native.monotonic() - produced
        if kind == _VALUE:
            if callback is None:
                return
            try:
                callback(payload)
            except Exception:
                log.exception(
                    "poller %d (%s): value_changed_callback %r raised",
                    self._id,
                    self._job.name,
                    callback,
                )
            return
        if callback is None:
            log.error(
                "poller %d: %s raised; polling stopped until restart() "
                "(no error_callback was given)",
                self._id,
                self._job.name,
                exc_info=payload,
            )
            return
        try:
            callback(payload, self._id)
        except Exception:
            log.exception(
                "poller %d (%s): error_callback %r raised",
                self._id,
                self._job.name,
                callback,
            )


def _create(
    polled_call: Callable[..., Any],
    args: tuple[Any, ...],
    period_ms: float,
    value_changed_callback: Callable[[Any], Any] | None,
    error_callback: Callable[[BaseException, int], Any] | None,
    compare: bool,
    delay_ms: float,
    start_value: Any,
    sink: HubSink,
) -> Poller:
    scheduler = _get_scheduler()
    key = _identity(polled_call)
    with _lock:
        now = native.monotonic()
        first_due = now + delay_ms / 1e3
        job = None
        for candidate in _service.jobs.get(key, ()):
            if candidate.ref() == polled_call and values_equal(candidate.args, args):
                job = candidate
                break
        if job is None:
            job = PollJob(args, key, _describe(polled_call, args))
            job.ref, job.weak = callable_ref(polled_call, _make_collected(job))
            job.scheduler = scheduler
            job.period = period_ms / 1e3
            job.phase = scheduler.phase_for(job.period)
            job.anchor = now
            _service.jobs.setdefault(key, []).append(job)
        poller = Poller(
            job,
            period_ms,
            value_changed_callback,
            error_callback,
            compare,
            start_value,
            sink,
        )
        job.subscribers = (*job.subscribers, poller)
        _service.registry[poller._id] = poller
        job._recompute_period(now)
        if not job.in_flight and (job.due is None or first_due < job.due):
            # A new subscriber gets its first value promptly, even from a job
            # already running at a long period.
            job._set_due(first_due)
    return poller


def _make_collected(job: PollJob) -> Callable[[Any], None]:
    def on_collected(_ref: Any) -> None:
        scheduler = job.scheduler
        if scheduler is not None:
            scheduler.call_soon(job.collected)

    return on_collected


def poll(
    polled_call: Callable[..., Any],
    polled_call_args: tuple[Any, ...] | list[Any] = (),
    polling_period: float = 1000,
    value_changed_callback: Callable[[Any], Any] | None = None,
    error_callback: Callable[[BaseException, int], Any] | None = None,
    compare: bool = True,
    start_delay: float = 0,
    start_value: Any = NotInitializedValue,
) -> Poller:
    """Call ``polled_call(*polled_call_args)`` every ``polling_period`` ms.

    The call runs in a real OS thread of a shared, bounded pool (never in the
    hub, never in a greenlet, whatever was monkey-patched), so it must be
    thread-safe and must not wait on gevent objects. Calls of one poller never
    overlap; deadlines are absolute (a call's duration does not shift the next
    one). Call ``poll()`` in the thread whose gevent hub should run the
    callbacks (the GUI thread in mxCuBE); that hub must keep running.

    :param polled_call: the callable. Held weakly (see :class:`Poller`): keep a
        reference to it (a lambda not referenced elsewhere ends at once).
    :param polled_call_args: positional arguments for each call.
    :param polling_period: milliseconds between call deadlines, > 0.
    :param value_changed_callback: ``callback(value)``, run in the caller's hub
        with each new value (or ``None``).
    :param error_callback: ``callback(exception, poller_id)``, run in the
        caller's hub once when a call raises; polling then stays stopped until
        :meth:`Poller.restart` (typically ``get_poller(poller_id).restart(ms)``
        from the callback). Without one, the error is logged with its traceback.
    :param compare: ``True``: deliver a value only when it differs from the
        previous one (a comparison that cannot decide counts as a change);
        ``False``: deliver after every call. The first value is always
        delivered unless it equals ``start_value``.
    :param start_delay: milliseconds before the first call.
    :param start_value: the value the first one is compared with.
    :returns: a new :class:`Poller`. Polling the same callable with equal
        arguments again shares one polled call at the smallest period, but
        returns a separate Poller with its own callbacks and id.
    :raises TypeError: ``polled_call`` or a callback is not callable.
    :raises ValueError: a period that is not positive or a negative delay.
    :raises InvalidThreadUseError: called from a polled call (a pool thread).
    """
    if not callable(polled_call):
        raise TypeError(f"polled_call {polled_call!r} is not callable")
    period_ms = _ms(polling_period, "polling_period")
    if period_ms <= 0:
        raise ValueError(f"polling_period must be > 0 ms, not {period_ms:g}")
    delay_ms = _ms(start_delay, "start_delay")
    if delay_ms < 0:
        raise ValueError(f"start_delay must be >= 0 ms, not {delay_ms:g}")
    if in_pool_thread():
        raise InvalidThreadUseError(
            "poll() called from a polled call: pool threads have no gevent hub "
            "to run callbacks in; call poll() from the thread that owns the "
            "hardware objects"
        )
    for name, callback in (
        ("value_changed_callback", value_changed_callback),
        ("error_callback", error_callback),
    ):
        if callback is not None and not callable(callback):
            raise TypeError(f"{name} {callback!r} is not callable")
    return _create(
        polled_call,
        tuple(polled_call_args),
        period_ms,
        value_changed_callback,
        error_callback,
        compare,
        delay_ms,
        start_value,
        get_sink(),
    )


def get_poller(poller_id: int) -> Poller | None:
    """Return the live poller with this id, or ``None``.

    Live means polling, or failed and waiting for :meth:`Poller.restart`.
    Stopped pollers, and pollers whose polled callable (or a bound-method
    callback's object) was garbage-collected, are forgotten.
    """
    return _service.get_poller(poller_id)


def stop_all() -> int:
    """Stop every live poller (the repository's shutdown; tests).

    :returns: how many were stopped.
    """
    return _service.stop_all()


def shutdown(timeout: float | None = 5.0) -> bool:
    """Stop every poller and end the scheduler and pool threads.

    Safe from any thread except a pool thread. Polling may start again later
    (with new threads). A thread stuck in a polled call cannot be ended: it is
    left behind and logged.

    :param timeout: seconds to wait for the threads (``None``: for ever).
    :returns: whether every thread ended in time.
    :raises InvalidThreadUseError: called from a polled call (a pool thread).
    """
    return _service.shutdown(timeout)


def configure(
    *, max_threads: int | None = None, idle_timeout: float | None = None
) -> None:
    """Change the pool settings at run time (``None`` restores the default).

    :param max_threads: most OS threads running polled calls (default 16, or
        the ``HWR_POLLER_MAX_THREADS`` environment variable). Applies at once
        to growth; extra threads end when idle.
    :param idle_timeout: seconds before an idle pool thread, or the idle
        scheduler thread, ends (default 1.0, or ``HWR_POLLER_IDLE_TIMEOUT``).
    :raises ValueError: a value below 1 thread or 0.01 s.
    """
    _config.configure(max_threads=max_threads, idle_timeout=idle_timeout)


def pool_threads() -> int:
    """Return how many pool and scheduler threads are alive now."""
    return _service.threads()


class PollingService:
    """The state of polling in this process: pollers, jobs and the scheduler.

    One instance (:func:`polling_service`) serves every ``poll()`` call; the
    functions of :mod:`HardwareRepository.Poller` are its mxCuBE façade, and
    the repository holds it and shuts it down with itself. Its methods are
    safe from any thread except a pool thread; ``lock`` (a native re-entrant
    lock) guards every attribute.
    """

    def __init__(self) -> None:
        self.lock = get_original("_thread", "RLock")()
        #: live pollers by id
        self.registry: dict[int, Poller] = {}
        #: jobs by the identity of their polled callable
        self.jobs: dict[tuple[int, ...], list[PollJob]] = {}
        #: the scheduler (and its pool), created on the first ``poll()``
        self.scheduler: Scheduler | None = None
        self.ids = itertools.count(1)

    def get_poller(self, poller_id: int) -> Poller | None:
        """Return the live poller with this id, or ``None`` (see :func:`get_poller`)."""
        with self.lock:
            poller = self.registry.get(poller_id)
        if poller is not None and poller._gone():
            poller._stop_collected()
            return None
        return poller

    def stop_all(self) -> int:
        """Stop every live poller; return how many were stopped."""
        with self.lock:
            pollers = list(self.registry.values())
        for poller in pollers:
            poller.stop()
        return len(pollers)

    def shutdown(self, timeout: float | None = 5.0) -> bool:
        """Stop every poller and end the scheduler and pool threads.

        Polling may start again later (with new threads). A thread stuck in a
        polled call cannot be ended: it is left behind and logged.

        :param timeout: seconds to wait for the threads (``None``: for ever).
        :returns: whether every thread ended in time.
        :raises InvalidThreadUseError: called from a polled call.
        """
        if in_pool_thread():
            raise InvalidThreadUseError("shutdown() called from a polled call")
        self.stop_all()
        with self.lock:
            scheduler, self.scheduler = self.scheduler, None
        if scheduler is None:
            return True
        ok = scheduler.shutdown(timeout)
        if not ok:
            log.warning(
                "poller shutdown: %d polled call(s) still running after %s s; "
                "their threads are left behind",
                scheduler.pool.busy,
                timeout,
            )
        return ok

    def threads(self) -> int:
        """Return how many pool and scheduler threads are alive now."""
        with self.lock:
            scheduler = self.scheduler
        if scheduler is None:
            return 0
        return scheduler.pool.threads + (1 if scheduler.running else 0)


_service = PollingService()
# The service's lock, under the name the classes above use.
_lock = _service.lock


def polling_service() -> PollingService:
    """Return the process's polling service (the repository owns and stops it)."""
    return _service
