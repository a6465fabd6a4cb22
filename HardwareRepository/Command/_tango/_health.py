"""Liveness of a Tango device, checked by pinging it, independent of events.

Change events say nothing when a server dies or freezes: cppTango notices a
dead server only when its 10 s heartbeat is missed, and a frozen (SIGSTOPped)
server only when it resumes. A polled channel notices only when its read
times out (10 s by default). So each device gets a :class:`DeviceHealth`: one
native thread that pings the device every :data:`PING_PERIOD` seconds through
a proxy of its own, with a short Tango timeout (:data:`PING_TIMEOUT_MS`) that
never touches the timeout of the proxy that runs commands and reads.

Verdicts:

* a ping that fails (refused connection, Tango error) -> *down* at once;
* a ping still unanswered after :data:`PING_LATE` seconds -> *down*, decided
  by one process-wide watchdog thread (the pinging thread is blocked in the
  call: a frozen server makes cppTango retry the connection for 3-4 s whatever
  the proxy's timeout);
* a ping that succeeds -> *up*.

A dead device is thus reported within about :data:`PING_PERIOD` s and a frozen
one within ``PING_PERIOD + PING_LATE + WATCHDOG_TICK`` (about 1.4 s); a
restarted one within ``PING_PERIOD`` s of answering again, plus cppTango's own
rule that a proxy reconnects at most once a second. Ping (``DeviceProxy.ping``)
is answered by the server's ORB, outside the device's lock, so a long command
running on the device does not make it look dead.

Listeners are called in the pinging thread or the watchdog thread, never in a
hub: they must only hand the verdict over (``bridge.post``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import tango

from ...bridge import native
from ._errors import translate

__all__ = [
    "PING_LATE",
    "PING_PERIOD",
    "PING_TIMEOUT_MS",
    "WATCHDOG_TICK",
    "DeviceHealth",
]

log = logging.getLogger("HardwareRepository.Command.Tango")

#: seconds between two pings of a device (from the end of one to the next)
PING_PERIOD = 0.5
#: seconds a ping may stay unanswered before the device counts as down
PING_LATE = 0.8
#: ms; Tango's own timeout on the health proxy (separate from the long
#: timeouts of the proxy that runs commands, reads and writes)
PING_TIMEOUT_MS = 800
#: seconds between two scans of the watchdog thread
WATCHDOG_TICK = 0.1

#: ``listener(alive, why)``; ``why`` says what the verdict rests on
Listener = Callable[[bool, str], None]


class DeviceHealth:
    """Ping one Tango device in a thread of its own; tell listeners up/down.

    Safe from any thread. :meth:`start` starts the thread; :meth:`close` ends
    it (without waiting: a ping in flight ends within cppTango's reconnection
    time, a few seconds for a frozen server).

    :param device: the device name as configured.
    :param on_ended: called in the pinging thread once it has ended.
    """

    def __init__(self, device: str, on_ended: Callable[[], None] | None = None) -> None:
        self.device = device
        self._on_ended = on_ended
        self._lock = native.allocate_lock()
        # All below guarded by _lock.
        self._listeners: dict[int, Listener] = {}
        self._next_token = 0
        self._alive: bool | None = None
        self._why = "not checked yet"
        self._ping_started: float | None = None
        self._closed = False
        self._started = False
        # Released by close() to cut the pause between pings short.
        self._wake = native.allocate_lock()
        self._wake.acquire()
        #: how many pings were made (for diagnostics)
        self.pings = 0

    def __repr__(self) -> str:
        return f"<DeviceHealth {self.device} alive={self._alive}>"

    @property
    def alive(self) -> bool | None:
        """``True`` (answers), ``False`` (dead or frozen), ``None`` (not known yet)."""
        return self._alive

    @property
    def pinging(self) -> bool:
        """Whether a ping is in flight now."""
        return self._ping_started is not None

    @property
    def why(self) -> str:
        """What the current verdict rests on (for messages)."""
        return self._why

    def watch(self, listener: Listener) -> int:
        """Call ``listener(alive, why)`` at each change of verdict.

        The current verdict, if known, is *not* replayed: read :attr:`alive`.

        :returns: a token for :meth:`unwatch`.
        """
        with self._lock:
            self._next_token += 1
            self._listeners[self._next_token] = listener
            return self._next_token

    def unwatch(self, token: int) -> None:
        """Stop calling the listener registered under ``token``."""
        with self._lock:
            self._listeners.pop(token, None)

    def start(self) -> None:
        """Start pinging (once; later calls do nothing)."""
        with self._lock:
            if self._started or self._closed:
                return
            self._started = True
        native.start_new_thread(self._run, ())
        _WATCHDOG.add(self)

    def close(self) -> None:
        """Stop pinging; the thread ends after the ping in flight, if any."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            started = self._started
            self._listeners.clear()
        _WATCHDOG.remove(self)
        if started:
            self._wake.release()
        elif self._on_ended is not None:
            self._on_ended()

    # -- pinging thread -------------------------------------------------------------
    def _run(self) -> None:
        try:
            with tango.EnsureOmniThread():
                proxy: tango.DeviceProxy | None = None
                while not self._closed:
                    with self._lock:
                        self._ping_started = native.monotonic()
                    try:
                        if proxy is None:
                            proxy = tango.DeviceProxy(
                                self.device, green_mode=tango.GreenMode.Synchronous
                            )
                            proxy.set_timeout_millis(PING_TIMEOUT_MS)
                        proxy.ping()
                    except Exception as exc:
                        error = translate(exc, self.device, "ping")
                        self._set(False, str(error))
                    else:
                        self._set(True, "answers pings")
                    finally:
                        with self._lock:
                            self._ping_started = None
                        self.pings += 1
                    if self._wake.acquire(True, PING_PERIOD):
                        break
                del proxy
        finally:
            if self._on_ended is not None:
                self._on_ended()

    # -- watchdog thread ------------------------------------------------------------
    def check_late(self, now: float) -> None:
        """Declare the device down if a ping has been in flight too long.

        Called by the watchdog thread every :data:`WATCHDOG_TICK` s.

        :param now: the watchdog's ``monotonic()`` time.
        """
        with self._lock:
            started = self._ping_started
        if started is not None and now - started > PING_LATE:
            self._set(
                False,
                f"{self.device}: no answer to a ping within {PING_LATE:g} s "
                "(server frozen or overloaded)",
            )

    def _set(self, alive: bool, why: str) -> None:
        with self._lock:
            if self._closed:
                return
            changed = alive is not self._alive
            self._alive = alive
            self._why = why
            listeners = list(self._listeners.values()) if changed else []
        for listener in listeners:
            try:
                listener(alive, why)
            except Exception:
                log.exception("%s: a health listener failed", self.device)


class _Watchdog:
    """One thread for the process: marks devices whose ping hangs as down.

    Runs while at least one :class:`DeviceHealth` is started; ends by itself
    (within :data:`WATCHDOG_TICK` s) when the last one is closed.
    """

    def __init__(self) -> None:
        self._lock = native.allocate_lock()
        self._healths: set[DeviceHealth] = set()  # guarded by _lock
        self._running = False  # guarded by _lock

    def add(self, health: DeviceHealth) -> None:
        with self._lock:
            self._healths.add(health)
            if self._running:
                return
            self._running = True
        native.start_new_thread(self._run, ())

    def remove(self, health: DeviceHealth) -> None:
        with self._lock:
            self._healths.discard(health)

    def _run(self) -> None:
        tick = native.allocate_lock()
        tick.acquire()
        while True:
            tick.acquire(True, WATCHDOG_TICK)
            with self._lock:
                if not self._healths:
                    self._running = False
                    return
                healths = list(self._healths)
            now = native.monotonic()
            for health in healths:
                health.check_late(now)


_WATCHDOG = _Watchdog()
