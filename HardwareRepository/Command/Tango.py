"""Type ``tango``: commands and channels on Tango device servers.

XML, as in mxCuBE (times in milliseconds)::

    <object class="Motor">
      <tangoname>tango://host:10000/id30/motor/phi</tangoname>
      <command type="tango" name="stop">Stop</command>
      <command type="tango" name="home" timeout="20000">Home</command>
      <channel type="tango" name="position" polling="events">Position</channel>
      <channel type="tango" name="state" polling="500">State</channel>
      <channel type="tango" name="name" read_as_str="True">UnitName</channel>
      <channel type="tango" name="beam" tangoname="sr/beam/1">Current</channel>
    </object>

* element text: the Tango command or attribute name;
* ``tangoname``: the device; if absent, the object's ``tangoname`` property;
* ``polling``: ``events`` (subscribe to change events), a period in ms (poll
  on :mod:`HardwareRepository.Poller`), or absent (read on demand);
* ``timeout``: ms; the default limit of one call (default 3000 for commands,
  Tango's own default, and 10000 for channels, mxCuBE's);
* ``read_as_str``: read the attribute as a string.

Threads: no Tango call ever runs in the gevent hub. Commands, reads, writes,
subscriptions and configuration queries run in a few worker threads per device
(:mod:`._tango._workers`) and the calling greenlet waits cooperatively for
their :class:`~HardwareRepository.bridge.AsyncResult`. Polled reads run in the
Poller's threads. Change events arrive in Tango's threads; they, the results
of reads made in worker threads and the device's health verdicts reach the hub
through the channel's :class:`~HardwareRepository.bridge.Inbox` of the
bridge's sink (:mod:`._tango._events`), in order. Every signal is emitted in
the hub thread.

The items are on the typed backend contract: :class:`TangoCommand` holds a
:class:`TangoCommandBackend`, :class:`TangoChannel` a
:class:`TangoChannelBackend` (modes, health, retries, fallback and read-backs);
both live in :mod:`._tango`.

Why not PyTango's gevent green mode: it delivers each event through its own
async watcher and greenlet, blocks Tango's event thread until the hub has
started that greenlet (a busy hub stalls Tango), raises ``gevent.Timeout``
(a ``BaseException``) on timeouts, runs calls synchronously when made from any
other thread, and mixing green proxies with threads deadlocked before
(pytango #332). Plain synchronous proxies in ordinary threads avoid all of it.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import tango

from ..bridge import InboxStatistics
from ..CommandContainer import NOT_INITIALIZED, ChannelObject, CommandObject, Quality
from ..commands import Reading
from ..errors import ConfigError, NotConnectedError
from ._tango import (
    BUSY_LINGER,
    FALLBACK_POLLING_PERIOD,
    HUB_SLICE,
    LINGER,
    READ_BACK_DELAY,
    RETRY_DELAY_MAX,
    RETRY_DELAY_MIN,
    EventCallback,
    TangoChannelBackend,
    TangoCommandBackend,
    TangoCommandFailedError,
    TangoCommunicationError,
    TangoErrorDetails,
    TangoNotConnectedError,
    TangoTimeout,
    WorkerPool,
    lingering,
)

__all__ = [
    "BUSY_LINGER",
    "DEFAULT_CHANNEL_TIMEOUT",
    "DEFAULT_COMMAND_TIMEOUT",
    "FALLBACK_POLLING_PERIOD",
    "HUB_SLICE",
    "INHERITED_PROPERTIES",
    "LINGER",
    "MAX_TIMEOUT",
    "MIN_POLLING_PERIOD",
    "MIN_TIMEOUT",
    "READ_BACK_DELAY",
    "RETRY_DELAY_MAX",
    "RETRY_DELAY_MIN",
    "TangoChannel",
    "TangoChannelBackend",
    "TangoCommand",
    "TangoCommandBackend",
    "TangoCommandFailedError",
    "TangoCommunicationError",
    "TangoErrorDetails",
    "TangoNotConnectedError",
    "TangoTimeout",
    "WorkerPool",
    "lingering",
    "make_channel",
    "make_command",
]

log = logging.getLogger("HardwareRepository.Command.Tango")

INHERITED_PROPERTIES = ("tangoname",)

#: seconds; a command's default limit (Tango's own client default)
DEFAULT_COMMAND_TIMEOUT = 3.0
#: seconds; a channel read/write default limit (mxCuBE's)
DEFAULT_CHANNEL_TIMEOUT = 10.0
#: ms; the shortest polling period accepted (a shorter one would keep a core busy)
MIN_POLLING_PERIOD = 10
#: ms; the shortest ``timeout`` accepted
MIN_TIMEOUT = 1
#: ms; the longest ``timeout`` accepted (Tango's client keeps it in a signed
#: 32-bit integer: a longer one made every call of that device fail)
MAX_TIMEOUT = 2**31 - 1
# Looked up once for the event path (an enum member read from its class
# costs ~0.1 us).
_INVALID = Quality.INVALID


# -- XML attribute parsing ---------------------------------------------------------
def _device_name(attrs: dict[str, Any], what: str) -> str:
    device = attrs.pop("tangoname", None)
    if device is None or str(device).strip() == "":
        raise ConfigError(
            f"{what} has no Tango device: give tangoname= on the element or a "
            "tangoname property on the object"
        )
    return str(device).strip()


def _milliseconds(attrs: dict[str, Any], key: str, default_s: float) -> float:
    raw = attrs.pop(key, None)
    if raw is None:
        return default_s
    if (
        isinstance(raw, bool)
        or not isinstance(raw, (int, float))
        or not MIN_TIMEOUT <= raw <= MAX_TIMEOUT
    ):
        raise ConfigError(
            f"{key}={raw!r} must be a number of milliseconds from {MIN_TIMEOUT} "
            f"to {MAX_TIMEOUT}"
        )
    return raw / 1000.0


def _polling(raw: Any) -> tuple[str, float | None]:
    """Return ``("events", None)``, ``("poll", period_ms)`` or ``("read", None)``."""
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        return "read", None
    if isinstance(raw, str):
        text = raw.strip().lower()
        if text in ("events", "event"):
            return "events", None
        try:
            raw = float(text)
        except ValueError:
            raise ConfigError(
                f"polling={raw!r} must be 'events' or a period in milliseconds"
            ) from None
    if (
        isinstance(raw, bool)
        or not isinstance(raw, (int, float))
        or not MIN_POLLING_PERIOD <= raw < math.inf  # also refuses NaN
    ):
        raise ConfigError(
            f"polling={raw!r} must be 'events' or a period of at least "
            f"{MIN_POLLING_PERIOD} ms"
        )
    return "poll", float(raw)


def _flag(raw: Any, key: str) -> bool:
    if raw is None:
        return False
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int):
        return bool(raw)
    text = str(raw).strip().lower()
    if text in ("true", "yes", "1", "on"):
        return True
    if text in ("false", "no", "0", "off", ""):
        return False
    raise ConfigError(f"{key}={raw!r} must be True or False")


def _ignored(what: str, attrs: dict[str, Any]) -> None:
    if attrs:
        log.debug("%s: ignoring XML attributes %s", what, sorted(attrs))


def make_command(
    name: str, text: str, attrs: dict[str, Any], owner: Any
) -> TangoCommand:
    """Create a :class:`TangoCommand` from its XML element (see module doc).

    :raises ConfigError: no device name, no command name, or a bad ``timeout``.
    """
    attrs = dict(attrs)
    what = f"Tango command {name!r}"
    if not text:
        raise ConfigError(f"{what} has no Tango command name (the element text)")
    device = _device_name(attrs, what)
    timeout = _milliseconds(attrs, "timeout", DEFAULT_COMMAND_TIMEOUT)
    username = attrs.pop("username", None)
    _ignored(what, attrs)
    return TangoCommand(name, text, device, username=username, timeout=timeout)


def make_channel(
    name: str, text: str, attrs: dict[str, Any], owner: Any
) -> TangoChannel:
    """Create a :class:`TangoChannel` from its XML element (see module doc).

    :raises ConfigError: no device or attribute name, or a bad ``polling``,
        ``timeout`` or ``read_as_str``.
    """
    attrs = dict(attrs)
    what = f"Tango channel {name!r}"
    if not text:
        raise ConfigError(f"{what} has no Tango attribute name (the element text)")
    device = _device_name(attrs, what)
    polling = attrs.pop("polling", None)
    _polling(polling)  # validate before anything starts
    timeout = _milliseconds(attrs, "timeout", DEFAULT_CHANNEL_TIMEOUT)
    read_as_str = _flag(attrs.pop("read_as_str", None), "read_as_str")
    username = attrs.pop("username", None)
    _ignored(what, attrs)
    return TangoChannel(
        name,
        text,
        device,
        username=username,
        polling=polling,
        timeout=timeout,
        read_as_str=read_as_str,
    )


class TangoCommand(CommandObject):
    """A command of a Tango device.

    Calling it (``cmd(arg)``, ``cmd(arg, wait=False)``, ``cmd(timeout=5)``)
    follows :meth:`CommandObject.__call__`: the Tango call runs in a worker
    thread while the caller waits cooperatively. Zero arguments call the
    command without input, one argument is its input, several are sent as one
    array input.

    On failure the command emits ``commandFailed(exception, name)`` and raises
    :class:`TangoCommandFailedError` (the device answered with an error),
    :class:`TangoNotConnectedError` (the device cannot be reached) or
    :class:`~HardwareRepository.errors.Timeout`; the exception names device and
    command and (except a timeout of the package's own) carries Tango's
    ``reasons``. It never returns ``None`` for a failure.

    Calls to one device are sent one at a time, in the order they were made
    (commands and attribute writes share that order). A call whose caller
    gave up (its ``timeout`` ran out, its greenlet was killed) before it was
    sent is dropped and never reaches the device: the :class:`TangoTimeout`
    raised says "not sent" (``sent`` false). One already sent cannot be
    recalled: the error says "sent, outcome unknown" (``sent`` true).

    Construct it in the owning hub thread; it never blocks there. The device
    need not be running: the command says disconnected until the device
    answers the pings of its health check (:mod:`._tango._health`), and
    disconnected again within about 1.5 s when it dies or freezes.

    The Tango side is a :class:`TangoCommandBackend` (the package's
    ``CommandBackend``), which the command holds as :attr:`backend`.

    :param name: the command's name in its container.
    :param command: the Tango command name.
    :param tangoname: the device name.
    :param username: display name.
    :param timeout: seconds; default limit of one call.
    """

    def __init__(
        self,
        name: str,
        command: str,
        tangoname: str | None = None,
        username: str | None = None,
        timeout: float | None = DEFAULT_COMMAND_TIMEOUT,
        **kwargs: Any,
    ) -> None:
        if not tangoname:
            raise ConfigError(f"Tango command {name!r} has no device name")
        self._tango = TangoCommandBackend(name, command, tangoname, timeout)
        super().__init__(name, username, timeout=timeout, backend=self._tango)
        self.command = command
        self.device_name = tangoname
        self._connected = self._tango.connect(self.set_connected_threadsafe)

    def __call__(
        self,
        *args: Any,
        wait: bool = True,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> Any:
        """Execute the command (see :meth:`CommandObject.__call__`).

        :param wait: ``False`` returns an ``AsyncResult`` at once.
        :param timeout: seconds; ``None`` uses the XML ``timeout``. When it
            runs out while the call still waits its turn, the call is dropped
            and never sent ("not sent"); once sent, its outcome is unknown.
        :raises TangoCommandFailedError: the device answered with an error.
        :raises TangoNotConnectedError: the device cannot be reached.
        :raises TangoTimeout: no reply within ``timeout`` (``sent`` says
            whether the call left).
        """
        return super().__call__(*args, wait=wait, timeout=timeout, **kwargs)


class TangoChannel(ChannelObject):
    """An attribute of a Tango device.

    Modes (XML ``polling``), each a strategy of :mod:`._tango._modes` chosen at
    creation:

    * ``"events"``: subscribe to change events. Every event is delivered, in
      order, with its quality (``ALARM``, ``WARNING``, ``CHANGING`` values are
      values). An error event (``API_EventTimeout`` when the server died, a
      failed re-subscription) makes the channel disconnected (quality
      ``INVALID``, ``disconnected`` emitted) until the next value.
      ``API_MissedEvents`` (Tango lost events) makes the channel read the value
      again, so it never stays on a stale one. If the server does not send
      events for the attribute (``API_AttributePollingNotStarted``,
      ``API_EventPropertiesNotSet``, ``API_PollObjNotFound``), the channel says
      so in the log and polls every :data:`FALLBACK_POLLING_PERIOD` ms instead.
      Any other subscription failure (server down) leaves a *stateless*
      subscription. If even that cannot be made (no proxy: the Tango database
      is down), the channel reports it (disconnected, logged) and tries again
      after :data:`RETRY_DELAY_MIN` s, doubling up to :data:`RETRY_DELAY_MAX` s.
    * a period in ms: poll on the Poller. A failed read reports the error
      (disconnected, logged), waits :data:`RETRY_DELAY_MIN` s, doubling up to
      :data:`RETRY_DELAY_MAX` s, and polls again; the first value after a
      recovery is emitted even when it equals the last one.
    * none: :meth:`get_value` reads the device each time; one read is made at
      creation (and retried as above until it succeeds). A read that cannot
      reach the device makes the channel disconnected and starts the same
      retries.

    Liveness, whatever the mode: the device's health check
    (:mod:`._tango._health`, a ping every 0.5 s with a short timeout of its
    own) makes the channel disconnected (quality ``INVALID``, last value kept)
    within about 1.5 s of the server dying or freezing, even when no event and
    no poll would tell. While the device does not answer pings, values that
    still arrive do not make the channel connected again. When it answers
    again, the channel starts over at once: an event channel cancels its
    subscription and subscribes again (whose first event is the current
    value), a polled channel starts a fresh poller, a read-on-demand channel
    reads; so a fresh value arrives within about 1 s of the server's return.

    Values are what PyTango gives: numbers, ``str``, ``bool``, numpy arrays for
    spectra and images, ``tango.DevState`` for states, ``int`` for enums (see
    :meth:`get_enum_labels`). An ``INVALID`` reading changes the quality and
    keeps the last value.

    Construct it in the owning hub thread; it never blocks there and loads even
    when the device server is down (it then says disconnected).

    The Tango side is a :class:`TangoChannelBackend` (the package's
    ``ChannelBackend``), which the channel holds as :attr:`backend`.

    :param name: the channel's name in its container.
    :param attribute_name: the Tango attribute.
    :param tangoname: the device name.
    :param username: display name.
    :param polling: ``"events"``, a period in ms, or ``None``.
    :param timeout: seconds; limit of one read, write or query.
    :param read_as_str: read the value as a string.
    """

    def __init__(
        self,
        name: str,
        attribute_name: str,
        tangoname: str | None = None,
        username: str | None = None,
        polling: Any = None,
        timeout: float = DEFAULT_CHANNEL_TIMEOUT,
        read_as_str: bool = False,
        **kwargs: Any,
    ) -> None:
        if not tangoname:
            raise ConfigError(f"Tango channel {name!r} has no device name")
        kind, period_ms = _polling(polling)
        self._tango = TangoChannelBackend(
            name,
            attribute_name,
            tangoname,
            kind=kind,
            period_ms=period_ms,
            timeout=timeout,
            read_as_str=bool(read_as_str),
        )
        #: the configured polling period in ms (``None`` unless polled)
        self.polling_period = period_ms
        try:
            super().__init__(name, username, backend=self._tango)
        except BaseException:
            # A channel that fails to start releases what it opened.
            self._tango.close()
            raise

    def _on_backend_reading(self, reading: Reading[Any]) -> None:
        """Show a reading of the backend; hub thread (where it calls its listeners).

        An ``INVALID`` reading changes the quality and keeps the last value.
        """
        quality = reading.quality
        if quality is _INVALID:
            self._set_quality(quality)
            return
        self.update(reading.value, quality, reading.timestamp)

    @property
    def attribute_name(self) -> str:
        """The Tango attribute."""
        return self._tango.attribute_name

    @property
    def device_name(self) -> str:
        """The Tango device."""
        return self._tango.device_name

    @property
    def read_as_str(self) -> bool:
        """Whether the value is read as a string."""
        return self._tango.read_as_str

    @property
    def timeout(self) -> float:
        """Seconds; the default limit of one read, write or query."""
        return self._tango.timeout

    @timeout.setter
    def timeout(self, seconds: float) -> None:
        self._tango.timeout = seconds

    @property
    def mode(self) -> str:
        """``"events"``, ``"poll"`` or ``"read"`` (``"poll"`` after a fallback)."""
        return self._tango.mode

    @property
    def polling_fallback(self) -> bool:
        """Whether an ``events`` channel fell back to client polling."""
        return self._tango.polling_fallback

    @property
    def missed_event_reports(self) -> int:
        """How many ``API_MissedEvents`` reports Tango sent (events it lost)."""
        return self._tango.missed_event_reports

    @property
    def error_events(self) -> int:
        """Error events received (``API_MissedEvents``, ``API_EventTimeout``...)."""
        return self._tango.error_events

    @property
    def read_backs(self) -> int:
        """Values the channel read itself and delivered because they changed.

        Read after a subscription or after Tango lost events; not events.
        """
        return self._tango.read_backs

    @property
    def sink(self) -> EventCallback | None:
        """The event callback of an ``events`` channel (``None`` in other modes).

        Tango calls its ``push_event``; it puts each event into the channel's
        inbox of the bridge's sink.
        """
        return self._tango.events

    @property
    def coalesce(self) -> bool:
        """Whether queued values merge: the hub delivers only the latest.

        Opt-in (default off), for receivers that show a value, like a GUI,
        and need no intermediate one. Only values of the same quality merge;
        error events and read-backs are never merged. Any thread.
        """
        return self._tango.inbox.coalesce

    @coalesce.setter
    def coalesce(self, on: bool) -> None:
        self._tango.inbox.coalesce = bool(on)

    @property
    def merged_updates(self) -> int:
        """Values merged into a later one before the hub delivered them."""
        return self._tango.inbox.statistics().merged

    def delivery_statistics(self) -> InboxStatistics:
        """Return the counters of the channel's inbox into the hub; any thread."""
        return self._tango.inbox.statistics()

    def statistics(self) -> dict[str, int]:
        """Return the event counts of this channel (zeros outside ``events``).

        ``received``: events Tango handed over (values and errors);
        ``queued``: waiting for the hub now (events and other items of the
        channel's inbox); ``merged``: values replaced by a later one before
        the hub delivered them (by :attr:`coalesce`, or because the queue held
        ``MAX_DEPTH`` (50,000) items); ``dropped``: events discarded because
        the queue was full of items that never merge (counted by the inbox,
        see :meth:`delivery_statistics`); ``errors``: error events;
        ``missed_reports``: ``API_MissedEvents`` reports among them (events
        Tango itself lost); ``read_backs``: values the channel read itself and
        delivered because they changed something (not in ``received``).
        """
        return self._tango.statistics()

    def get_value(self, force: bool = False, timeout: float | None = None) -> Any:
        """Return the attribute's value.

        An ``events`` or polled channel returns its last value unless ``force``
        is true or none was received yet; a channel without ``polling`` reads
        the device each time (and emits ``update`` when the value or quality
        changed). A read waits cooperatively in a greenlet (natively in a plain
        thread). When such a read cannot reach the device or times out, the
        channel also becomes disconnected (quality ``INVALID``, in the hub
        thread) and retries by itself as after a failed first read, emitting
        the value again once the device answers.

        :param timeout: seconds; default the XML ``timeout``.
        :raises NotConnectedError: the channel is closed.
        :raises TangoNotConnectedError: the device cannot be reached.
        :raises TangoCommunicationError: the read failed (Tango's reasons attached).
        :raises Timeout: no answer within ``timeout``.
        """
        if self._closed:
            raise NotConnectedError(f"{self.source()} is closed")
        if (
            not force
            and not self._tango.reads_on_demand
            and self._value is not NOT_INITIALIZED
        ):
            return self._value
        return self._tango.read(timeout).value

    getValue = get_value

    def set_value(self, value: Any, timeout: float | None = None) -> None:
        """Write ``value`` to the attribute and wait for the device to accept it.

        An enum attribute also accepts a label (``"RUNNING"``). Writes and
        commands to one device are sent one at a time, in order; a write
        whose ``timeout`` runs out before it was sent is dropped and never
        reaches the device (the :class:`TangoTimeout` says "not sent"), one
        already sent may still take effect ("sent, outcome unknown").

        :param timeout: seconds; default the XML ``timeout``.
        :raises NotConnectedError: the channel is closed.
        :raises TangoNotConnectedError: the device cannot be reached.
        :raises TangoCommunicationError: the device refused the value.
        :raises TangoTimeout: no answer within ``timeout``.
        :raises ValueError: an unknown enum label.
        """
        super().set_value(value, timeout)

    setValue = set_value

    def get_info(self, timeout: float | None = None) -> tango.AttributeInfoEx:
        """Return the attribute's configuration (``tango.AttributeInfoEx``).

        Fresh from the device each time: unit, format, ranges, ``enum_labels``...

        :raises TangoNotConnectedError: the device cannot be reached.
        :raises Timeout: no answer within ``timeout`` seconds.
        """
        return self._tango.get_info(timeout)

    def get_enum_labels(self, timeout: float | None = None) -> list[str]:
        """Return the labels of an enum attribute (empty for other types).

        Queried once from the device, then cached.
        """
        return self._tango.get_enum_labels(timeout)
