"""Tango event callbacks (any thread) -> one channel handler in the hub, in batches.

An :class:`EventSink` is what a channel subscribes with. Its
:meth:`~EventSink.push_event` runs in Tango's event thread (or, for the
synchronous first reading, in the subscribing worker thread): it turns the
``EventData`` into a small tuple, appends it to a deque and sends a
:class:`~HardwareRepository.bridge.HubTrigger`. The trigger posts once to the
hub bridge for however many events arrive before the hub runs; one greenlet
then hands the whole batch, in arrival order, to the channel. Nothing is kept
per event once it is delivered: no greenlet, no registry entry, no watcher.
"""

from __future__ import annotations

import weakref
from collections import deque
from collections.abc import Callable
from typing import Any, NamedTuple

import gevent
import tango

from ...bridge import HubTrigger
from ...CommandContainer import Quality
from ...errors import BridgeClosedError
from ._errors import stack_of

__all__ = ["LINGER", "QUALITIES", "EventItem", "EventSink"]

#: seconds the hub waits after a batch for more events before it stops draining
LINGER = 0.002

#: Tango's attribute quality -> the package's.
QUALITIES: dict[Any, Quality] = {
    tango.AttrQuality.ATTR_VALID: Quality.VALID,
    tango.AttrQuality.ATTR_WARNING: Quality.WARNING,
    tango.AttrQuality.ATTR_ALARM: Quality.ALARM,
    tango.AttrQuality.ATTR_CHANGING: Quality.CHANGING,
    tango.AttrQuality.ATTR_INVALID: Quality.INVALID,
}


class EventItem(NamedTuple):
    """One event as handed to the hub.

    ``errors`` is empty for a value; for an error event (``API_EventTimeout``,
    a failed re-subscription...) it holds ``(reason, desc, origin)`` triples and
    ``value`` is ``None``. ``timestamp`` is the reading's wall-clock time.
    """

    value: Any
    quality: Any
    timestamp: float
    errors: tuple[tuple[str, str, str], ...]


class EventSink:
    """The callback object a channel subscribes with.

    Create it in the hub thread of the channel. :meth:`push_event` is safe from
    any thread and never blocks beyond a lock-free append and, once per batch,
    a post to the hub bridge. ``handler`` receives each :class:`EventItem` in
    the hub thread, in a greenlet (it may wait cooperatively; later events
    wait for it), in the order the events arrived.

    The sink holds the handler's owner weakly: pytango keeps a callback alive
    for a minute after ``unsubscribe_event`` (pytango #185), and that must not
    keep a closed channel alive.

    :param handler: a bound method of the channel.
    """

    def __init__(self, handler: Callable[[EventItem], None]) -> None:
        self._handler = weakref.WeakMethod(handler)  # type: ignore[arg-type]
        self._items: deque[EventItem] = deque()
        self._trigger = HubTrigger(self._drain)
        self._closed = False
        # True from the post that wakes the hub until the hub finds the deque
        # empty; written by both sides (see _drain for why no event is lost).
        self._scheduled = False
        #: events received so far (any thread writes; for diagnostics)
        self.received = 0

    def push_event(self, event: tango.EventData) -> None:
        """Take one Tango event; called by Tango in its threads."""
        if self._closed:
            return
        if event.err:
            stamp = event.reception_date.totime()
            item = EventItem(None, None, stamp, stack_of(event.errors))
        else:
            value = event.attr_value
            item = EventItem(value.value, value.quality, value.time.totime(), ())
        self._items.append(item)
        self.received += 1
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
        while True:
            while items:
                if handler is None or self._closed:
                    items.clear()
                    return
                handler(items.popleft())
            # Linger: events streaming in are taken in one batch a moment later
            # instead of waking the hub (and trading the GIL with Tango's
            # thread) for every few events. A lone event is never delayed.
            gevent.sleep(LINGER)
            if items:
                continue
            self._scheduled = False
            if not items or self._closed:
                return
            self._scheduled = True

    def close(self) -> None:
        """Drop later and pending events; hub thread."""
        self._closed = True
        self._trigger.close()
        self._items.clear()
