"""A periodic task: a target run every ``period`` seconds in a thread or in the hub."""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable
from typing import Any, Literal

from greenlet import getcurrent

from ..bridge import Event, HubBridge, native
from ..errors import BridgeClosedError, Timeout
from ._common import (
    ErrorReporter,
    mono_to_wall,
    owner_bridge,
    spawn_in,
    start_native_thread,
)

__all__ = ["PeriodicTask"]

_numbers = itertools.count(1)

ArgsKwargs = tuple[tuple[Any, ...], dict[str, Any]]


class PeriodicTask:
    """Run ``target`` every ``period`` seconds, on absolute deadlines.

    The task owns one loop, a real OS thread (``where="thread"``) or a greenlet
    of a gevent hub (``where="hub"``). The loop is created by the first
    :meth:`start` (or :meth:`launch`) and lives until :meth:`kill`: :meth:`stop`
    only pauses it, and a later :meth:`start` resumes at once (not at the next
    tick). :meth:`kill` ends the loop whether it is running or paused.

    Deadlines are absolute: cycle *n* is due at ``start + first + n * period``,
    so the time a cycle takes does not shift the next ones. A cycle that ends
    after the next deadline(s) either skips the missed deadlines
    (``catch_up="skip"``, the default) or runs them back to back
    (``catch_up="burst"``).

    The target and every hook run in the loop (the task's thread, or its
    greenlet in the hub); with ``where="hub"`` they must not block the hub.
    They may call :meth:`stop` and :meth:`kill`, which then do not wait.

    All methods are safe from any thread and any greenlet.

    :param target: called as ``target(*args, **kwargs)`` on each cycle.
    :param period: seconds between deadlines (> 0).
    :param where: ``"thread"``: a dedicated real thread (for blocking targets);
        ``"hub"``: a greenlet of the hub of ``bridge`` (default: the creating
        thread's hub), for cooperative targets.
    :param first: seconds from :meth:`start` to the first cycle.
    :param catch_up: ``"skip"`` or ``"burst"``, see above.
    :param on_start: ``on_start(task)`` runs in the loop each time the task
        (re)starts, before its first cycle.
    :param on_cycle: ``on_cycle(task, deadline)`` runs before each cycle with
        the cycle's deadline as a ``time.time()`` timestamp; it may return
        ``(args, kwargs)`` to use for this cycle instead of the fixed ones.
    :param on_stop: ``on_stop(task)`` runs in the loop when it is paused by
        :meth:`stop` or ended by :meth:`kill` after having run.
    :param on_error: ``on_error(task, exc)`` is called when the target (or
        ``on_cycle``) raises; the default logs the first 10 errors with their
        traceback, then one in 100, to ``HardwareRepository.toolkit``.
    :param start: call :meth:`start` at once.
    :param bridge: the hub for ``where="hub"``.
    """

    def __init__(
        self,
        target: Callable[..., Any],
        period: float,
        *,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
        where: Literal["thread", "hub"] = "thread",
        first: float = 0.0,
        catch_up: Literal["skip", "burst"] = "skip",
        name: str | None = None,
        on_start: Callable[[PeriodicTask], Any] | None = None,
        on_cycle: Callable[[PeriodicTask, float], ArgsKwargs | None] | None = None,
        on_stop: Callable[[PeriodicTask], Any] | None = None,
        on_error: Callable[[PeriodicTask, BaseException], Any] | None = None,
        start: bool = False,
        bridge: HubBridge | None = None,
    ) -> None:
        if not callable(target):
            raise TypeError(f"target must be callable, not {target!r}")
        if where not in ("thread", "hub"):
            raise ValueError(f"where must be 'thread' or 'hub', not {where!r}")
        if catch_up not in ("skip", "burst"):
            raise ValueError(f"catch_up must be 'skip' or 'burst', not {catch_up!r}")
        self.name = name or f"PeriodicTask-{next(_numbers)}"
        self.target = target
        self.args = args
        self.kwargs = kwargs or {}
        self.period = period
        self.where = where
        self.first = first
        self.catch_up = catch_up
        self.on_start = on_start
        self.on_cycle = on_cycle
        self.on_stop = on_stop
        self.on_error = on_error
        self._bridge = (
            owner_bridge(bridge, f"PeriodicTask {self.name}")
            if where == "hub"
            else None
        )
        self._reporter = ErrorReporter(f"PeriodicTask {self.name}")

        self._lock = native.allocate_lock()
        # Guarded by _lock:
        self._running = False
        self._killed = False
        self._launched = False
        self._generation = 0
        self._deadline = 0.0  # monotonic
        self._in_cycle = False
        self._started_at = 0.0  # time.time() of the last start, 0 if never

        self._wake = Event()  # set to make the loop re-read its state
        self._cycle_done = Event()  # clear while a cycle runs
        self._cycle_done.set()
        self._finished = Event()
        self._loop_thread: int | None = None
        self._loop_greenlet: Any = None

        # Statistics, written by the loop only.
        self._count = 0
        self._errors = 0
        self._delay = 0.0
        self._acc_delay = 0.0
        self._usage = 0.0
        self._last: float | None = None  # monotonic
        if start:
            self.start()

    def __repr__(self) -> str:
        if self._killed:
            state = "killed"
        elif self._running:
            state = f"running every {self._period} s"
        else:
            state = "stopped"
        return f"<PeriodicTask {self.name} ({self.where}) {state}>"

    # -- configuration ------------------------------------------------------

    @property
    def period(self) -> float:
        """Seconds between deadlines; a change applies from the next deadline."""
        return self._period

    @period.setter
    def period(self, value: float) -> None:
        if not value > 0:
            raise ValueError(f"period must be > 0 s, not {value!r}")
        self._period = float(value)

    # -- lifecycle ----------------------------------------------------------

    def launch(self) -> None:
        """Create the loop, paused, if it does not exist yet.

        :raises BridgeClosedError: the task was killed.
        """
        with self._lock:
            if self._killed:
                raise BridgeClosedError(f"{self!r} was killed; create a new task")
            if self._launched:
                return
            self._launched = True
        if self.where == "thread":
            start_native_thread(self._loop)
        else:
            assert self._bridge is not None  # where="hub" sets it in __init__
            spawn_in(self._bridge, self._loop)

    def start(self) -> None:
        """Start (or resume) the cycles now; the first one runs ``first`` s later.

        Starting a running task does nothing.

        :raises BridgeClosedError: the task was killed.
        """
        with self._lock:
            if self._killed:
                raise BridgeClosedError(f"{self!r} was killed; create a new task")
            if self._running:
                return
            self._running = True
            self._generation += 1
            self._deadline = native.monotonic() + self.first
            self._started_at = time.time()
        self.launch()
        self._wake.set()

    def stop(self, wait: bool = True, timeout: float | None = None) -> None:
        """Pause the task; the loop stays, ready for :meth:`start`.

        :param wait: wait for a cycle in progress to end (not when called from
            the loop itself, where it cannot end first).
        :param timeout: seconds to wait at most.
        :raises Timeout: the cycle in progress did not end in ``timeout``.
        """
        with self._lock:
            self._running = False
        self._wake.set()
        if wait and not self._in_loop() and not self._cycle_done.wait(timeout):
            raise Timeout(f"{self!r}: the cycle in progress did not end in {timeout} s")

    def kill(self, wait: bool = True, timeout: float | None = None) -> None:
        """End the loop for good, whether running or paused.

        A cycle in progress is not interrupted: the loop ends after it.

        :param wait: wait until the loop has ended (not from the loop itself).
        :param timeout: seconds to wait at most.
        :raises Timeout: the loop did not end in ``timeout``.
        """
        with self._lock:
            self._running = False
            already = self._killed
            self._killed = True
            launched = self._launched
        self._wake.set()
        if not launched:
            if not already:
                self._finished.set()
            return
        if wait and not self._in_loop() and not self._finished.wait(timeout):
            raise Timeout(f"{self!r} did not end in {timeout} s")

    close = kill

    def trigger_now(self) -> None:
        """Move the next deadline of a running task to now."""
        with self._lock:
            if not self._running:
                return
            self._deadline = native.monotonic()
        self._wake.set()

    def _in_loop(self) -> bool:
        if self.where == "thread":
            return self._loop_thread == native.get_ident()
        return self._loop_greenlet is getcurrent()

    # -- diagnostics --------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether cycles are scheduled (started and not stopped or killed)."""
        return self._running

    @property
    def alive(self) -> bool:
        """Whether the loop (thread or greenlet) exists and has not ended."""
        return self._launched and not self._finished.is_set()

    def is_alive(self) -> bool:
        """Return :attr:`alive`."""
        return self.alive

    @property
    def started(self) -> float:
        """``time.time()`` of the last :meth:`start`; 0 if never started."""
        return self._started_at

    @property
    def count(self) -> int:
        """Cycles run so far (failed ones included)."""
        return self._count

    @property
    def errors(self) -> int:
        """Cycles whose target raised."""
        return self._errors

    @property
    def delay(self) -> float:
        """Seconds the last cycle started after its deadline."""
        return self._delay

    @property
    def acc_delay(self) -> float:
        """Sum of :attr:`delay` over all cycles, in seconds."""
        return self._acc_delay

    @property
    def avg_delay(self) -> float:
        """Mean :attr:`delay` per cycle, in seconds."""
        return self._acc_delay / (self._count or 1)

    @property
    def usage(self) -> float:
        """Duration of the last cycle divided by the period (1.0 = no idle time)."""
        return self._usage

    @property
    def next(self) -> float | None:
        """``time.time()`` when the next cycle is due; ``None`` when not running."""
        return mono_to_wall(self._deadline) if self._running else None

    @property
    def last(self) -> float | None:
        """``time.time()`` when the last cycle started; ``None`` before the first."""
        return mono_to_wall(self._last)

    # -- the loop -----------------------------------------------------------

    def _loop(self) -> None:
        self._loop_thread = native.get_ident()
        self._loop_greenlet = getcurrent()
        seen_generation = 0
        was_running = False
        try:
            while True:
                with self._lock:
                    self._wake.clear()
                    if self._killed:
                        break
                    running = self._running
                    generation = self._generation
                    deadline = self._deadline
                if not running:
                    if was_running:
                        was_running = False
                        self._call_hook(self.on_stop, "on_stop")
                    self._wake.wait()
                    continue
                if generation != seen_generation:
                    seen_generation = generation
                    was_running = True
                    self._call_hook(self.on_start, "on_start")
                    continue  # the hook may have stopped or killed the task
                now = native.monotonic()
                if now < deadline:
                    self._wake.wait(deadline - now)
                    continue
                with self._lock:
                    if (
                        not self._running
                        or self._killed
                        or self._generation != generation
                        or self._deadline != deadline
                    ):
                        continue
                    self._in_cycle = True
                    self._cycle_done.clear()
                try:
                    self._cycle(deadline, now)
                finally:
                    with self._lock:
                        self._in_cycle = False
                        if (
                            self._generation == generation
                            and self._deadline == deadline
                        ):
                            self._deadline = self._next_deadline(deadline)
                    self._cycle_done.set()
        finally:
            if was_running:
                self._call_hook(self.on_stop, "on_stop")
            self._cycle_done.set()
            self._finished.set()

    def _cycle(self, deadline: float, now: float) -> None:
        self._delay = max(0.0, now - deadline)
        self._acc_delay += self._delay
        self._last = now
        args, kwargs = self.args, self.kwargs
        try:
            if self.on_cycle is not None:
                supplied = self.on_cycle(self, mono_to_wall(deadline))
                if supplied is not None:
                    args, kwargs = supplied
            self.target(*args, **kwargs)
        except Exception as exc:
            self._errors += 1
            self._report(exc)
        finally:
            self._count += 1
            self._usage = (native.monotonic() - now) / self._period

    def _next_deadline(self, deadline: float) -> float:
        following = deadline + self._period
        now = native.monotonic()
        if self.catch_up == "skip" and following <= now:
            missed = math.floor((now - deadline) / self._period)
            following = deadline + (missed + 1) * self._period
        return following

    def _report(self, exc: Exception) -> None:
        if self.on_error is None:
            self._reporter.report(exc, "target failed")
            return
        try:
            self.on_error(self, exc)
        except Exception as hook_exc:
            self._reporter.report(hook_exc, "on_error hook failed")

    def _call_hook(self, hook: Callable[[PeriodicTask], Any] | None, what: str) -> None:
        if hook is None:
            return
        try:
            hook(self)
        except Exception as exc:
            self._reporter.report(exc, f"{what} hook failed")
