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
import weakref
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import tango
from greenlet import getcurrent

from ..bridge import Inbox, InboxStatistics, get_bridge, native, sink_for
from ..CommandContainer import NOT_INITIALIZED, ChannelObject, CommandObject, Quality
from ..errors import BridgeClosedError, ConfigError, NotConnectedError, Timeout
from ..policies import ConnectionHealth, values_equal
from ._tango import (
    FALLBACK_REASONS,
    MAX_DEPTH,
    QUALITIES,
    READ_BACK,
    ChannelMode,
    DeviceLink,
    EventCallback,
    EventItem,
    EventMode,
    PendingCall,
    PollMode,
    Reading,
    ReadMode,
    TangoCommandFailedError,
    TangoCommunicationError,
    TangoErrorDetails,
    TangoNotConnectedError,
    TangoTimeout,
    WorkerPool,
    acquire_link,
    release_link,
    released_links,
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
#: ms; how often a ``polling="events"`` channel polls when the server sends no events
FALLBACK_POLLING_PERIOD = 1000
#: seconds; first wait before reconnecting a failed channel (Tango refuses a
#: reconnection within 1 s of the previous one, pytango #375)
RETRY_DELAY_MIN = 1.0
#: seconds; the wait doubles after each failure up to this bound
RETRY_DELAY_MAX = 3.0
#: ms; the shortest polling period accepted (a shorter one would keep a core busy)
MIN_POLLING_PERIOD = 10
#: ms; the shortest ``timeout`` accepted
MIN_TIMEOUT = 1
#: ms; the longest ``timeout`` accepted (Tango's client keeps it in a signed
#: 32-bit integer: a longer one made every call of that device fail)
MAX_TIMEOUT = 2**31 - 1
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
# seconds close() waits for a device's worker threads to end
_CLOSE_WAIT = 5.0
# seconds between two log messages about events Tango lost
_MISSED_LOG_INTERVAL = 10.0


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


# -- blocking Tango calls (worker and poller threads only) -------------------------
def _command_inout(proxy: tango.DeviceProxy, command: str, args: tuple[Any, ...]):
    if not args:
        return proxy.command_inout(command)
    if len(args) == 1:
        return proxy.command_inout(command, args[0])
    return proxy.command_inout(command, list(args))


def _read(proxy: tango.DeviceProxy, attribute: str, extract: Any):
    return proxy.read_attribute(attribute, extract_as=extract)


def _write(proxy: tango.DeviceProxy, attribute: str, value: Any) -> None:
    try:
        proxy.write_attribute(attribute, value)
    except TypeError:
        # PyTango converts the value with the attribute's configuration; when
        # the device cannot be reached that lookup fails and PyTango reports an
        # "unsupported data_format" TypeError. Let the real cause surface.
        proxy.ping()
        raise


def _config(proxy: tango.DeviceProxy, attribute: str):
    return proxy.get_attribute_config(attribute)


def _await(
    call: PendingCall,
    timeout: float | None,
    device: str,
    target: str,
    what: str,
) -> Any:
    """Wait for ``call``; if the wait is given up, make sure it is never sent.

    The wait ends early on a :class:`Timeout` (``timeout`` here, or the
    caller's own ``gevent.Timeout``) or when the waiting greenlet is killed.
    A call still queued is then taken back and never reaches the device: the
    error says "not sent". A call already sent cannot be recalled: the error
    says "sent, outcome unknown" (the device may still act on it).

    :param timeout: seconds; ``None`` waits until the call ends (or the
        caller's own timeout fires).
    :param device: the device, for the error.
    :param target: ``"command Name"`` or ``"attribute name"``, for the error.
    :param what: the call in words (``"write of attribute x"``), for the error.
    :raises TangoTimeout: the wait timed out (whatever its source); its
        ``sent`` says whether the call had left.
    """
    try:
        return call.result.get(timeout)
    except BaseException as exc:
        if call.result.ready():
            raise  # the call's own outcome
        sent = not call.cancel()
        if sent:
            fate = "sent, outcome unknown: the device may still carry it out"
        else:
            fate = "not sent: dropped before it reached the device"
        if not isinstance(exc, Timeout):
            log.info(
                "%s: %s abandoned (%s); %s", device, what, type(exc).__name__, fate
            )
            raise
        if timeout is None:
            text = f"{exc}; {fate}"
        else:
            text = f"{device}: {what} did not complete within {timeout:g} s; {fate}"
        error = TangoTimeout(text)
        error.set_details(device, target, ())
        error.sent = sent
        raise error from exc


def _can_wait(bridge: Any) -> bool:
    return getcurrent() is not bridge.hub


def _wait_released(link: DeviceLink, ended: Any, bridge: Any) -> None:
    """Wait for a released link's threads, unless a call holds them.

    A call in flight (a command on a frozen device) may hold a thread for the
    device's whole Tango timeout: then ``close()`` returns at once and the
    repository's shutdown reports the device (:func:`lingering`).
    """
    if ended is not None and _can_wait(bridge) and not link.busy():
        ended.wait(_CLOSE_WAIT)


def lingering(timeout: float = 0.0) -> list[str]:
    """Wait for released devices' threads; describe those still running.

    Called by the repository's ``shutdown()`` after closing every item. Waits
    cooperatively in a greenlet (natively in a plain thread) up to ``timeout``
    seconds in all.

    :returns: one line per device whose worker or health threads still run,
        naming the calls in flight.
    """
    deadline = native.monotonic() + timeout
    problems = []
    for link in released_links():
        if not link.ended.wait(max(0.0, deadline - native.monotonic())):
            calls = ", ".join(link.busy()) or "none"
            problems.append(
                f"Tango device {link.device}: threads still running after "
                f"shutdown (calls in flight: {calls})"
            )
    return problems


def _health_listener(
    handler: Callable[[bool, str], None],
) -> Callable[[bool, str], None]:
    """Return a health listener that calls ``handler`` in the health thread.

    ``handler`` (a bound method that hands the verdict to its hub, any thread)
    is held weakly: the device's health must not keep a forgotten item alive.
    """
    ref = weakref.WeakMethod(handler)

    def listener(alive: bool, why: str) -> None:
        method = ref()
        if method is not None:
            method(alive, why)

    return listener


class TangoCommandBackend:
    """The Tango side of a :class:`TangoCommand` (a ``CommandBackend``).

    Called in the command's hub thread: the Tango call runs in one of the
    device's worker threads while the caller waits cooperatively. Calls to one
    device are sent one at a time, in order, and a call whose caller gave up
    before it was sent is never sent (see :class:`TangoCommand`).

    Args:
        name: the command's name in its container.
        command: the Tango command name.
        device: the device name.
        timeout: seconds; the default limit of one call (Tango's own client
            timeout is made longer than it).
    """

    def __init__(
        self, name: str, command: str, device: str, timeout: float | None
    ) -> None:
        self.name = name
        self.command = command
        self.device_name = device
        self._target = f"command {command}"
        self._on_connection: Callable[[bool], None] | None = None
        self._closed = False
        self._link: DeviceLink = acquire_link(device)
        self._link.want_timeout(timeout)
        self._health_token: int | None = None

    def source(self) -> str:
        """Name the command, its device and its Tango command, for messages."""
        return f"TangoCommand {self.name!r} ({self.device_name} command {self.command})"

    def connect(self, on_connection: Callable[[bool], None]) -> bool:
        """Report the device's reachability to ``on_connection`` from now on.

        ``on_connection`` is called from the device's health thread at each
        change of its verdict (see :mod:`._tango._health`) and in the hub
        thread after each call (reached the device or not); it must not block.

        Returns:
            Whether the device answers pings now.
        """
        self._on_connection = on_connection
        health = self._link.health
        self._health_token = health.watch(_health_listener(self._on_health))
        return bool(health.alive)

    def _on_health(self, alive: bool, why: str) -> None:
        """Health thread: the device answers pings again, or stopped answering."""
        if self._on_connection is not None and not self._closed:
            self._on_connection(alive)

    def _reached(self, reached: bool) -> None:
        if self._on_connection is not None:
            self._on_connection(reached)

    def call(
        self, args: tuple[Any, ...], kwargs: Mapping[str, Any], timeout: float | None
    ) -> Any:
        """Execute the command once, waiting cooperatively for its reply.

        Zero arguments call the command without input, one argument is its
        input, several are sent as one array input. ``timeout`` (seconds)
        makes Tango's own client timeout longer than it; the command object
        applies it to the wait.

        Raises:
            TangoCommandFailedError: the device answered with an error.
            TangoNotConnectedError: the device cannot be reached.
            TangoTimeout: the wait was given up (``sent`` says whether the
                call had left).
            TypeError: keyword arguments were given.
        """
        if kwargs:
            raise TypeError(
                f"{self.source()}: unexpected keyword arguments {sorted(kwargs)}"
            )
        self._link.want_timeout(timeout)
        call = self._link.call(
            self._target,
            _command_inout,
            self.command,
            args,
            command=True,
            ordered=True,
        )
        try:
            value = _await(call, None, self.device_name, self._target, self._target)
        except NotConnectedError:
            self._reached(False)
            raise
        except (TangoCommandFailedError, TangoCommunicationError):
            self._reached(True)
            raise
        self._reached(True)
        return value

    def abort(self) -> None:
        """Do nothing: Tango has no generic way to stop a command."""

    def close(self) -> None:
        """Release the device; idempotent.

        Waits cooperatively (at most 5 s) for the device's worker threads when
        this was the device's last item and the caller is a greenlet.
        """
        if self._closed:
            return
        self._closed = True
        if self._health_token is not None:
            self._link.health.unwatch(self._health_token)
        ended = release_link(self._link)
        _wait_released(self._link, ended, get_bridge())


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
        super().__init__(name, username)
        if not tangoname:
            raise ConfigError(f"Tango channel {name!r} has no device name")
        self.attribute_name = attribute_name
        self.device_name = tangoname
        self.timeout = timeout
        self.read_as_str = bool(read_as_str)
        kind, self.polling_period = _polling(polling)
        #: whether an ``events`` channel fell back to client polling
        self.polling_fallback = False
        self._target = f"attribute {attribute_name}"
        self._extract = tango.ExtractAs.String if read_as_str else tango.ExtractAs.Numpy
        self._enum_labels: list[str] | None = None
        self._stopping = False
        self._retry_timer = _HubTimer(self._bridge)
        self._read_back_timer = _HubTimer(self._bridge)
        # Outages logged once, their recovery, and the retry back-off; the
        # shared policy, used in the hub thread only.
        self._outages: ConnectionHealth[str] = ConnectionHealth(
            self.source, log, RETRY_DELAY_MIN, RETRY_DELAY_MAX
        )
        #: how many ``API_MissedEvents`` reports Tango sent (events it lost)
        self.missed_event_reports = 0
        #: error events received (``API_MissedEvents``, ``API_EventTimeout``...)
        self.error_events = 0
        #: values read back after a subscription or lost events and delivered
        #: because they changed something (they are not events)
        self.read_backs = 0
        self._missed_logged_at = -_MISSED_LOG_INTERVAL  # hub thread only
        # Everything other threads hand to this channel (events, reads made in
        # workers, health verdicts, failures) enters the hub here, in order.
        self._hub_inbox: Inbox = sink_for(self._bridge).inbox(
            self._on_hub_item,
            label=self.source(),
            capacity=MAX_DEPTH,
            budget=HUB_SLICE,
            linger=LINGER,
            burst_linger=BUSY_LINGER,
        )
        self._link: DeviceLink = acquire_link(tangoname)
        self._link.want_timeout(timeout)
        # The device's verdict as last handed to this hub: None (not known
        # yet), True (answers pings), False (dead or frozen); hub thread only.
        self._device_alive: bool | None = None
        self._health_token = self._link.health.watch(
            _health_listener(self._on_health_threadsafe)
        )
        try:
            self._mode = self._make_mode(kind)
            self._mode.start()
        except BaseException:
            # A channel that fails to be created releases what it opened.
            self._link.health.unwatch(self._health_token)
            release_link(self._link)
            self._hub_inbox.close()
            raise

    def _make_mode(self, kind: str) -> ChannelMode:
        post = self._call_in_hub
        if kind == "events":
            return EventMode(
                self._link,
                self.attribute_name,
                self._extract,
                EventCallback(self._hub_inbox),
                self._on_failure,
                self._fall_back_to_polling,
                post,
                self.source(),
                self._on_subscribed,
            )
        if kind == "poll":
            assert self.polling_period is not None, self.source()
            return self._poll_mode(self.polling_period)
        return ReadMode(
            self._link, self._read, self._on_reading, self._on_failure, post
        )

    def _poll_mode(self, period_ms: float) -> PollMode:
        return PollMode(self._read, period_ms, self._on_reading, self._on_poll_error)

    @property
    def mode(self) -> str:
        """``"events"``, ``"poll"`` or ``"read"`` (``"poll"`` after a fallback)."""
        return self._mode.name

    @property
    def sink(self) -> EventCallback | None:
        """The event callback of an ``events`` channel (``None`` in other modes).

        Tango calls its ``push_event``; it puts each event into the channel's
        inbox of the bridge's sink.
        """
        return self._mode.callback if isinstance(self._mode, EventMode) else None

    @property
    def coalesce(self) -> bool:
        """Whether queued values merge: the hub delivers only the latest.

        Opt-in (default off), for receivers that show a value, like a GUI,
        and need no intermediate one. Only values of the same quality merge;
        error events and read-backs are never merged. Any thread.
        """
        return self._hub_inbox.coalesce

    @coalesce.setter
    def coalesce(self, on: bool) -> None:
        self._hub_inbox.coalesce = bool(on)

    @property
    def merged_updates(self) -> int:
        """Values merged into a later one before the hub delivered them."""
        return self._hub_inbox.statistics().merged

    def delivery_statistics(self) -> InboxStatistics:
        """Return the counters of the channel's inbox into the hub; any thread."""
        return self._hub_inbox.statistics()

    def _call_in_hub(self, func: Callable[..., None], *args: Any) -> None:
        """Run ``func(*args)`` in the hub, in order with the events; any thread.

        Ignored once the channel or the hub's bridge is closed.
        """
        try:
            self._hub_inbox.put_barrier(partial(func, *args))
        except BridgeClosedError:
            pass  # the hub is shutting down: nobody to tell

    def _on_health_threadsafe(self, alive: bool, why: str) -> None:
        """Health thread: hand the device's verdict to the hub."""
        self._call_in_hub(self._on_health, alive, why)

    def source(self) -> str:
        """Name the channel, its device and attribute, for messages."""
        return (
            f"TangoChannel {self._name!r} ({self.device_name} "
            f"attribute {self.attribute_name})"
        )

    # -- device health ----------------------------------------------------------
    def _on_health(self, alive: bool, why: str) -> None:
        """Hub: the device answers pings again, or stopped answering."""
        if self._stopping:
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

    def _on_subscribed(self) -> None:
        """Hub: a subscription reached the device; read once more a bit later."""
        if not self._stopping and not self._read_back_timer.pending:
            self._read_back_timer.start(READ_BACK_DELAY, self._read_back)

    def _read_back(self) -> None:
        if not self._stopping and isinstance(self._mode, EventMode):
            self._mode.reread_if_quiet(self._read_stamped)

    # -- fallback ---------------------------------------------------------------
    def _fall_back_to_polling(self, reasons: list[str]) -> None:
        """Hub: the server sends no change events for the attribute; poll it."""
        if self._stopping or self.polling_fallback:
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
        self._mode = self._poll_mode(FALLBACK_POLLING_PERIOD)
        self._mode.start()

    # -- blocking read (worker and poller threads) ------------------------------
    def _read_attribute(self) -> Any:
        return self._link.read_in_thread(
            self._target, _read, self.attribute_name, self._extract
        )

    def _read(self) -> Reading:
        attr = self._read_attribute()
        return Reading(attr.value, attr.quality)

    def _read_stamped(self) -> tuple[Any, Any, float]:
        attr = self._read_attribute()
        return attr.value, attr.quality, attr.time.totime()

    # -- hub-side delivery ---------------------------------------------------------
    def _on_hub_item(self, item: EventItem | partial[None], merged: int) -> None:
        """Dispatcher greenlet: handle one item of the channel's inbox.

        An :data:`EventItem` is an event or a read-back; anything else is a
        call handed over by :meth:`_call_in_hub`. The common case (a value of
        a known quality other than ``INVALID`` while connected) goes straight
        to :meth:`update`; everything else takes the general path of
        :meth:`_deliver` and :meth:`_on_error_event`. ``merged`` (values this
        one replaced) is counted by the inbox.
        """
        if self._stopping:
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
        quality = QUALITIES.get(tango_quality, Quality.INVALID)
        if quality is Quality.INVALID or self._outages.in_outage or not self._connected:
            self._deliver(value, tango_quality, timestamp)
            return
        self.update(value, quality, timestamp)

    def statistics(self) -> dict[str, int]:
        """Return the event counts of this channel (zeros outside ``events``).

        ``received``: events Tango handed over (values and errors);
        ``queued``: waiting for the hub now (events and other items of the
        channel's inbox); ``merged``: values replaced by a later one before
        the hub delivered them (by :attr:`coalesce`, or because the queue held
        :data:`~._tango._events.MAX_DEPTH` items); ``dropped``: events
        discarded because the queue was full of items that never merge
        (counted by the inbox, see :meth:`delivery_statistics`); ``errors``:
        error events;
        ``missed_reports``: ``API_MissedEvents`` reports among them (events
        Tango itself lost); ``read_backs``: values the channel read itself and
        delivered because they changed something (not in ``received``).
        """
        sink = self.sink
        inbox = self._hub_inbox.statistics()
        return {
            "received": sink.received if sink else 0,
            "queued": inbox.depth if sink else 0,
            "merged": inbox.merged,
            "dropped": inbox.dropped,
            "errors": self.error_events,
            "missed_reports": self.missed_event_reports,
            "read_backs": self.read_backs,
        }

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

    def _deliver(self, value: Any, tango_quality: Any, timestamp: float | None) -> None:
        if self._device_alive is False:
            # A value read or sent before the device died or froze: it must
            # not make the channel look live. The recovery reads afresh.
            return
        self._outages.back()
        self._outages.backoff.reset()
        self.set_connected(True)
        quality = QUALITIES.get(tango_quality, Quality.INVALID)
        if quality is Quality.INVALID:
            if self._quality is not Quality.INVALID:
                self._quality = Quality.INVALID
                self._send("qualityChanged", (Quality.INVALID,))
            return
        self.update(value, quality, timestamp)

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
        if isinstance(self._mode, EventMode):
            self._mode.reread(self._read_stamped)

    def _disconnected(self, why: str) -> None:
        self._outages.lost(why, why)
        self.set_connected(False)

    def _on_reading(self, reading: Reading) -> None:
        if not self._stopping:
            self._deliver(reading.value, reading.quality, None)

    def _on_poll_error(self, exc: BaseException) -> None:
        self._on_failure(exc)

    def _on_failure(self, exc: BaseException) -> None:
        """Hub: a poll, a read or a subscription failed; report, retry later."""
        if self._stopping:
            return
        if self._retry_timer.pending:  # a retry is already due
            self._disconnected(str(exc))
            return
        delay = self._outages.backoff.next_delay()
        self._disconnected(f"{exc}; retrying in {delay:g} s")
        self._retry_timer.start(delay, self._retry)

    def _retry(self) -> None:
        if not self._stopping:
            self._mode.restart()

    # -- reading, writing, configuration --------------------------------------------
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
        return _await(
            call,
            limit,
            self.device_name,
            self._target,
            f"{what} of attribute {self.attribute_name}",
        )

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
        on_demand = self._mode.reads_on_demand
        if not force and not on_demand and self._value is not NOT_INITIALIZED:
            return self._value
        try:
            attr = self._call(
                "read", _read, self.attribute_name, self._extract, timeout=timeout
            )
        except (NotConnectedError, Timeout) as exc:
            if on_demand and not self._closed:
                # The only way this channel learns of an outage: say so at
                # once (in the hub), then retry as after a failed first read.
                if self._bridge.in_hub_thread():
                    self._on_failure(exc)
                else:
                    self._call_in_hub(self._on_failure, exc)
            raise
        if on_demand and self._bridge.in_hub_thread():
            self._deliver_if_changed(attr.value, attr.quality)
        return attr.value

    getValue = get_value

    def _deliver_if_changed(
        self, value: Any, tango_quality: Any, timestamp: float | None = None
    ) -> bool:
        quality = QUALITIES.get(tango_quality, Quality.INVALID)
        if (
            self._value is NOT_INITIALIZED
            or quality is not self._quality
            or not values_equal(self._value, value)
        ):
            self._deliver(value, tango_quality, timestamp)
            return True
        return False

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
        if isinstance(value, str) and not self.read_as_str:
            labels = self.get_enum_labels(timeout=timeout)
            if labels:
                if value not in labels:
                    raise ValueError(
                        f"{self.source()}: {value!r} is not one of {labels}"
                    )
                value = labels.index(value)
        self._call(
            "write", _write, self.attribute_name, value, timeout=timeout, ordered=True
        )

    setValue = set_value

    def get_info(self, timeout: float | None = None) -> tango.AttributeInfoEx:
        """Return the attribute's configuration (``tango.AttributeInfoEx``).

        Fresh from the device each time: unit, format, ranges, ``enum_labels``...

        :raises TangoNotConnectedError: the device cannot be reached.
        :raises Timeout: no answer within ``timeout`` seconds.
        """
        return self._call(
            "configuration query", _config, self.attribute_name, timeout=timeout
        )

    def get_enum_labels(self, timeout: float | None = None) -> list[str]:
        """Return the labels of an enum attribute (empty for other types).

        Queried once from the device, then cached.
        """
        if self._enum_labels is None:
            info = self.get_info(timeout=timeout)
            self._enum_labels = list(info.enum_labels or [])
        return self._enum_labels

    # -- closing -------------------------------------------------------------------
    def close(self) -> None:
        """Unsubscribe, stop polling and release the device; hub thread.

        Waits cooperatively (at most 5 s) for the device's worker threads when
        this was the device's last item and the caller is a greenlet. Later
        calls of :meth:`get_value` raise ``NotConnectedError``.
        """
        if self._closed:
            return
        self._stopping = True
        self._retry_timer.cancel()
        self._read_back_timer.cancel()
        self._link.health.unwatch(self._health_token)
        self._mode.stop()
        self._hub_inbox.close()
        ended = release_link(self._link)
        super().close()
        _wait_released(self._link, ended, self._bridge)
