"""The Tango side of a channel: :class:`TangoChannelBackend` (a ``ChannelBackend``).

What a Tango channel does beyond the common work of
:class:`~HardwareRepository.commands.ChannelObject` lives here: the mode
strategy (events, client polling, read on demand, :mod:`._modes`), the
device's health verdicts (:mod:`._health`), the retry back-off, the fallback
from events to polling, the reads after a subscription or after Tango lost
events, and the rule that a value must not make the channel look live while
its device does not answer pings.

Threads: the backend is created, called and closed in its channel's hub
thread. Tango's event threads, the device's worker threads, the Poller's and
the health thread hand everything to the hub through the backend's
:class:`~HardwareRepository.bridge.Inbox` of the bridge's sink, in order; the
backend calls its listeners in the hub thread only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

import tango

from ...bridge import Inbox, InboxStatistics, get_bridge, native, sink_for
from ...commands import (
    ConnectionListener,
    Quality,
    Reading,
    ReadingListener,
)
from ...errors import BridgeClosedError, NotConnectedError, Timeout
from ...policies import NOT_INITIALIZED, ConnectionHealth, values_equal
from ._calls import (
    attribute_config,
    await_call,
    health_listener,
    read_attribute,
    wait_released,
    write_attribute,
)
from ._device import DeviceLink, acquire_link, release_link
from ._errors import FALLBACK_REASONS
from ._events import MAX_DEPTH, QUALITIES, READ_BACK, EventCallback, EventItem
from ._modes import ChannelMode, EventMode, PollMode, ReadMode, TangoReading

__all__ = [
    "BUSY_LINGER",
    "FALLBACK_POLLING_PERIOD",
    "HUB_SLICE",
    "LINGER",
    "READ_BACK_DELAY",
    "RETRY_DELAY_MAX",
    "RETRY_DELAY_MIN",
    "TangoChannelBackend",
]

log = logging.getLogger("HardwareRepository.Command.Tango")

#: ms; how often a ``polling="events"`` channel polls when the server sends no events
FALLBACK_POLLING_PERIOD = 1000
#: seconds; first wait before reconnecting a failed channel (Tango refuses a
#: reconnection within 1 s of the previous one, pytango #375)
RETRY_DELAY_MIN = 1.0
#: seconds; the wait doubles after each failure up to this bound
RETRY_DELAY_MAX = 3.0
#: seconds after a subscription when an event channel reads its value once
#: more (cppTango joins the event stream a moment after the first reading; a
#: change in between would otherwise leave the channel on a stale value)
READ_BACK_DELAY = 0.5
#: seconds; the most the hub spends on one channel's queued events before it
#: lets other work run (the rest follows at once after)
HUB_SLICE = 0.005
#: seconds a channel's inbox stays awake after a batch for more events, and
#: after a batch of :data:`~HardwareRepository.bridge.BURST` or more (a
#: burst): each wake-up of the hub costs two GIL hand-overs with Tango's
#: event thread, which on a busy machine cost more than the events
LINGER = 0.002
BUSY_LINGER = 0.010
# seconds between two log messages about events Tango lost
_MISSED_LOG_INTERVAL = 10.0
# Looked up once: an enum member read from its class costs ~0.1 us, and the
# event path would read it for every event.
_INVALID = Quality.INVALID
_quality_of = QUALITIES.get


class _HubTimer:
    """One pending call later in the hub (a retry, a read-back); hub thread."""

    def __init__(self, bridge: Any) -> None:
        self._bridge = bridge
        self._timer: Any = None

    @property
    def pending(self) -> bool:
        """Whether a call is due."""
        return self._timer is not None

    def start(self, delay: float, func: Callable[[], None]) -> None:
        """Call ``func()`` in ``delay`` seconds (a pending call is replaced)."""
        self.cancel()
        timer = self._bridge.hub.loop.timer(delay)
        self._timer = timer
        timer.start(self._fire, func)

    def _fire(self, func: Callable[[], None]) -> None:
        self.cancel()
        func()

    def cancel(self) -> None:
        """Forget the pending call, if any."""
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.stop()
            timer.close()


class TangoChannelBackend:
    """One attribute of a Tango device, for a channel object.

    Implements :class:`~HardwareRepository.commands.ChannelBackend`; the
    behaviour of each mode is described by
    :class:`~HardwareRepository.Command.Tango.TangoChannel`. Create, call and
    close it in the hub thread of its channel; it never blocks there. Its
    listeners are called in that hub thread only, in the order things
    happened. A reading of quality ``INVALID`` carries the value Tango gave
    (often ``None``): the channel keeps its last value and changes only the
    quality.

    Args:
        name: the channel's name in its container.
        attribute: the Tango attribute.
        device: the device name.
        kind: ``"events"``, ``"poll"`` or ``"read"`` (the XML ``polling``).
        period_ms: the polling period of a ``"poll"`` channel.
        timeout: seconds; limit of one read, write or query.
        read_as_str: read the value as a string.
    """

    #: seconds after a subscription when an event channel reads once more
    #: (:data:`READ_BACK_DELAY`; a class attribute so a test can change it)
    read_back_delay = READ_BACK_DELAY

    def __init__(
        self,
        name: str,
        attribute: str,
        device: str,
        *,
        kind: str,
        period_ms: float | None,
        timeout: float,
        read_as_str: bool,
    ) -> None:
        self.name = name
        self.attribute_name = attribute
        self.device_name = device
        self.timeout = timeout
        self.read_as_str = read_as_str
        #: whether an ``events`` channel fell back to client polling
        self.polling_fallback = False
        #: how many ``API_MissedEvents`` reports Tango sent (events it lost)
        self.missed_event_reports = 0
        #: error events received (``API_MissedEvents``, ``API_EventTimeout``...)
        self.error_events = 0
        #: values read back after a subscription or lost events and delivered
        #: because they changed something (they are not events)
        self.read_backs = 0
        self._target = f"attribute {attribute}"
        self._extract = tango.ExtractAs.String if read_as_str else tango.ExtractAs.Numpy
        self._enum_labels: list[str] | None = None
        self._bridge = bridge = get_bridge()
        self._on_reading: ReadingListener[Any] | None = None
        self._on_connection: ConnectionListener | None = None
        # Whether readings are delivered (between subscribe and unsubscribe);
        # every hub-side handler does nothing while it is false.
        self._active = False
        self._closed = False
        # What the channel shows, as this backend made it: the connection
        # state, the last value and its quality; hub thread only.
        self._connected = False
        self._shown_value: Any = NOT_INITIALIZED
        self._shown_quality = Quality.UNKNOWN
        self._retry_timer = _HubTimer(bridge)
        self._read_back_timer = _HubTimer(bridge)
        # Outages logged once, their recovery, and the retry back-off; the
        # shared policy, used in the hub thread only.
        self._outages: ConnectionHealth[str] = ConnectionHealth(
            self.source, log, RETRY_DELAY_MIN, RETRY_DELAY_MAX
        )
        self._missed_logged_at = -_MISSED_LOG_INTERVAL  # hub thread only
        # Everything other threads hand to this channel (events, reads made in
        # workers, health verdicts, failures) enters the hub here, in order.
        self._inbox: Inbox = sink_for(bridge).inbox(
            self._on_hub_item,
            label=self.source(),
            capacity=MAX_DEPTH,
            budget=HUB_SLICE,
            linger=LINGER,
            burst_linger=BUSY_LINGER,
            run_handler=self._on_hub_items,
        )
        self._link: DeviceLink = acquire_link(device)
        self._link.want_timeout(timeout)
        # The device's verdict as last handed to this hub: None (not known
        # yet), True (answers pings), False (dead or frozen); hub thread only.
        self._device_alive: bool | None = None
        self._health_token: int | None = None
        self._kind = kind
        self._period_ms = period_ms
        self._mode = self._make_mode(kind)
        self._mode_stopped = False

    def _make_mode(self, kind: str) -> ChannelMode:
        post = self._call_in_hub
        if kind == "events":
            return EventMode(
                self._link,
                self.attribute_name,
                self._extract,
                EventCallback(self._inbox),
                self._on_failure,
                self._fall_back_to_polling,
                post,
                self.source(),
                self._on_subscribed,
            )
        if kind == "poll":
            assert self._period_ms is not None, self.source()
            return self._poll_mode(self._period_ms)
        return ReadMode(
            self._link, self._read, self._on_mode_reading, self._on_failure, post
        )

    def _poll_mode(self, period_ms: float) -> PollMode:
        return PollMode(self._read, period_ms, self._on_mode_reading, self._on_failure)

    # -- the ChannelBackend contract ------------------------------------------------
    def source(self) -> str:
        """Name the channel, its device and attribute, for messages."""
        return (
            f"TangoChannel {self.name!r} ({self.device_name} "
            f"attribute {self.attribute_name})"
        )

    def connect(self, on_connection: ConnectionListener) -> None:
        """Follow the device's health; report the channel's state to ``on_connection``.

        The channel becomes connected with its first value and disconnected
        on a failure or when the device stops answering pings;
        ``on_connection`` is called in the hub thread.
        """
        self._on_connection = on_connection
        if self._health_token is None:
            self._health_token = self._link.health.watch(
                health_listener(self._on_health_threadsafe)
            )

    def subscribe(self, on_reading: ReadingListener[Any]) -> None:
        """Start the mode: subscribe to events, poll, or read once.

        ``on_reading`` is called in the hub thread with each new value.

        Raises:
            NotConnectedError: the backend is closed.
        """
        if self._closed:
            raise NotConnectedError(f"{self.source()} is closed")
        self._on_reading = on_reading
        if self._active:
            return
        if self._mode_stopped:
            self._mode = self._make_mode(self._kind)
            self._mode_stopped = False
        self._active = True
        try:
            self._mode.start()
        except BaseException:
            self._active = False
            raise

    def unsubscribe(self) -> None:
        """Stop the mode (unsubscribe in a worker, stop polling); never blocks."""
        self._active = False
        self._on_reading = None
        self._retry_timer.cancel()
        self._read_back_timer.cancel()
        if not self._mode_stopped:
            self._mode_stopped = True
            self._mode.stop()

    def read(self, timeout: float | None) -> Reading[Any]:
        """Read the attribute now, waiting cooperatively (natively in a plain thread).

        For a read-on-demand channel, also delivers the reading to the
        listener when its value or quality changed (hub thread), and on a
        failure to reach the device makes the channel disconnected and starts
        the retries.

        Raises:
            NotConnectedError: the backend is closed.
            TangoNotConnectedError: the device cannot be reached.
            TangoCommunicationError: the read failed (Tango's reasons attached).
            Timeout: no answer within ``timeout`` seconds (default: the
                channel's).
        """
        on_demand = self._mode.reads_on_demand
        try:
            attr = self._call(
                "read",
                read_attribute,
                self.attribute_name,
                self._extract,
                timeout=timeout,
            )
        except (NotConnectedError, Timeout) as exc:
            if on_demand and self._active:
                # The only way this channel learns of an outage: say so at
                # once (in the hub), then retry as after a failed first read.
                if self._bridge.in_hub_thread():
                    self._on_failure(exc)
                else:
                    self._call_in_hub(self._on_failure, exc)
            raise
        if on_demand and self._active and self._bridge.in_hub_thread():
            self._deliver_if_changed(attr.value, attr.quality)
        return Reading(
            attr.value,
            QUALITIES.get(attr.quality, Quality.INVALID),
            attr.time.totime(),
        )

    def write(self, value: Any, timeout: float | None) -> None:
        """Write ``value`` and wait for the device to accept it.

        An enum attribute also accepts a label (``"RUNNING"``). Writes and
        commands to one device are sent one at a time, in order; a write
        whose ``timeout`` runs out before it was sent is never sent.

        Raises:
            NotConnectedError: the backend is closed.
            TangoNotConnectedError: the device cannot be reached.
            TangoCommunicationError: the device refused the value.
            TangoTimeout: no answer within ``timeout`` seconds.
            ValueError: an unknown enum label.
        """
        if isinstance(value, str) and not self.read_as_str:
            labels = self.get_enum_labels(timeout=timeout)
            if labels:
                if value not in labels:
                    raise ValueError(
                        f"{self.source()}: {value!r} is not one of {labels}"
                    )
                value = labels.index(value)
        self._call(
            "write",
            write_attribute,
            self.attribute_name,
            value,
            timeout=timeout,
            ordered=True,
        )

    def close(self) -> None:
        """Stop the mode and release the device; idempotent, hub thread.

        Waits cooperatively (at most 5 s) for the device's worker threads when
        this was the device's last item and the caller is a greenlet. No
        listener is called after it returns.
        """
        if self._closed:
            return
        self.unsubscribe()
        self._closed = True
        self._on_connection = None
        if self._health_token is not None:
            self._link.health.unwatch(self._health_token)
        self._inbox.close()
        ended = release_link(self._link)
        wait_released(self._link, ended, self._bridge)

    # -- what a TangoChannel shows beyond the contract ------------------------------
    @property
    def mode(self) -> str:
        """``"events"``, ``"poll"`` or ``"read"`` (``"poll"`` after a fallback)."""
        return self._mode.name

    @property
    def reads_on_demand(self) -> bool:
        """Whether the channel reads the device on every ``get_value``."""
        return self._mode.reads_on_demand

    @property
    def events(self) -> EventCallback | None:
        """The event callback of an ``events`` channel (``None`` in other modes)."""
        return self._mode.callback

    @property
    def inbox(self) -> Inbox:
        """The channel's inbox into the hub (events, reads, verdicts)."""
        return self._inbox

    def statistics(self) -> dict[str, int]:
        """Return the event counts (see ``TangoChannel.statistics``); any thread."""
        events = self.events
        inbox: InboxStatistics = self._inbox.statistics()
        return {
            "received": events.received if events else 0,
            "queued": inbox.depth if events else 0,
            "merged": inbox.merged,
            "dropped": inbox.dropped,
            "errors": self.error_events,
            "missed_reports": self.missed_event_reports,
            "read_backs": self.read_backs,
        }

    def get_info(self, timeout: float | None = None) -> tango.AttributeInfoEx:
        """Return the attribute's configuration, fresh from the device.

        Raises:
            TangoNotConnectedError: the device cannot be reached.
            Timeout: no answer within ``timeout`` seconds.
        """
        return self._call(
            "configuration query",
            attribute_config,
            self.attribute_name,
            timeout=timeout,
        )

    def get_enum_labels(self, timeout: float | None = None) -> list[str]:
        """Return the labels of an enum attribute (empty for other types).

        Queried once from the device, then cached.
        """
        if self._enum_labels is None:
            info = self.get_info(timeout=timeout)
            self._enum_labels = list(info.enum_labels or [])
        return self._enum_labels

    # -- calls to the device --------------------------------------------------------
    def _call(
        self,
        what: str,
        func: Any,
        *args: Any,
        timeout: float | None,
        ordered: bool = False,
    ) -> Any:
        if self._closed:
            raise NotConnectedError(f"{self.source()} is closed")
        limit = self.timeout if timeout is None else timeout
        self._link.want_timeout(limit)
        call = self._link.call(self._target, func, *args, ordered=ordered)
        return await_call(
            call,
            limit,
            self.device_name,
            self._target,
            f"{what} of attribute {self.attribute_name}",
        )

    # blocking reads (worker and poller threads)
    def _read_attribute(self) -> Any:
        return self._link.read_in_thread(
            self._target, read_attribute, self.attribute_name, self._extract
        )

    def _read(self) -> TangoReading:
        attr = self._read_attribute()
        return TangoReading(attr.value, attr.quality)

    def _read_stamped(self) -> tuple[Any, Any, float]:
        attr = self._read_attribute()
        return attr.value, attr.quality, attr.time.totime()

    # -- into the hub ----------------------------------------------------------------
    def _call_in_hub(self, func: Callable[..., None], *args: Any) -> None:
        """Run ``func(*args)`` in the hub, in order with the events; any thread.

        Ignored once the backend or the hub's bridge is closed.
        """
        try:
            self._inbox.put_barrier(partial(func, *args))
        except BridgeClosedError:
            pass  # the hub is shutting down: nobody to tell

    def _on_health_threadsafe(self, alive: bool, why: str) -> None:
        """Health thread: hand the device's verdict to the hub."""
        self._call_in_hub(self._on_health, alive, why)

    def _on_hub_item(self, item: EventItem | partial[None], merged: int) -> None:
        """Dispatcher greenlet: handle one item of the channel's inbox.

        An :data:`EventItem` is an event or a read-back; anything else is a
        call handed over by :meth:`_call_in_hub`. The common case (a value of
        a known quality other than ``INVALID`` while connected) goes straight
        to the listener; everything else takes the general path of
        :meth:`_deliver` and :meth:`_on_error_event`. ``merged`` (values this
        one replaced) is counted by the inbox.
        """
        if not self._active:
            return
        if not isinstance(item, tuple):
            item()
            return
        value, tango_quality, timestamp, errors = item
        if errors is not None:
            if errors is READ_BACK:
                if self._deliver_if_changed(value, tango_quality, timestamp):
                    self.read_backs += 1
            else:
                self.error_events += 1
                self._on_error_event(errors)
            return
        quality = _quality_of(tango_quality, _INVALID)
        # Connected implies no outage: only _deliver connects, after back().
        if quality is _INVALID or not self._connected:
            self._deliver(value, tango_quality, timestamp)
            return
        self._show(value, quality, timestamp)

    def _on_hub_items(self, items: list[EventItem | partial[None]]) -> None:
        """Dispatcher greenlet: handle a run of the inbox's items, in order.

        What :meth:`_on_hub_item` does for each, with the common case (a
        value event of a known quality other than ``INVALID`` while
        connected) inline: a burst of events costs one call here, not one
        per event (``python -m benchmarks tango``).
        """
        quality_of = _quality_of
        invalid = _INVALID
        for item in items:
            if not self._active:
                return
            try:
                if type(item) is tuple and item[3] is None and self._connected:
                    value, tango_quality, timestamp, _ = item
                    quality = quality_of(tango_quality, invalid)
                    if quality is not invalid:  # _show, inline (per event)
                        self._shown_value = value
                        self._shown_quality = quality
                        listener = self._on_reading
                        if listener is not None:
                            listener(Reading(value, quality, timestamp))
                        continue
                self._on_hub_item(item, 0)
            except Exception:
                log.exception("%s: handling %r failed", self.source(), item)

    # -- what the channel shows (hub thread) -----------------------------------------
    def _show(self, value: Any, quality: Quality, timestamp: float | None) -> None:
        if quality is not _INVALID:
            self._shown_value = value
        self._shown_quality = quality
        listener = self._on_reading
        if listener is not None:
            listener(Reading(value, quality, timestamp))

    def _set_connected(self, connected: bool) -> None:
        if connected == self._connected:
            return
        self._connected = connected
        if not connected and self._shown_quality is not Quality.UNKNOWN:
            self._shown_quality = Quality.INVALID
        listener = self._on_connection
        if listener is not None:
            listener(connected)

    def _deliver(self, value: Any, tango_quality: Any, timestamp: float | None) -> None:
        if self._device_alive is False:
            # A value read or sent before the device died or froze: it must
            # not make the channel look live. The recovery reads afresh.
            return
        self._outages.back()
        self._outages.backoff.reset()
        self._set_connected(True)
        quality = QUALITIES.get(tango_quality, Quality.INVALID)
        if quality is Quality.INVALID and self._shown_quality is Quality.INVALID:
            return
        self._show(value, quality, timestamp)

    def _deliver_if_changed(
        self, value: Any, tango_quality: Any, timestamp: float | None = None
    ) -> bool:
        quality = QUALITIES.get(tango_quality, Quality.INVALID)
        if (
            self._shown_value is NOT_INITIALIZED
            or quality is not self._shown_quality
            or not values_equal(self._shown_value, value)
        ):
            self._deliver(value, tango_quality, timestamp)
            return True
        return False

    def _disconnected(self, why: str) -> None:
        self._outages.lost(why, why)
        self._set_connected(False)

    # -- device health ---------------------------------------------------------------
    def _on_health(self, alive: bool, why: str) -> None:
        """Hub: the device answers pings again, or stopped answering."""
        if not self._active:
            return
        was = self._device_alive
        self._device_alive = alive
        if not alive:
            self._disconnected(why)
        elif was is False:
            log.info(
                "%s: the device answers again; getting a fresh value", self.source()
            )
            self._retry_timer.cancel()
            self._outages.backoff.reset()
            self._mode.restart()

    # -- events ----------------------------------------------------------------------
    def _on_subscribed(self) -> None:
        """Hub: a subscription reached the device; read once more a bit later."""
        if self._active and not self._read_back_timer.pending:
            self._read_back_timer.start(self.read_back_delay, self._read_back)

    def _read_back(self) -> None:
        if self._active:
            self._mode.reread_if_quiet(self._read_stamped)

    def _on_error_event(self, errors: tuple[tuple[str, str, str], ...]) -> None:
        reasons = [e[0] for e in errors]
        if FALLBACK_REASONS.intersection(reasons):
            self._fall_back_to_polling(reasons)
            return
        text = "; ".join(f"{r}: {d}" for r, d, _ in errors)
        if reasons == ["API_MissedEvents"]:
            self._report_missed(text)
            return
        self._disconnected(f"event error: {text}")

    def _report_missed(self, text: str) -> None:
        """Hub: Tango lost events (its ZMQ queue overflowed); read the value again."""
        self.missed_event_reports += 1
        now = native.monotonic()
        if now - self._missed_logged_at >= _MISSED_LOG_INTERVAL:
            self._missed_logged_at = now
            log.warning(
                "%s: Tango lost change events (%d report(s) so far), reading "
                "the value again: %s",
                self.source(),
                self.missed_event_reports,
                text,
            )
        self._mode.reread(self._read_stamped)

    def _fall_back_to_polling(self, reasons: list[str]) -> None:
        """Hub: the server sends no change events for the attribute; poll it."""
        if not self._active or self.polling_fallback:
            return
        log.warning(
            "%s: the server sends no change events for this attribute (%s); "
            "polling it every %d ms instead",
            self.source(),
            ", ".join(reasons),
            FALLBACK_POLLING_PERIOD,
        )
        self.polling_fallback = True
        self._mode.stop()
        self._kind, self._period_ms = "poll", FALLBACK_POLLING_PERIOD
        self._mode = self._poll_mode(FALLBACK_POLLING_PERIOD)
        self._mode.start()

    # -- polled and on-demand reads, failures and retries ----------------------------
    def _on_mode_reading(self, reading: TangoReading) -> None:
        if self._active:
            self._deliver(reading.value, reading.quality, None)

    def _on_failure(self, exc: BaseException) -> None:
        """Hub: a poll, a read or a subscription failed; report, retry later."""
        if not self._active:
            return
        if self._retry_timer.pending:  # a retry is already due
            self._disconnected(str(exc))
            return
        delay = self._outages.backoff.next_delay()
        self._disconnected(f"{exc}; retrying in {delay:g} s")
        self._retry_timer.start(delay, self._retry)

    def _retry(self) -> None:
        if self._active:
            self._mode.restart()
