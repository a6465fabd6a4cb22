"""A one-shot or retriggering timer whose callback runs in a gevent hub."""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Callable
from typing import Any

from ..bridge import Event, HubBridge, native
from ._common import owner_bridge, spawn_in

__all__ = ["Timer"]

log = logging.getLogger("HardwareRepository.toolkit")
_numbers = itertools.count(1)
_KEEP: Any = object()


class Timer:
    """Call ``callback(*args)`` after ``delay`` seconds, once or repeatedly.

    The callback runs in a greenlet of the hub of ``bridge`` (default: the hub
    of the thread creating the timer), so it may wait cooperatively; the next
    firing of a retriggering timer waits for it to return. Retriggering uses
    absolute deadlines (``armed + n * delay``); deadlines missed while the
    callback ran are skipped. An exception from the callback is logged with
    its traceback and does not stop a retriggering timer.

    The timer owns a greenlet only while armed: a fired one-shot timer, a
    suspended or a cancelled one holds no greenlet.

    All methods are safe from any thread and any greenlet.

    .. important:: After :meth:`cancel` returns, :attr:`fired` no longer
       increases: no firing begins. A callback that had already begun (in the
       hub, while another thread called :meth:`cancel`) finishes normally.

    :param delay: seconds until the first firing; ``None`` creates the timer
        suspended (arm it with :meth:`reset`).
    :param callback: what to call; in the hub's thread.
    :param retrigger: fire every ``delay`` seconds until cancelled.
    :param bridge: the hub to run in.
    """

    def __init__(
        self,
        delay: float | None,
        callback: Callable[..., Any],
        *,
        retrigger: bool = False,
        args: tuple[Any, ...] = (),
        name: str | None = None,
        bridge: HubBridge | None = None,
    ) -> None:
        if not callable(callback):
            raise TypeError(f"callback must be callable, not {callback!r}")
        self.name = name or f"Timer-{next(_numbers)}"
        self.callback = callback
        self.args = args
        self._bridge = owner_bridge(bridge, f"Timer {self.name}")
        self._lock = native.allocate_lock()
        # Guarded by _lock:
        self._delay = self._check(delay)
        self._retrigger = retrigger
        self._deadline: float | None = None  # monotonic
        self._generation = 0
        self._cancelled = False
        self._runner = False
        self._fired = 0
        self._wake = Event()
        if delay is not None:
            self.reset()

    def __repr__(self) -> str:
        if self._cancelled:
            state = "cancelled"
        elif self._deadline is None:
            state = "idle"
        else:
            state = f"armed, {'every' if self._retrigger else 'in'} {self._delay} s"
        return f"<Timer {self.name} {state}, fired {self._fired}>"

    @staticmethod
    def _check(delay: float | None) -> float | None:
        if delay is not None and delay < 0:
            raise ValueError(f"delay must be >= 0 s or None, not {delay!r}")
        return delay

    @property
    def fired(self) -> int:
        """How many times the callback has been started."""
        return self._fired

    @property
    def armed(self) -> bool:
        """Whether a firing is scheduled."""
        return self._deadline is not None

    @property
    def cancelled(self) -> bool:
        """Whether :meth:`cancel` was called."""
        return self._cancelled

    def cancel(self) -> None:
        """Disarm the timer for good; no firing begins after this returns.

        Idempotent.
        """
        with self._lock:
            self._cancelled = True
            self._deadline = None
            self._generation += 1
        self._wake.set()

    def reset(self, delay: float | None = _KEEP, retrigger: bool | None = None) -> None:
        """Re-arm the timer to fire ``delay`` seconds from now.

        :param delay: new delay; omitted keeps the current one; ``None``
            suspends the timer until the next :meth:`reset`.
        :param retrigger: change whether it retriggers; ``None`` keeps it.
        :raises RuntimeError: the timer was cancelled.
        """
        with self._lock:
            if self._cancelled:
                raise RuntimeError(f"{self!r} was cancelled and cannot be reset")
            if delay is not _KEEP:
                self._delay = self._check(delay)
            if retrigger is not None:
                self._retrigger = retrigger
            self._generation += 1
            if self._delay is None:
                self._deadline = None
            else:
                self._deadline = native.monotonic() + self._delay
            spawn = self._deadline is not None and not self._runner
            if spawn:
                self._runner = True
        if spawn:
            spawn_in(self._bridge, self._run)
        else:
            self._wake.set()

    def _run(self) -> None:
        while True:
            with self._lock:
                self._wake.clear()
                if self._deadline is None:
                    self._runner = False
                    return
                deadline = self._deadline
                generation = self._generation
            now = native.monotonic()
            if now < deadline:
                self._wake.wait(deadline - now)
                continue
            with self._lock:
                if self._generation != generation:
                    continue
                self._fired += 1
                if self._retrigger and self._delay is not None:
                    self._deadline = self._following(deadline, now)
                else:
                    self._deadline = None
            try:
                self.callback(*self.args)
            except Exception:
                log.exception("%r: callback %r failed", self, self.callback)

    def _following(self, deadline: float, now: float) -> float:
        delay = self._delay
        if not delay:
            return now
        missed = math.floor((now - deadline) / delay)
        return deadline + (missed + 1) * delay
