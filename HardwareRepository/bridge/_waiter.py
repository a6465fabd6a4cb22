"""One waiting party: a greenlet (cooperative wait) or a plain thread (native wait).

Every blocking primitive of the bridge parks its waiters in ``Waiter`` objects.
The waiter decides at creation how to wait:

* in a greenlet of a thread that has a gevent hub (and is not the hub itself),
  it switches to the hub, so the other greenlets of that hub keep running;
* in a thread without a hub it blocks on a native lock.

:meth:`Waiter.wake` may be called from any thread. Exactly one of "woken" and
"timed out" wins, decided by a native lock used as a one-shot token, so a
primitive handing something to a waiter (a lock's ownership, a queue item)
learns whether the waiter will take it.
"""

from __future__ import annotations

import threading
from typing import Any

from greenlet import getcurrent

from ..errors import BridgeClosedError, InvalidThreadUseError
from . import native
from ._hub import get_bridge, get_hub_if_exists

__all__ = ["Waiter"]

_TIMEOUT_MAX = threading.TIMEOUT_MAX
_WOKEN = object()
_TIMED_OUT = object()


class Waiter:
    """A one-shot rendezvous between one waiting party and any waker.

    Create it in the waiting thread or greenlet, publish it where a waker finds
    it, then call :meth:`wait` once. :meth:`wake` is safe from any thread.
    """

    __slots__ = ("_active", "_bridge", "_greenlet", "_thread_lock", "_token", "payload")

    def __init__(self, payload: Any = None) -> None:
        #: free for the primitive's use (e.g. the waiting greenlet, an item)
        self.payload = payload
        self._token = native.allocate_lock()
        hub = get_hub_if_exists()
        current = getcurrent()
        if hub is None:
            self._bridge = None
            self._greenlet = None
            self._thread_lock = native.allocate_lock()
            self._thread_lock.acquire()
        elif current is hub:
            raise InvalidThreadUseError(
                "cannot block inside the gevent hub (a loop callback); "
                "spawn a greenlet to wait"
            )
        else:
            self._bridge = get_bridge()
            self._greenlet = current
            self._thread_lock = None
        self._active = False

    def wake(self) -> bool:
        """Wake the waiter; safe from any thread.

        :returns: ``True`` if the waiter will see the wake-up, ``False`` if it has
            already timed out (or was cancelled) and will not.
        """
        if not self._token.acquire(False):
            return False
        if self._thread_lock is not None:
            self._thread_lock.release()
            return True
        bridge = self._bridge
        assert bridge is not None  # a waiter has a native lock or a bridge
        if bridge.in_hub_thread():
            self._schedule_switch()
            return True
        try:
            bridge.post(self._schedule_switch)
        except BridgeClosedError:
            return False  # its thread has ended: nobody is left to take it
        return True

    def _schedule_switch(self) -> None:
        # Runs in the waiter's hub. The switch itself is a loop callback, never
        # run inside the bridge's drain, so one resumed greenlet cannot hold
        # back the rest of a batch.
        assert self._bridge is not None  # scheduled by wake() for a greenlet
        self._bridge.hub.loop.run_callback(self._switch, _WOKEN)

    def cancel(self) -> bool:
        """Take the token so no later :meth:`wake` succeeds.

        :returns: ``True`` if cancelled, ``False`` if a wake already won.
        """
        return self._token.acquire(False)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until woken or until ``timeout`` seconds pass.

        :returns: ``True`` if woken, ``False`` on timeout.
        """
        if self._thread_lock is not None:
            wait_for = -1 if timeout is None else min(max(timeout, 0.0), _TIMEOUT_MAX)
            if self._thread_lock.acquire(True, wait_for):
                return True
            if self._token.acquire(False):
                return False
            # A wake won the race with the timeout; its release is imminent.
            self._thread_lock.acquire()
            return True
        return self._wait_greenlet(timeout)

    def _wait_greenlet(self, timeout: float | None) -> bool:
        bridge = self._bridge
        assert bridge is not None  # wait() checked that this is not native
        hub = bridge.hub
        timer = None
        if timeout is not None:
            # The loop's clock is cached: after the thread was blocked (a long
            # synchronous call), a timer started from it would be due at once.
            hub.loop.update_now()
            timer = hub.loop.timer(max(timeout, 0.0))
            timer.start(self._on_timeout)
        self._active = True
        bridge.keepalive(+1)
        try:
            result = hub.switch()
        finally:
            self._active = False
            bridge.keepalive(-1)
            if timer is not None:
                timer.stop()
                timer.close()
        if result is _WOKEN:
            return True
        if result is _TIMED_OUT:
            return False
        # Resumed by a switch we did not make: whoever holds the token decides.
        return not self.cancel()

    def _on_timeout(self) -> None:
        if self._token.acquire(False):
            self._switch(_TIMED_OUT)

    def _switch(self, value: object) -> None:
        # Runs in the hub. A waiter killed while waiting is no longer active:
        # resuming it now would jump into whatever it does next.
        if self._active:
            assert self._greenlet is not None  # active: a greenlet is waiting
            self._greenlet.switch(value)
