"""Tango event callbacks, moved from Tango's threads into the subscriber's hub.

A :class:`EventForwarder` is what the green proxy hands to Tango in place of
the user's callback. Tango calls its :meth:`~EventForwarder.push_event` in its
own threads; the event is appended to a deque and, once per batch, one call is
posted to the subscriber's hub through the bridge. One greenlet then runs the
user's callback for every queued event, in arrival order, and lingers a moment
for more. Nothing is created per event: no watcher, no greenlet, no lock.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from typing import Any

import gevent

from ..bridge import HubTrigger
from ..errors import BridgeClosedError

__all__ = ["EventForwarder"]

log = logging.getLogger("HardwareRepository.tango")

#: seconds the delivering greenlet waits for more events after a batch
PAUSE = 0.002
#: the wait after a batch of at least :data:`BURST` events: while Tango streams,
#: fewer wake-ups of the hub mean fewer GIL hand-overs with Tango's thread (in
#: the benchmark 20 ms gave ~20 % more events/s than 10 ms; an event of a burst
#: waits at most this long)
BURST_PAUSE = 0.020
BURST = 100


class EventForwarder:
    """Run a subscriber's event callback in the hub of the subscribing thread.

    Create it in the subscribing thread, which must have a gevent hub.
    :meth:`push_event` is safe from any thread and never blocks: it appends and,
    for the first event of a batch, posts once to the hub bridge.

    The callback runs in a greenlet of that hub, one event at a time, in the
    order Tango delivered them; it may wait cooperatively (later events wait
    for it). An exception it raises is logged with its traceback
    (``HardwareRepository.tango``) and delivery goes on with the next event.
    After :meth:`close` no further call of the callback begins.

    Args:
        callback: a callable taking the ``tango.EventData`` (or the event
            object of the subscribed type), or an object with ``push_event``.
        label: names the subscription in log messages
            (``"<device>: <attribute> <event type>"``).

    Raises:
        TypeError: ``callback`` is neither callable nor has ``push_event``.
    """

    def __init__(self, callback: Any, label: str) -> None:
        handler = getattr(callback, "push_event", None)
        self._callback: Callable[[Any], Any] = (
            handler if callable(handler) else callback
        )
        if not callable(self._callback):
            raise TypeError(
                f"{label}: the event callback {callback!r} is neither callable "
                "nor has a push_event method"
            )
        self.label = label
        self._events: deque[Any] = deque()
        self._trigger = HubTrigger(self._deliver)
        self._closed = False
        # True from the post that wakes the hub until the delivering greenlet
        # finds the deque empty; both sides write it (see _deliver).
        self._waking = False
        #: events received from Tango so far (for diagnostics)
        self.received = 0
        #: events handed to the callback so far (hub thread)
        self.delivered = 0

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{len(self._events)} queued"
        return f"<EventForwarder {self.label} {state}>"

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def push_event(self, event: Any) -> None:
        """Queue one event for the callback; called by Tango in its threads."""
        if self._closed:
            return
        self._events.append(event)
        self.received += 1
        if self._waking:
            return
        self._waking = True
        try:
            self._trigger.send()
        except BridgeClosedError:
            # The subscribing thread's hub is gone: nobody will deliver these.
            self._closed = True
            self._events.clear()

    def _deliver(self) -> None:
        # Producers post only while _waking is false. It is cleared only once
        # the deque is empty, and the deque is looked at again afterwards: an
        # event appended in between is either seen here or was followed by a
        # post, so none is left behind.
        events = self._events
        while not self._closed:
            batch = self._run_batch()
            gevent.sleep(BURST_PAUSE if batch >= BURST else PAUSE)
            if events:
                continue
            self._waking = False
            if not events or self._closed:
                break
            self._waking = True
        if self._closed:
            events.clear()

    def _run_batch(self) -> int:
        # Its own frame, so that no reference to the callback outlives the
        # batch (the greenlet lingers between batches).
        events = self._events
        callback = self._callback
        batch = 0
        while events and not self._closed:
            event = events.popleft()
            batch += 1
            try:
                callback(event)
            except Exception:
                log.exception("%s: event callback %r failed", self.label, callback)
        self.delivered += batch
        return batch

    def close(self) -> None:
        """Drop queued and later events; safe from any thread.

        Called in the subscribing thread, no call of the callback begins after
        it returns; from another thread one already being started may still run.
        """
        self._closed = True
        self._trigger.close()
        self._events.clear()
        # PyTango keeps an unsubscribed callback object for a minute (pytango
        # #185): let the subscriber's callback go now.
        self._callback = _ignore


def _ignore(event: Any) -> None:
    """Stand in for a closed forwarder's callback."""
