"""A listener and a consumer of events with a state machine: :class:`Subscriber`.

The listener runs in a greenlet of the thread that creates the subscriber (the
thread owning the hardware objects): it subscribes to the event sources and
puts what they send on a queue. The consumer takes the events off the queue,
either in another greenlet of the same thread (*concurrent* mode) or in a real
thread with its own hub (*parallel* mode), so that slow work that releases the
GIL (HDF5 writes) runs beside event reception.

States (:class:`SubscriberState`)::

    INIT --start()--> ON --stop()--> OFF
                       |--kill()--> FAULT
                       '--consumer raised--> FAULT (reason set)

OFF and FAULT are final. Everything here is built on
:mod:`HardwareRepository.bridge` (``Queue``, ``Thread``, ``Launcher``,
``Event``).
"""

from __future__ import annotations

import enum
import logging
import time
from typing import Any, Literal

import gevent

from ..bridge import Empty, Event, Launcher, Lock, Queue, Thread
from ..errors import HardwareRepositoryError, Timeout

__all__ = ["Subscriber", "SubscriberError", "SubscriberState"]

log = logging.getLogger("HardwareRepository.recording")

#: events handed to :meth:`Subscriber._consume` at most at once (the
#: concurrent consumer yields to the other greenlets between two batches)
_BATCH = 200
#: seconds the consumer lets events gather after a batch that did not fill up
_LINGER = 0.01
#: seconds the consumer waits for the listener to unsubscribe before finishing
_UNSUBSCRIBE_TIMEOUT = 10.0

Mode = Literal["concurrent", "parallel"]


class SubscriberState(enum.Enum):
    """The states of a :class:`Subscriber`."""

    INIT = "INIT"
    ON = "ON"
    OFF = "OFF"
    FAULT = "FAULT"


class SubscriberError(HardwareRepositoryError):
    """A subscriber could not start; the message holds the reason."""


class _End:
    """Queued by the listener after its last event: the consumer drains up to it."""


_END = _End()


class Subscriber:
    """Receive events in the owning thread and consume them in order.

    Subclasses implement the hooks; the base class runs them:

    * :meth:`_prepare` (consumer side, once, before any event): open files.
      An exception makes :meth:`start` fail (state FAULT).
    * :meth:`_subscribe` (owning thread, listener greenlet): connect to the
      event sources, which call :meth:`_receive` for each event.
    * :meth:`_consume` (consumer side): handle a list of events, in the order
      they were received. An exception puts the subscriber in FAULT with the
      reason; it stops cleanly (the listener unsubscribes, :meth:`_finish`
      runs).
    * :meth:`_tick` (consumer side): called at least every ``tick`` seconds
      while the subscriber runs, events or not (periodic flushes).
    * :meth:`_unsubscribe` (owning thread): disconnect from the sources.
    * :meth:`_finish` (consumer side, always, after a successful :meth:`_prepare`):
      close files; gets the final state and reason.

    Overflow policy: the queue holds at most ``maxsize`` events. When it is
    full, :meth:`_receive` drops the *new* event, counts it (``info()["dropped"]``)
    and returns ``False``; it never waits, so neither the hub nor a
    control-system thread is ever slowed down by a slow consumer. Events
    already queued are kept, in order.

    ``start``, ``stop`` and ``kill`` are called in the owning thread (the
    thread that created the subscriber). ``state``, ``reason``, ``info``,
    ``done``, ``duration`` and ``join`` are safe from any thread (``join``
    waits cooperatively in a greenlet, natively in a plain thread).

    Args:
        mode: ``"concurrent"`` (consumer greenlet in the owning thread) or
            ``"parallel"`` (consumer in a :class:`~HardwareRepository.bridge.Thread`).
        maxsize: the queue bound, in events (``> 0``).
        tick: seconds between :meth:`_tick` calls at most.
        name: shown in ``repr``, log messages and the consumer thread's name.

    Raises:
        ValueError: an unknown mode, or a bound or tick that is not positive.
    """

    def __init__(
        self,
        *,
        mode: Mode = "concurrent",
        maxsize: int = 1_000_000,
        tick: float = 0.5,
        name: str | None = None,
    ) -> None:
        if mode not in ("concurrent", "parallel"):
            raise ValueError(
                f"subscriber mode must be 'concurrent' or 'parallel', not {mode!r}"
            )
        if maxsize <= 0:
            raise ValueError(f"subscriber queue bound must be > 0, not {maxsize!r}")
        if tick <= 0:
            raise ValueError(f"subscriber tick must be > 0 s, not {tick!r}")
        self.mode: Mode = mode
        self.maxsize = maxsize
        self.tick = tick
        self.name = name or type(self).__name__
        # The queue itself is unbounded: the bound is applied in _receive, so
        # the end marker always fits.
        self._queue: Queue[Any] = Queue()
        self._launcher = Launcher()
        self._thread: Thread | None = None
        self._state_lock = Lock()
        self._state = SubscriberState.INIT  # changed under _state_lock
        self._reason = ""
        self._settled = Event()  # ON reached, or the subscriber ended
        self._started_at: float | None = None
        self._ended_at: float | None = None
        # counters: _received and _dropped in the owning thread only,
        # _consumed in the consumer only
        self._received = 0
        self._dropped = 0
        self._consumed = 0
        self._stop_requested = Event()
        self._kill_requested = False
        self._prepared = Event()  # _prepare finished (or failed)
        self._listener_done = Event()
        self._consumer_done = Event()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {self._state.name} {self.mode}>"

    # -- state -------------------------------------------------------------
    @property
    def state(self) -> SubscriberState:
        """The current state."""
        return self._state

    @property
    def reason(self) -> str:
        """Why the subscriber is in FAULT (``""`` otherwise)."""
        return self._reason

    def info(self) -> dict[str, Any]:
        """Return a snapshot of the state and counters.

        Keys: ``name``, ``mode``, ``state`` (name), ``reason``, ``received``
        (events accepted on the queue), ``dropped`` (events refused because
        the queue was full), ``consumed`` (events handed to the consumer),
        ``queued`` (events waiting now), ``maxsize``, ``duration`` (seconds).
        """
        return {
            "name": self.name,
            "mode": self.mode,
            "state": self._state.name,
            "reason": self._reason,
            "received": self._received,
            "dropped": self._dropped,
            "consumed": self._consumed,
            "queued": self._queue.qsize(),
            "maxsize": self.maxsize,
            "duration": self.duration(),
        }

    def done(self) -> bool:
        """Return whether the subscriber has ended (OFF or FAULT, all cleaned up)."""
        return self._listener_done.is_set() and self._consumer_done.is_set()

    def duration(self) -> float:
        """Return the seconds since :meth:`start` (to the end once ended; 0 before)."""
        if self._started_at is None:
            return 0.0
        end = self._ended_at if self._ended_at is not None else time.monotonic()
        return end - self._started_at

    # -- control -------------------------------------------------------------
    def start(self, wait: bool = False, timeout: float | None = None) -> None:
        """Start listening and consuming: INIT -> ON.

        Args:
            wait: return only once the subscriber is ON (subscribed and ready
                to consume), or raise if it could not get there.
            timeout: seconds to wait with ``wait``.

        Raises:
            RuntimeError: the subscriber was already started.
            SubscriberError: with ``wait``, the consumer's preparation failed
                (the subscriber is in FAULT; the message is the reason).
            Timeout: with ``wait``, it was not ON within ``timeout``.
        """
        if self._started_at is not None or self._state is not SubscriberState.INIT:
            raise RuntimeError(f"{self!r} was already started")
        self._started_at = time.monotonic()
        self._launcher.apply_async(self._run_listener)
        if self.mode == "parallel":
            self._thread = Thread(self._run_consumer, name=f"{self.name}-consumer")
            self._thread.start(wait=False)
        else:
            self._launcher.apply_async(self._run_consumer)
        if wait:
            self._wait_started(timeout)

    def _wait_started(self, timeout: float | None) -> None:
        if not self._settled.wait(timeout):
            raise Timeout(f"{self!r} did not start within {timeout} s")
        if self._state is SubscriberState.FAULT:
            raise SubscriberError(f"{self.name} could not start: {self._reason}")

    def stop(self, wait: bool = False, timeout: float | None = None) -> None:
        """Stop listening, consume everything received, then end: ON -> OFF.

        A stop before :meth:`start` ends the subscriber at once (OFF). A stop
        after the end does nothing.

        Args:
            wait: wait until the subscriber has ended (see :meth:`join`).
            timeout: seconds to wait with ``wait``.

        Raises:
            Timeout: with ``wait``, it did not end within ``timeout``.
        """
        if self._started_at is None:
            self._end_unstarted(SubscriberState.OFF, "")
            return
        self._stop_requested.send()
        if wait:
            self.join(timeout)

    def kill(self, wait: bool = False, timeout: float | None = None) -> None:
        """Stop at once, dropping what is queued: ON -> FAULT.

        The listener unsubscribes; the consumer ends after the batch it is
        handling, without taking more events, and :meth:`_finish` still runs
        (files are closed). A kill after the end does nothing.

        Args:
            wait: wait until the subscriber has ended (see :meth:`join`).
            timeout: seconds to wait with ``wait``.

        Raises:
            Timeout: with ``wait``, it did not end within ``timeout``.
        """
        if self.done():
            return
        if self._started_at is None:
            self._end_unstarted(SubscriberState.FAULT, "killed")
            return
        if not self._reason:
            self._reason = "killed"
        self._kill_requested = True
        self._stop_requested.send()
        self._queue.put(_END)  # wakes a consumer waiting for events
        if wait:
            self.join(timeout)

    def _end_unstarted(self, state: SubscriberState, reason: str) -> None:
        with self._state_lock:
            if self._state is not SubscriberState.INIT:
                return
            self._state, self._reason = state, reason
        self._listener_done.send()
        self._consumer_done.send()
        self._settled.send()

    def join(self, timeout: float | None = None) -> None:
        """Wait until the subscriber has ended (OFF or FAULT).

        Raises:
            RuntimeError: the subscriber was never started nor stopped.
            Timeout: it did not end within ``timeout`` seconds.
        """
        if self._state is SubscriberState.INIT and self._started_at is None:
            raise RuntimeError(f"cannot join {self!r}: it was never started")
        deadline = None if timeout is None else time.monotonic() + timeout
        for event in (self._listener_done, self._consumer_done):
            remaining = (
                None if deadline is None else max(0.0, deadline - time.monotonic())
            )
            if not event.wait(remaining):
                raise Timeout(f"{self!r} did not end within {timeout} s")
        if self._thread is not None:
            remaining = (
                None if deadline is None else max(0.0, deadline - time.monotonic())
            )
            self._thread.join(remaining)

    # -- the listener (owning thread) -----------------------------------------
    def _run_listener(self) -> None:
        subscribed = False
        try:
            self._prepared.wait()
            if (
                self._state is SubscriberState.INIT
                and not self._stop_requested.is_set()
            ):
                subscribed = True
                self._subscribe()
                with self._state_lock:
                    if self._state is SubscriberState.INIT:
                        self._state = SubscriberState.ON
                self._settled.send()
                self._stop_requested.wait()
        except Exception as exc:
            log.exception("%s: subscribing failed", self.name)
            self._fault(f"subscribing failed: {_describe(exc)}")
            self._kill_requested = True
        finally:
            if subscribed:
                try:
                    self._unsubscribe()
                except Exception:
                    log.exception("%s: unsubscribing failed", self.name)
            self._queue.put(_END)
            self._listener_done.send()

    def _receive(self, event: Any, *, droppable: bool = True) -> bool:
        """Queue ``event`` for the consumer; owning thread, never waits.

        Args:
            event: anything :meth:`_consume` understands.
            droppable: ``False`` for the rare events that must never be lost
                (a connection change): they are queued even when the queue
                is full.

        Returns:
            Whether the event was queued (``False``: the queue was full and
            the event was dropped and counted, or the subscriber is stopping).
        """
        if self._stop_requested.is_set():
            return False
        if droppable and self._queue.qsize() >= self.maxsize:
            self._dropped += 1
            return False
        self._received += 1
        self._queue.put(event)
        return True

    # -- the consumer (a greenlet, or a Thread) ---------------------------------
    def _run_consumer(self) -> None:
        try:
            self._prepare()
        except Exception as exc:
            log.exception("%s: preparing failed", self.name)
            self._fault(_describe(exc))
            self._stop_requested.send()
            self._prepared.send()
            self._end()
            return
        self._prepared.send()
        try:
            self._consume_until_end()
        except Exception as exc:
            log.exception("%s: consuming events failed", self.name)
            self._fault(_describe(exc))
        finally:
            self._stop_requested.send()
            # Unsubscribed before finishing: nothing arrives after the end.
            if not self._listener_done.wait(_UNSUBSCRIBE_TIMEOUT):
                log.error("%s: the listener did not unsubscribe in time", self.name)
            try:
                self._finish(self._final_state(), self._reason)
            except Exception as exc:
                log.exception("%s: finishing failed", self.name)
                self._fault(f"finishing failed: {_describe(exc)}")
            self._end()

    def _consume_until_end(self) -> None:
        next_tick = time.monotonic() + self.tick
        while not self._kill_requested:
            batch, ended = self._next_batch(max(0.0, next_tick - time.monotonic()))
            if self._kill_requested:
                return
            if batch:
                self._consume(batch)
                self._consumed += len(batch)
            if time.monotonic() >= next_tick:
                self._tick()
                next_tick = time.monotonic() + self.tick
            if ended:
                return
            if len(batch) < _BATCH:
                # Let events gather: one wake-up per batch, not per event.
                gevent.sleep(_LINGER)
            elif self.mode == "concurrent":
                gevent.sleep(0)  # let the owning thread's other greenlets run

    def _next_batch(self, timeout: float) -> tuple[list[Any], bool]:
        try:
            first = self._queue.get(timeout=timeout)
        except Timeout:
            return [], False
        batch: list[Any] = []
        item = first
        while True:
            if item is _END:
                return batch, True
            batch.append(item)
            if len(batch) >= _BATCH:
                return batch, False
            try:
                item = self._queue.get_nowait()
            except Empty:
                return batch, False

    def _final_state(self) -> SubscriberState:
        if self._state is SubscriberState.FAULT or self._kill_requested:
            return SubscriberState.FAULT
        return SubscriberState.OFF

    def _fault(self, reason: str) -> None:
        with self._state_lock:
            if self._state is not SubscriberState.FAULT:
                self._state = SubscriberState.FAULT
                self._reason = reason

    def _end(self) -> None:
        # The consumer ends last (the listener has queued its end marker or
        # is about to unsubscribe): the final state is set here, once.
        with self._state_lock:
            if self._final_state() is SubscriberState.FAULT:
                self._state = SubscriberState.FAULT
                self._reason = self._reason or "killed"
            else:
                self._state = SubscriberState.OFF
        self._ended_at = time.monotonic()
        self._consumer_done.send()
        self._settled.send()

    # -- hooks ---------------------------------------------------------------
    def _prepare(self) -> None:
        """Get ready to consume (consumer side); raise to refuse to start."""

    def _subscribe(self) -> None:
        """Connect to the event sources (owning thread); they call :meth:`_receive`."""

    def _unsubscribe(self) -> None:
        """Disconnect from the event sources (owning thread)."""

    def _consume(self, events: list[Any]) -> None:
        """Handle ``events``, oldest first (consumer side); raise to FAULT."""

    def _tick(self) -> None:
        """Periodic work (consumer side), at least every ``tick`` seconds."""

    def _finish(self, state: SubscriberState, reason: str) -> None:
        """Release resources (consumer side); ``state`` is the final state."""


def _describe(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())
