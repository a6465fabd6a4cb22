"""How a Tango channel gets its values: one small strategy class per mode.

A :class:`~._channel_backend.TangoChannelBackend` picks one when it is
created (XML ``polling``) and only ever calls the :class:`ChannelMode` methods:

* :class:`EventMode` (``polling="events"``): a change-event subscription;
* :class:`PollMode` (``polling="500"``, and the fallback of an event channel
  whose server sends no events): the :mod:`HardwareRepository.Poller`;
* :class:`ReadMode` (no ``polling``): one read at start and after each
  recovery; the channel reads the device on every ``get_value``.

Each mode is given what it needs explicitly: the device link, a blocking read
function and the channel's hub-side handlers, and a ``deliver(func, *args)``
that carries a call into the hub through the channel's inbox of the bridge's
sink (in order with the channel's events). Handlers run in the hub thread;
reads and subscriptions run in the link's worker threads or the Poller's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, NamedTuple

import tango

from ...bridge import native
from ._device import DeviceLink
from ._errors import FALLBACK_REASONS, translate
from ._events import EventCallback

__all__ = [
    "ChannelMode",
    "EventMode",
    "PollMode",
    "ReadMode",
    "TangoReading",
]

log = logging.getLogger("HardwareRepository.Command.Tango")


class TangoReading(NamedTuple):
    """A read value; compared by the Poller to skip unchanged values."""

    value: Any
    quality: Any


#: ``handler(reading)``: a value read from the device (hub thread)
ReadingHandler = Callable[[TangoReading], None]
#: ``handler(exc)``: a read, poll or subscription failed (hub thread)
FailureHandler = Callable[[BaseException], None]


class ChannelMode:
    """What every mode offers the channel; hub thread unless said otherwise."""

    #: the mode's name, as the channel's ``mode`` attribute shows it
    name = ""
    #: whether ``get_value()`` reads the device every time (else: cached value)
    reads_on_demand = False
    #: the callback Tango is subscribed with (an event mode's only)
    callback: EventCallback | None = None

    def start(self) -> None:
        """Start getting values (once, at creation)."""
        raise NotImplementedError

    def restart(self) -> None:
        """Get a fresh value and resume.

        Runs after a failure, or when the device answers pings again after it
        was dead or frozen.
        """
        raise NotImplementedError

    def stop(self) -> None:
        """Stop for good; never blocks (Tango calls are queued to workers)."""
        raise NotImplementedError

    def reread(self, read: Callable[[], tuple[Any, Any, float]]) -> None:
        """Read the value again behind the values received (Tango lost some).

        Only an event stream can lose values: the other modes do nothing.
        """

    def reread_if_quiet(self, read: Callable[[], tuple[Any, Any, float]]) -> None:
        """Read the value again if none came since the subscription.

        Only an event subscription has a moment in which values are lost:
        the other modes do nothing.
        """


class ReadMode(ChannelMode):
    """Read on demand: one read at start and at each :meth:`restart`.

    :param link: the device.
    :param read: blocking read (worker thread) returning a :class:`TangoReading`.
    :param on_reading: hub handler of the value.
    :param on_failure: hub handler of a failed read.
    :param post: hands a call to the channel's hub, through its inbox.
    """

    name = "read"
    reads_on_demand = True

    def __init__(
        self,
        link: DeviceLink,
        read: Callable[[], TangoReading],
        on_reading: ReadingHandler,
        on_failure: FailureHandler,
        post: Callable[..., None],
    ) -> None:
        self._link = link
        self._read = read
        self._on_reading = on_reading
        self._on_failure = on_failure
        self._post = post
        self._stopped = False

    def start(self) -> None:
        """Read once in a worker thread."""
        self._link.pool.submit(self._read_once)

    restart = start

    def stop(self) -> None:
        """Forget later results."""
        self._stopped = True

    def _read_once(self) -> None:
        try:
            reading = self._read()
        except Exception as exc:
            if not self._stopped:
                self._post(self._on_failure, exc)
        else:
            if not self._stopped:
                self._post(self._on_reading, reading)


class PollMode(ChannelMode):
    """Poll on :mod:`HardwareRepository.Poller` every ``period_ms``.

    A failed poll stops the poller and reports the failure; :meth:`restart`
    starts a fresh poller, whose first value is delivered even when it equals
    the last one.

    :param read: blocking read (Poller thread) returning a :class:`TangoReading`.
    :param period_ms: the polling period in milliseconds.
    :param on_reading: hub handler of a changed value.
    :param on_failure: hub handler of a failed poll.
    """

    name = "poll"

    def __init__(
        self,
        read: Callable[[], TangoReading],
        period_ms: float,
        on_reading: ReadingHandler,
        on_failure: FailureHandler,
    ) -> None:
        self.period_ms = period_ms
        self._read = read
        self._on_reading = on_reading
        self._on_failure = on_failure
        self._poller: Any = None

    def start(self) -> None:
        """Start a poller (a running one is replaced)."""
        from ... import Poller

        self.stop()
        self._poller = Poller.poll(
            self._poll, (), self.period_ms, self._polled, self._poll_failed, True
        )

    restart = start

    def stop(self) -> None:
        """Stop the poller, if any."""
        poller, self._poller = self._poller, None
        if poller is not None:
            poller.stop()

    def _poll(self) -> TangoReading:
        return self._read()

    def _polled(self, reading: TangoReading) -> None:
        self._on_reading(reading)

    def _poll_failed(self, exc: BaseException, poller_id: Any = None) -> None:
        self.stop()
        self._on_failure(exc)


class EventMode(ChannelMode):
    """Subscribe to change events (see ``TangoChannel`` for the failure cases).

    :meth:`restart` cancels the subscription and makes a new one: cppTango
    would re-subscribe by itself only every 10 s, and a synchronous
    subscription reads the current value at once (the first event), so a
    restarted server gives a fresh value as soon as it answers.

    :param link: the device.
    :param attribute: the attribute name.
    :param extract: ``tango.ExtractAs`` of the values.
    :param events: the callback Tango is subscribed with; it puts the events
        into the channel's inbox (see :class:`EventCallback`).
    :param on_failure: hub handler of a subscription that could not be made.
    :param on_no_events: hub handler called with Tango's reasons when the
        server sends no change events for the attribute.
    :param post: hands a call to the channel's hub, through its inbox.
    :param source: names the channel in log messages.
    :param on_subscribed: hub handler called after each subscription that
        reached the device (not a stateless one).
    """

    name = "events"

    def __init__(
        self,
        link: DeviceLink,
        attribute: str,
        extract: Any,
        events: EventCallback,
        on_failure: FailureHandler,
        on_no_events: Callable[[list[str]], None],
        post: Callable[..., None],
        source: str,
        on_subscribed: Callable[[], None] | None = None,
    ) -> None:
        self._link = link
        self._attribute = attribute
        self._extract = extract
        self._on_failure = on_failure
        self._on_no_events = on_no_events
        self._on_subscribed = on_subscribed
        self._post = post
        self._source = source
        #: the callback Tango is subscribed with
        self.callback: EventCallback = events
        self._lock = native.allocate_lock()
        self._stopping = False  # guarded by _lock
        self._event_id: int | None = None  # guarded by _lock
        # The proxy that holds the subscription: the link may drop its proxy
        # (close) before the worker unsubscribes; guarded by _lock.
        self._event_proxy: tango.DeviceProxy | None = None
        # Events counted when the last subscription returned; guarded by _lock.
        self._received_at_subscription = 0

    def start(self) -> None:
        """Subscribe in a worker thread."""
        self._link.pool.submit(self._subscribe)

    def restart(self) -> None:
        """Cancel the subscription (if any) and subscribe again, in a worker."""
        self._link.pool.submit(self._resubscribe)

    def reread(self, read: Callable[[], tuple[Any, Any, float]]) -> None:
        """Read the value in a worker and queue it behind the events received.

        For ``API_MissedEvents`` and shortly after each subscription (cppTango
        joins the event stream a moment after the synchronous first read: an
        event pushed in between is lost). The value is queued only if no
        event came in during the read (see :meth:`EventCallback.push_read_back`).

        :param read: blocking read returning ``(value, quality, timestamp)``.
        """
        self._link.pool.submit(self._reread, read)

    def reread_if_quiet(self, read: Callable[[], tuple[Any, Any, float]]) -> None:
        """Like :meth:`reread`, but only if no event came since the subscription.

        For the read shortly after a subscription: an event lost while
        cppTango joined the stream matters only if no later event followed
        it. When the stream is live the read is skipped, so it can never land
        between events still in flight and show an older value after a newer
        one.

        :param read: blocking read returning ``(value, quality, timestamp)``.
        """
        self._link.pool.submit(self._reread_if_quiet, read)

    def stop(self) -> None:
        """Take no more events and unsubscribe in a worker thread."""
        with self._lock:
            self._stopping = True
        self.callback.close()
        self._link.pool.submit(self._unsubscribe)

    # -- worker threads ---------------------------------------------------------
    def _reread(self, read: Callable[[], tuple[Any, Any, float]]) -> None:
        before = self.callback.received
        try:
            value, quality, timestamp = read()
        except Exception as exc:
            log.info("%s: reading the value again failed: %s", self._source, exc)
            return
        self.callback.push_read_back(value, quality, timestamp, before)

    def _reread_if_quiet(self, read: Callable[[], tuple[Any, Any, float]]) -> None:
        with self._lock:
            quiet = self.callback.received == self._received_at_subscription
        if quiet:
            self._reread(read)

    def _resubscribe(self) -> None:
        self._unsubscribe()
        self._subscribe()

    def _subscribe(self) -> None:
        """Subscribe; report a failure even to keep a stateless subscription."""
        with self._lock:
            if self._stopping or self._event_id is not None:
                return
            try:
                self._event_id = self._subscribe_locked()
            except Exception as exc:
                error = translate(
                    exc, self._link.device, f"attribute {self._attribute}"
                )
                self._post(self._on_failure, error)

    def _subscribe_locked(self) -> int | None:
        proxy = self._link.proxy()
        self._event_proxy = proxy
        try:
            event_id = proxy.subscribe_event(
                self._attribute,
                tango.EventType.CHANGE_EVENT,
                self.callback,
                sub_mode=tango.EventSubMode.SyncRead,
                extract_as=self._extract,
            )
        except tango.DevFailed as exc:
            reasons = [e.reason for e in exc.args]
        else:
            # The synchronous first event has been counted by now.
            self._received_at_subscription = self.callback.received
            if self._on_subscribed is not None:
                self._post(self._on_subscribed)
            return event_id
        if FALLBACK_REASONS.intersection(reasons):
            self._post(self._on_no_events, reasons)
            return None
        log.info(
            "%s: cannot subscribe now (%s); keeping a stateless subscription "
            "that starts working when the device answers",
            self._source,
            ", ".join(reasons),
        )
        return proxy.subscribe_event(
            self._attribute,
            tango.EventType.CHANGE_EVENT,
            self.callback,
            sub_mode=tango.EventSubMode.Stateless,
            extract_as=self._extract,
        )

    def _unsubscribe(self) -> None:
        with self._lock:
            event_id, self._event_id = self._event_id, None
            proxy, self._event_proxy = self._event_proxy, None
            if event_id is None or proxy is None:
                return
            try:
                proxy.unsubscribe_event(event_id)
            except (tango.DevFailed, KeyError):
                log.exception("%s: unsubscribing failed", self._source)
