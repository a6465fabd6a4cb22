"""Tango event callbacks (any thread) -> the channel's inbox of the hub's sink.

An :class:`EventCallback` is what a channel subscribes with. Its
:meth:`~EventCallback.push_event` runs in Tango's event thread (or, for the
synchronous first reading, in the subscribing worker thread): it turns the
``EventData`` into one small tuple (an :data:`EventItem`) and puts it into the
channel's :class:`~HardwareRepository.bridge.Inbox`. From there the bridge's
sink carries it into the hub like every other value from another thread:
in order, in batches, within a time budget per channel per turn, bounded,
counted, and merged only when the channel asks for it (see
:mod:`HardwareRepository.bridge`). Nothing is kept per event once it is
delivered.

A value is put with its Tango quality as its merge kind, so a coalescing
channel only merges a value into a queued value of the same quality. Error
events and values the channel read itself are barriers: never merged, and no
value merges across them.
"""

from __future__ import annotations

from typing import Any

import tango

from ...bridge import Inbox
from ...CommandContainer import Quality
from ...errors import BridgeClosedError
from ._errors import stack_of

__all__ = [
    "MAX_DEPTH",
    "QUALITIES",
    "READ_BACK",
    "EventCallback",
    "EventItem",
]

#: the most events queued for one channel; beyond it values merge into the
#: last queued one (counted as merged), so a stalled hub cannot exhaust memory
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
#: channel read itself (:meth:`EventCallback.push_read_back`); compared by
#: identity (a real error event's errors are a new tuple).
READ_BACK: tuple[tuple[str, str, str], ...] = (("READ_BACK", "", ""),)


class EventCallback:
    """The callback object a channel subscribes with.

    Create it in the hub thread of the channel. Every method is safe from any
    thread and never blocks beyond the inbox's short lock and, once per batch,
    a post to the hub's bridge. The inbox's handler receives each
    :data:`EventItem` in a dispatcher greenlet of the hub.

    The callback drops its inbox when closed: pytango keeps a callback alive
    for a minute after ``unsubscribe_event`` (pytango #185), and that must not
    keep a closed channel alive.

    Args:
        inbox: the channel's inbox into its hub.
    """

    def __init__(self, inbox: Inbox) -> None:
        self._inbox: Inbox | None = inbox
        #: events received so far (values and errors, not read-backs); written
        #: by Tango's event thread, read anywhere
        self.received = 0

    def push_event(self, event: tango.EventData) -> None:
        """Take one Tango event; called by Tango in its threads."""
        inbox = self._inbox
        if inbox is None:
            return
        self.received += 1
        try:
            if event.err:
                stamp = event.reception_date.totime()
                inbox.put_barrier((None, None, stamp, stack_of(event.errors)))
            else:
                value = event.attr_value
                quality = value.quality
                inbox.put((value.value, quality, value.time.totime(), None), quality)
        except BridgeClosedError:
            pass  # the hub is shutting down: nobody wants the event

    def push_value(self, value: Any, quality: Any, timestamp: float) -> None:
        """Queue a value read from the device behind the events; any thread.

        Args:
            value: the value.
            quality: Tango's ``AttrQuality``.
            timestamp: wall-clock seconds of the reading.
        """
        inbox = self._inbox
        if inbox is None:
            return
        try:
            inbox.put((value, quality, timestamp, None), quality)
        except BridgeClosedError:
            pass  # the hub is shutting down

    def push_read_back(
        self, value: Any, quality: Any, timestamp: float, received_before: int
    ) -> bool:
        """Queue a value the channel read, unless an event came in meanwhile.

        The item's ``errors`` is :data:`READ_BACK`. If any event was received
        since ``received_before`` (the :attr:`received` count taken before the
        read), the stream is live and the read may be older than an event
        already queued: it is dropped. Any thread.

        Returns:
            Whether the value was queued.
        """
        inbox = self._inbox
        if inbox is None or self.received != received_before:
            return False
        try:
            inbox.put_barrier((value, quality, timestamp, READ_BACK))
        except BridgeClosedError:
            return False
        return True

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._inbox is None

    def close(self) -> None:
        """Take no more events; any thread, idempotent.

        Events already queued stay in the channel's inbox: the channel closes
        that when it closes.
        """
        self._inbox = None
