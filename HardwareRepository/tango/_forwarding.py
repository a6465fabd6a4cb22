"""Tango event callbacks, moved from Tango's threads into the subscriber's hub.

A :class:`EventForwarder` is what the green proxy hands to Tango in place of
the user's callback. Tango calls its :meth:`~EventForwarder.push_event` in its
own threads; the event goes into an :class:`~HardwareRepository.bridge.Inbox`
of the subscriber's hub sink, the one way every value from another thread
enters a hub. The sink hands the events, in arrival order and in batches, to
the user's callback in a dispatcher greenlet, and lingers a moment after each
batch for more. Nothing is created per event: no watcher, no greenlet.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ..bridge import BridgeClosedError, Inbox, get_sink

__all__ = ["EventForwarder"]

log = logging.getLogger("HardwareRepository.tango")

#: seconds the subscriber's inbox stays awake after a batch for more events
PAUSE = 0.002
#: the linger after a batch of at least :data:`~HardwareRepository.bridge.BURST`
#: events: while Tango streams, fewer wake-ups of the hub mean fewer GIL
#: hand-overs with Tango's thread (in the benchmark 20 ms gave ~20 % more
#: events/s than 10 ms; an event of a burst waits at most this long)
BURST_PAUSE = 0.020
#: events queued for one subscription before later ones replace the last
#: queued one: far beyond any burst, so that every event reaches the callback
#: as with PyTango, while a stalled hub still cannot exhaust memory
CAPACITY = 1_000_000


class EventForwarder:
    """Run a subscriber's event callback in the hub of the subscribing thread.

    Create it in the subscribing thread, which must have a gevent hub.
    :meth:`push_event` is safe from any thread and never blocks: it puts the
    event into the subscription's inbox, which posts once per batch to the
    hub's bridge.

    The callback runs in a dispatcher greenlet of that hub, one event at a
    time, in the order Tango delivered them; it may wait cooperatively (later
    events wait for it). An exception it raises is logged with its traceback
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
        self._inbox: Inbox = get_sink().inbox(
            self._run,
            label=label,
            capacity=CAPACITY,
            linger=PAUSE,
            burst_linger=BURST_PAUSE,
        )
        #: events received from Tango so far (for diagnostics)
        self.received = 0
        #: events handed to the callback so far (hub thread)
        self.delivered = 0

    def __repr__(self) -> str:
        stats = self._inbox.statistics()
        state = "closed" if self._inbox.closed else f"{stats.depth} queued"
        return f"<EventForwarder {self.label} {state}>"

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._inbox.closed

    def push_event(self, event: Any) -> None:
        """Queue one event for the callback; called by Tango in its threads."""
        inbox = self._inbox
        if inbox.closed:
            return
        self.received += 1
        try:
            inbox.put(event)
        except BridgeClosedError:
            # The subscribing thread's hub is gone: nobody will deliver these.
            inbox.close()

    def _run(self, event: Any, merged: int) -> None:
        # Dispatcher greenlet of the subscriber's hub, one event at a time.
        self.delivered += 1
        callback = self._callback
        try:
            callback(event)
        except Exception:
            log.exception("%s: event callback %r failed", self.label, callback)

    def close(self) -> None:
        """Drop queued and later events; safe from any thread.

        Called in the subscribing thread, no call of the callback begins after
        it returns; from another thread one already being started may still run.
        """
        self._inbox.close()
        # PyTango keeps an unsubscribed callback object for a minute (pytango
        # #185): let the subscriber's callback go now.
        self._callback = _ignore


def _ignore(event: Any) -> None:
    """Stand in for a closed forwarder's callback."""
