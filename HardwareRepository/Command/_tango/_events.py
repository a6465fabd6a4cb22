"""Tango event callbacks (any thread) -> one channel handler in the hub, in batches.

An :class:`EventSink` is what a channel subscribes with. Its
:meth:`~EventSink.push_event` runs in Tango's event thread (or, for the
synchronous first reading, in the subscribing worker thread): it turns the
``EventData`` into one small tuple (an :data:`EventItem`), appends it to a
deque and, only when the hub is not already draining that deque, sends a
:class:`~HardwareRepository.bridge.HubTrigger`. One greenlet then hands every
pending event, in arrival order, to the channel's batch handler. Nothing is
kept per event once it is delivered: no greenlet, no registry entry, no
watcher.

Every event costs Tango's thread and the hub the GIL, so both sides do as
little Python work per event as they can: Tango's thread one tuple and one
append; the hub one loop iteration in the channel's handler (no call per event
between the sink and the channel).
"""

from __future__ import annotations

import weakref
from collections import deque
from collections.abc import Callable
from typing import Any

import gevent
import tango

from ...bridge import HubTrigger
from ...CommandContainer import Quality
from ...errors import BridgeClosedError
from ._errors import stack_of

__all__ = [
    "BUSY_BATCH",
    "BUSY_LINGER",
    "LINGER",
    "MAX_DEPTH",
    "QUALITIES",
    "READ_BACK",
    "EventItem",
    "EventSink",
]

#: seconds the hub waits after a batch for more events before it stops draining
LINGER = 0.002
#: the wait after a batch of at least :data:`BUSY_BATCH` events (a burst): each
#: wake-up of the hub costs two GIL hand-overs with Tango's thread, which on a
#: busy machine cost more than the events themselves
BUSY_LINGER = 0.010
BUSY_BATCH = 100
#: the most events queued for one channel; beyond it the oldest are dropped
#: (counted in :attr:`EventSink.dropped`) so a stalled hub cannot exhaust memory
MAX_DEPTH = 50_000

#: Tango's attribute quality -> the package's.
QUALITIES: dict[Any, Quality] = {
    tango.AttrQuality.ATTR_VALID: Quality.VALID,
    tango.AttrQuality.ATTR_WARNING: Quality.WARNING,
    tango.AttrQuality.ATTR_ALARM: Quality.ALARM,
    tango.AttrQuality.ATTR_CHANGING: Quality.CHANGING,
    tango.AttrQuality.ATTR_INVALID: Quality.INVALID,
}


#: One event as queued for the hub: ``(value, quality, timestamp, errors)``.
#: ``quality`` is Tango's ``AttrQuality`` and ``timestamp`` the reading's
#: wall-clock time (s). ``errors`` is ``None`` for a value; for an error event
#: (``API_EventTimeout``, a failed re-subscription...) it holds
#: ``(reason, desc, origin)`` triples, ``value`` and ``quality`` are ``None``
#: and ``timestamp`` is the reception time. A plain tuple: no constructor call
#: in Tango's thread.
EventItem = tuple[Any, Any, float, "tuple[tuple[str, str, str], ...] | None"]


#: The ``errors`` field of an item that is not an event but a value the
#: channel read itself (:meth:`EventSink.push_read_back`); compared by
#: identity (a real error event's errors are a new tuple).
READ_BACK: tuple[tuple[str, str, str], ...] = (("READ_BACK", "", ""),)


class EventSink:
    """The callback object a channel subscribes with.

    Create it in the hub thread of the channel. :meth:`push_event` is safe from
    any thread and never blocks beyond a lock-free append and, once per batch,
    a post to the hub bridge.

    ``handler`` is called in the hub thread, in a greenlet, with the sink's
    deque of :data:`EventItem`: it must take items with ``popleft()`` and handle
    them in that order, until the deque is empty (events appended meanwhile are
    part of the same call) or its time slice is spent: it then returns
    ``True`` and is called again, with the rest, once the hub has run other
    work (so one channel's backlog never holds the hub for long). It may
    clear the deque to drop the events. It may wait
    cooperatively; later events wait for it. An exception it raises is logged
    with its traceback and the events still queued are handed over again.

    The sink holds the handler's owner weakly: pytango keeps a callback alive
    for a minute after ``unsubscribe_event`` (pytango #185), and that must not
    keep a closed channel alive.

    :param handler: a bound method of the channel.
    """

    def __init__(self, handler: Callable[[deque[EventItem]], bool | None]) -> None:
        self._handler = weakref.WeakMethod(handler)
        self._items: deque[EventItem] = deque()
        self._append = self._items.append
        self._trigger = HubTrigger(self._drain)
        self._closed = False
        # True from the post that wakes the hub until the hub finds the deque
        # empty; written by both sides (see _drain for why no event is lost).
        self._scheduled = False
        #: events received so far (any thread writes; for diagnostics)
        self.received = 0
        #: events dropped, oldest first, because :data:`MAX_DEPTH` were queued
        self.dropped = 0

    def push_event(self, event: tango.EventData) -> None:
        """Take one Tango event; called by Tango in its threads."""
        if self._closed:
            return
        if event.err:
            stamp = event.reception_date.totime()
            self._append((None, None, stamp, stack_of(event.errors)))
        else:
            value = event.attr_value
            self._append((value.value, value.quality, value.time.totime(), None))
        self.received += 1
        if len(self._items) > MAX_DEPTH:
            try:
                self._items.popleft()
                self.dropped += 1
            except IndexError:
                pass  # the hub took them meanwhile
        self._wake()

    def push_value(self, value: Any, quality: Any, timestamp: float) -> None:
        """Queue a value read from the device behind the events; any thread.

        :param quality: Tango's ``AttrQuality``.
        :param timestamp: wall-clock seconds of the reading.
        """
        if self._closed:
            return
        self._append((value, quality, timestamp, None))
        self._wake()

    def push_read_back(
        self, value: Any, quality: Any, timestamp: float, received_before: int
    ) -> bool:
        """Queue a value the channel read, unless an event came in meanwhile.

        The item's ``errors`` is :data:`READ_BACK`. If any event was received
        since ``received_before`` (the :attr:`received` count taken before the
        read), the stream is live and the read may be older than an event
        already queued: it is dropped. Any thread.

        :returns: whether the value was queued.
        """
        if self._closed or self.received != received_before:
            return False
        self._append((value, quality, timestamp, READ_BACK))
        self._wake()
        return True

    def _wake(self) -> None:
        if self._scheduled:
            return
        self._scheduled = True
        try:
            self._trigger.send()
        except BridgeClosedError:
            # The channel was closed while Tango was calling us: nobody wants it.
            self._items.clear()

    def _drain(self) -> None:
        # Producers post only when _scheduled is false, so while this runs the
        # Tango thread appends without waking the hub again. It is cleared only
        # once the deque is empty, then the deque is checked again: an event
        # appended in between is either seen here or was followed by a post.
        items = self._items
        handler = self._handler()
        try:
            while True:
                if handler is None or self._closed:
                    items.clear()
                    return
                batch = len(items)
                if batch and handler(items):
                    gevent.sleep(0)  # the handler's slice is spent: let others run
                    continue
                # Linger: events streaming in are taken in one batch a moment
                # later instead of waking the hub (and trading the GIL with
                # Tango's thread) for every few events; longer during a burst.
                # A lone event is never delayed.
                gevent.sleep(BUSY_LINGER if batch >= BUSY_BATCH else LINGER)
                if items:
                    continue
                self._scheduled = False
                if not items or self._closed:
                    return
                self._scheduled = True
        except Exception:
            # The handler failed (the trigger logs it): the events still
            # queued get another run, and later ones must wake the hub again.
            self._scheduled = False
            if items and not self._closed:
                self._scheduled = True
                self._trigger.send()
            raise

    @property
    def depth(self) -> int:
        """The number of events queued for the hub now."""
        return len(self._items)

    def close(self) -> None:
        """Drop later and pending events; hub thread."""
        self._closed = True
        self._trigger.close()
        self._items.clear()
