"""Type ``tine``: commands and monitored channels on TINE servers (DESY).

XML, as in mxCuBE (times in milliseconds)::

    <object class="P14Attenuators">
      <tinename>/P14/Attenuators/Filter</tinename>
      <command type="tine" name="setFilter" timeout="5000">FILTER.SET</command>
      <channel type="tine" name="filter">FILTER</channel>
      <channel type="tine" name="ring" tinename="/PETRA/Idc/Buffer-0"
               attach="datachange" tolerance="0.5%">I.SCH</channel>
      <channel type="tine" name="state" attach="event" verbose="True"
               message="Attenuator server unreachable">STATE</channel>
      <channel type="tine" name="spectrum" size="2048">SPECTRUM</channel>
    </object>

* element text: the TINE property;
* ``tinename``: the server address; if absent, the object's ``tinename`` (or
  ``tine_name``) property;
* ``timeout``: ms (default 1000): the client timeout of gets and sets, and the
  link interval (the fourth argument of ``attach``/``notify``/``update``, as
  mxCuBE passed it);
* ``attach`` (channels): ``timer`` (default; ``tine.attach``: the server sends
  the value every interval, the channel emits changes only), ``event``
  (``tine.notify``: the server sends events) or ``datachange``
  (``tine.update``: the server sends a value when it moved by more than the
  tolerance);
* ``size``: the number of elements of an array property (fifth argument);
* ``tolerance`` (datachange): absolute (``"0.01"``), or relative in percent
  (``"0.5%"``), given to ``tine.tolerance``;
* ``verbose`` / ``message``: report link errors to the user log
  (``user_level_log``, shown in mxCuBE's GUI), with ``message`` as the text;
* ``list_args`` (commands): literal default argument sent when the command is
  called without one (mxCuBE accepted and ignored it);
* ``retry`` / ``retry_max`` (extension): ms; delays between attempts to attach
  a link that failed (default 1000 and 30000);
* ``simulated="true"`` on the element or as a property of the object, or the
  environment variable ``HWR_TINE_SIMULATION=1``: use the SIMULATED client
  (:mod:`.tine_sim`). Nothing else selects it.

The real client is the ``tine`` Python module (DESY's TINE binding, as used by
mxCuBE); it is imported when the first tine item is created, so only
configurations that use TINE need it. The calls made are listed in
``docs/taco-tine.md``.

Threads: ``get``, ``set`` and ``attach`` block, so they run in worker threads
and the caller waits cooperatively; ``detach`` and ``tolerance`` are local and
run in the hub thread. Link callbacks arrive in TINE's threads; they compare
the value with the last one and hand changes to the hub through the bridge
(the channel's inbox of the hub sink): no polling, no sleeping drain loop.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from types import ModuleType
from typing import Any

import gevent

from ..bridge import native, spawn_logged
from ..commands import (
    NOT_INITIALIZED,
    ChannelObject,
    CommandObject,
    Reading,
    ReadingListener,
)
from ..errors import (
    CommandFailedError,
    CommunicationError,
    ConfigError,
)
from ..policies import values_equal
from ._client_backends import ClientCall, ClientChannelBackend, ClientCommandBackend
from ._common import (
    ClientLibrary,
    XmlAttributes,
    call_and_wait,
    parse_args,
)

__all__ = [
    "ATTACH_MODES",
    "CC_IGNORED",
    "CLIENT_MODULE",
    "INHERITED_PROPERTIES",
    "SIMULATION_ENV",
    "TineChannel",
    "TineChannelBackend",
    "TineCommand",
    "TineCommandBackend",
    "load_client",
    "make_channel",
    "make_command",
]

log = logging.getLogger("HardwareRepository.Command.Tine")
user_log = logging.getLogger("user_level_log")

INHERITED_PROPERTIES = {"tinename": ("tinename", "tine_name")}
#: the real client library's module
CLIENT_MODULE = "tine"
#: set to 1 to use the simulated client for every tine item
SIMULATION_ENV = "HWR_TINE_SIMULATION"
#: XML ``attach`` value -> the client function opening that kind of link
ATTACH_MODES = {"timer": "attach", "event": "notify", "datachange": "update"}
#: callback completion code that is not an error (mxCuBE ignored it too)
CC_IGNORED = 103
#: default client timeout / link interval, seconds
DEFAULT_TIMEOUT = 1.0

_LIBRARY = ClientLibrary(
    type_name="tine",
    system="TINE",
    real_module=CLIENT_MODULE,
    simulated_module="HardwareRepository.Command.tine_sim",
    description="TINE client library (DESY's tine Python binding)",
    env_var=SIMULATION_ENV,
    logger=log.name,
)
# Extra wait beyond the client's own timeout before we give up on a call.
_GRACE = 1.0


#: ``load_client(simulated) -> module``: ``tine`` or the simulated client;
#: raises ``MissingClientLibraryError`` (an ``ImportError`` and a
#: ``ConfigError`` naming the library) when the real one is not installed
load_client = _LIBRARY.load


def parse_tolerance(raw: Any) -> tuple[float, float]:
    """Return ``(absolute, relative_percent)`` from an XML ``tolerance``.

    ``"0.5%"`` -> ``(0.0, 0.5)``; ``0.01`` -> ``(0.01, 0.0)``.

    :raises ConfigError: not a non-negative number (with an optional ``%``).
    """
    if raw is None:
        return 0.0, 0.0
    text = str(raw).strip()
    relative = text.endswith("%")
    try:
        number = float(text.rstrip("%").strip())
    except ValueError:
        raise ConfigError(
            f"tolerance={raw!r} is not a number (absolute) or a percentage"
        ) from None
    if number < 0:
        raise ConfigError(f"tolerance={raw!r} must not be negative")
    return (0.0, number) if relative else (number, 0.0)


def make_command(
    name: str, text: str, attrs: dict[str, Any], owner: Any
) -> TineCommand:
    """Create a :class:`TineCommand` from its XML (see the module doc)."""
    xml = XmlAttributes(_LIBRARY, "command", name, attrs, owner)
    list_args = xml.pop("list_args")
    if list_args is None:
        list_args = xml.pop("ListArgs")
    return xml.create(
        TineCommand,
        text,
        tinename=xml.device("tinename", "TINE server"),
        list_args=list_args,
        timeout=xml.milliseconds("timeout", DEFAULT_TIMEOUT),
    )


def make_channel(
    name: str, text: str, attrs: dict[str, Any], owner: Any
) -> TineChannel:
    """Create a :class:`TineChannel` from its XML (see the module doc)."""
    xml = XmlAttributes(_LIBRARY, "channel", name, attrs, owner)
    what = xml.what
    mode = str(xml.pop("attach", "timer") or "timer").strip().lower()
    if mode not in ATTACH_MODES:
        raise ConfigError(
            f"{what}: attach={mode!r} is not one of {', '.join(ATTACH_MODES)}"
        )
    size = xml.pop("size")
    if size is not None and (
        isinstance(size, bool) or not isinstance(size, int) or size <= 0
    ):
        raise ConfigError(f"{what}: size={size!r} must be a positive integer")
    tolerance = parse_tolerance(xml.pop("tolerance"))
    if tolerance != (0.0, 0.0) and mode != "datachange":
        log.warning(
            '%s: tolerance applies to attach="datachange" only; ignored with attach=%r',
            what,
            mode,
        )
        tolerance = (0.0, 0.0)
    retry, retry_max = xml.retry()
    message = xml.pop("message")
    return xml.create(
        TineChannel,
        text,
        tinename=xml.device("tinename", "TINE server"),
        timeout=xml.milliseconds("timeout", DEFAULT_TIMEOUT),
        attach=mode,
        size=size,
        tolerance=tolerance,
        verbose=xml.flag("verbose", False),
        message=None if message is None else str(message),
        retry=retry,
        retry_max=retry_max,
    )


def _server(kind: str, name: str, tinename: str | None) -> str:
    if not tinename:
        raise ConfigError(f"tine {kind} {name!r} has no server address")
    return str(tinename)


def _tine_get(
    client: ModuleType, tinename: str, prop: str, timeout: float, source: str
) -> Any:
    """``tine.get`` in a worker thread; cooperative wait.

    :param timeout: seconds: the client's timeout; the wait is abandoned
        :data:`_GRACE` s later.
    :raises CommunicationError: the read failed (``IOError`` as cause).
    :raises Timeout: the client did not return in time.
    """
    return call_and_wait(
        client.get,
        tinename,
        prop,
        int(timeout * 1000),
        source=source,
        limit=timeout + _GRACE,
        failure=CommunicationError,
        action="get",
    )


class TineCommandBackend(ClientCommandBackend):
    """The TINE side of a :class:`TineCommand` (a ``CommandBackend``).

    Args:
        name: the command's name.
        tinename: the server address.
        prop: the TINE property written.
        default_argument: what a call without argument sends.
        timeout: seconds: the client timeout of each call.
        client: the client module; ``None``: as the environment selects.
    """

    def __init__(
        self,
        name: str,
        tinename: str,
        prop: str,
        default_argument: Any,
        timeout: float,
        client: ModuleType | None,
    ) -> None:
        super().__init__(_LIBRARY, "command", name, f"{tinename} {prop}", client)
        self.tinename = tinename
        self.prop = prop
        self.default_argument = default_argument
        self.timeout = timeout

    def client_call(
        self, args: tuple[Any, ...], kwargs: Mapping[str, Any]
    ) -> ClientCall:
        """Return ``tine.set`` of the first argument (default: the XML one).

        Raises:
            TypeError: keyword arguments or more than one argument.
        """
        if kwargs or len(args) > 1:
            raise TypeError(
                f"{self.source()}: a TINE command takes one argument (the data)"
            )
        data = args[0] if args else self.default_argument
        timeout_ms = int(self.timeout * 1000)
        return "set", self.client.set, (self.tinename, self.prop, data, timeout_ms)

    def get(self, timeout: float) -> Any:
        """Read the property (``tine.get``); see :class:`TineCommand`."""
        return _tine_get(self.client, self.tinename, self.prop, timeout, self.source())


class TineCommand(CommandObject):
    """A TINE property written as a command: ``tine.set(server, property, arg)``.

    Calling: see :meth:`CommandObject.__call__` (``wait=``, ``timeout=``, the
    command signals). The first argument is sent (default: ``list_args``, else
    an empty list, as mxCuBE sent); ``tine.set`` blocks, so it runs in a
    worker thread while the caller waits cooperatively. A failure raises
    :class:`~HardwareRepository.errors.CommandFailedError` (the client's
    ``IOError`` as ``__cause__``) after ``commandFailed`` is emitted, as
    mxCuBE's re-raise did.

    :param command_name: the TINE property.
    :param tinename: the server address.
    :param list_args: the default argument: literals as in XML ``args``.
    :param timeout: seconds: the client timeout of each call; the call is
        abandoned :data:`_GRACE` s later if the client does not return.
    :param client: the client module (:func:`load_client`); default: the real
        one, or the simulated one if ``HWR_TINE_SIMULATION`` is set.
    """

    def __init__(
        self,
        name: str,
        command_name: str,
        tinename: str | None = None,
        username: str | None = None,
        list_args: Any = None,
        timeout: float = DEFAULT_TIMEOUT,
        client: ModuleType | None = None,
        **kwargs: Any,
    ) -> None:
        defaults = parse_args(list_args, "list_args")
        default_argument: Any = (
            []
            if not defaults
            else defaults[0]
            if len(defaults) == 1
            else list(defaults)
        )
        server = _server("command", name, tinename)
        self._tine = TineCommandBackend(
            name, server, command_name, default_argument, float(timeout), client
        )
        super().__init__(name, username, timeout=timeout + _GRACE, backend=self._tine)
        #: the TINE property
        self.command_name = command_name
        #: the server address
        self.tinename = server
        #: seconds: the client timeout of each call
        self.client_timeout = float(timeout)
        #: what a call without argument sends
        self.default_argument = default_argument
        #: the client module in use (real or simulated)
        self.client = self._tine.client
        #: whether :attr:`client` is the SIMULATED client
        self.simulated = self._tine.simulated

    def get(self, timeout: float | None = None) -> Any:
        """Read the property synchronously (``tine.get``); cooperative wait.

        :param timeout: seconds; default the XML ``timeout``.
        :raises CommunicationError: the read failed (``IOError`` as cause).
        :raises Timeout: the client did not return in time.
        """
        return self._tine.get(self.client_timeout if timeout is None else timeout)


class TineChannelBackend(ClientChannelBackend[tuple[int, str]]):
    """The TINE side of a :class:`TineChannel` (a ``ChannelBackend``).

    The contract's methods run in the hub thread; the link callbacks
    (:meth:`_on_callback`) in TINE's threads. See :class:`TineChannel` for
    the behaviour and the arguments.

    Args:
        display_name: the channel's display name, for the user log.
    """

    def __init__(
        self,
        name: str,
        display_name: str,
        tinename: str,
        prop: str,
        *,
        timeout: float,
        attach: str,
        size: int | None,
        tolerance: tuple[float, float],
        verbose: bool,
        message: str | None,
        retry: float,
        retry_max: float,
        client: ModuleType | None,
    ) -> None:
        super().__init__(
            _LIBRARY, name, f"{tinename} {prop}, {attach}", client, retry, retry_max
        )
        self.display_name = display_name
        self.tinename = tinename
        self.prop = prop
        self.timeout = timeout
        self.mode = attach
        self.size = size
        self.tolerance = tolerance
        self.verbose = verbose
        self.message = message
        self._lock = native.allocate_lock()
        # Guarded by _lock (TINE threads and the hub):
        self._link_id: int | None = None
        self._stopping = False
        self._last: Any = NOT_INITIALIZED
        self._link_ok = False
        self._on_reading: ReadingListener[Any] | None = None
        self._opener: gevent.Greenlet | None = None  # hub thread only

    @property
    def link_id(self) -> int | None:
        """The TINE link id while a link is open, else ``None``."""
        return self._link_id

    # -- opening the link (hub greenlet + worker thread) -------------------------
    def subscribe(self, on_reading: ReadingListener[Any]) -> None:
        """Open the link in the background; deliver changed values to ``on_reading``.

        Called once: the link is not opened again after :meth:`unsubscribe`.
        """
        with self._lock:
            self._on_reading = on_reading
        self._opener = spawn_logged(self._open_link)

    def _open_link(self) -> None:
        try:
            while not self._stopping:
                try:
                    call_and_wait(
                        self._attach_in_thread,
                        source=self.source(),
                        limit=self.timeout + _GRACE,
                    )
                except Exception as exc:
                    delay = self.backoff.next_delay()
                    why = f"cannot attach: {exc}; retrying in {delay:g} s"
                    self.report_lost((-1, why), why)
                    gevent.sleep(delay)
                else:
                    self.backoff.reset()
                    return
        finally:
            self._opener = None

    def _attach_in_thread(self) -> None:
        """Worker thread: open the link (and set its tolerance)."""
        opener = getattr(self.client, ATTACH_MODES[self.mode])
        interval = int(self.timeout * 1000)
        size = () if self.size is None else (self.size,)
        link_id = opener(self.tinename, self.prop, self._on_callback, interval, *size)
        if not isinstance(link_id, int) or link_id <= 0:
            raise CommunicationError(f"attach returned link id {link_id!r}")
        with self._lock:
            # Closed while attaching, or an attempt whose wait was abandoned
            # (timeout) returned after a retry opened the link: nobody else
            # would ever detach this one.
            unwanted = self._stopping or self._link_id is not None
            if not unwanted:
                self._link_id = link_id
        if unwanted:
            self.client.detach(link_id)
            return
        if self.mode == "datachange" and self.tolerance != (0.0, 0.0):
            self.client.tolerance(link_id, *self.tolerance)

    # -- TINE thread -------------------------------------------------------------------
    def _on_callback(self, link_id: int, cc: int, data: Any) -> None:
        """TINE thread: one link callback."""
        if cc == CC_IGNORED:
            log.debug("%s: callback code %d ignored", self.source(), cc)
            return
        with self._lock:
            if self._stopping:
                return
            recovered = cc == 0 and not self._link_ok
            changed = cc == 0 and (
                recovered
                or self._last is NOT_INITIALIZED
                or not values_equal(self._last, data)
            )
            if cc == 0:
                self._last = data
            self._link_ok = cc == 0
            listener = self._on_reading
        if cc != 0:
            why = f"link error, completion code {cc}"
            self.report_lost((cc, why), why)
            return
        if recovered:
            self.report_back()
        if changed and listener is not None:
            listener(Reading(data))

    def on_outage(self, why: str) -> None:
        """Send the first failure of an outage to the user log, with ``verbose``."""
        if self.verbose:
            user_log.error(
                "%s (%s %s: %s)",
                self.message or f"TINE channel {self.display_name} failed",
                self.tinename,
                self.prop,
                why,
            )

    # -- reading and writing ---------------------------------------------------------
    def read(self, timeout: float | None) -> Reading[Any]:
        """``tine.get`` in a worker thread; default timeout: the XML one.

        Raises:
            CommunicationError: the read failed (``IOError`` as cause).
            Timeout: the client did not return in time.
        """
        limit = self.timeout if timeout is None else timeout
        return Reading(
            _tine_get(self.client, self.tinename, self.prop, limit, self.source())
        )

    def write(self, value: Any, timeout: float | None) -> None:
        """``tine.set`` in a worker thread; default timeout: the XML one.

        Raises:
            CommandFailedError: the server refused it (``IOError`` as cause).
            Timeout: the client did not return in time.
        """
        limit = self.timeout if timeout is None else timeout
        call_and_wait(
            self.client.set,
            self.tinename,
            self.prop,
            value,
            int(limit * 1000),
            source=self.source(),
            limit=limit + _GRACE,
            failure=CommandFailedError,
            action="set",
        )

    def set_old_value(self, value: Any) -> None:
        """Set the value the next callback is compared with; any thread."""
        with self._lock:
            self._last = value

    def unsubscribe(self) -> None:
        """Detach the link; no callback delivers a value after it returns.

        One already running in a TINE thread has its value dropped.
        """
        with self._lock:
            self._stopping = True
            self._on_reading = None
            link_id, self._link_id = self._link_id, None
        opener = self._opener
        if opener is not None:
            opener.kill(block=True, timeout=1.0)
        if link_id is not None:
            try:
                self.client.detach(link_id)
            except OSError:
                log.exception("%s: detach of link %d failed", self.source(), link_id)

    def close(self) -> None:
        """Detach the link and stop reporting; idempotent."""
        self.unsubscribe()
        super().close()


class TineChannel(ChannelObject):
    """A TINE property followed through a link (timer, event or data change).

    The link's callbacks arrive in TINE's threads with a completion code:

    * ``cc == 0``: the value is compared with the previous one; a change (and
      the first value after the link was lost) is handed to the hub, which
      stores it and emits ``update(value)``. Connected from the first value.
    * ``cc == 103``: ignored (as mxCuBE did).
    * any other code: the link is lost: the channel becomes disconnected
      (quality ``INVALID``, ``disconnected`` emitted), ``(cc, text)`` is kept
      in :attr:`last_error` and logged once per outage (and sent to the user
      log with ``verbose``). TINE re-establishes the link itself; the next
      value reconnects the channel and is always emitted.

    If opening the link fails (unknown server, no such property), the channel
    stays disconnected and retries after ``retry`` s, doubling up to
    ``retry_max`` s. :meth:`close` detaches the link (the repository closes
    channels at shutdown; there is no ``atexit`` hook).

    Construct it in the owning hub thread; it never blocks there.
    ``get_value`` and ``set_value`` (default timeout: the XML one) run
    ``tine.get`` and ``tine.set`` in a worker thread; a refused write raises
    :class:`~HardwareRepository.errors.CommandFailedError`.

    :param attribute_name: the TINE property.
    :param tinename: the server address.
    :param timeout: seconds: client timeout of gets/sets and link interval.
    :param attach: ``"timer"``, ``"event"`` or ``"datachange"``.
    :param size: number of elements of an array property, or ``None``.
    :param tolerance: ``(absolute, relative_percent)`` for ``datachange``.
    :param verbose: also report link errors to ``user_level_log``.
    :param message: the user-log text for link errors.
    :param retry: seconds before the first new attempt to open the link.
    :param retry_max: the largest delay between attempts, seconds.
    :param client: the client module (see :class:`TineCommand`).
    """

    def __init__(
        self,
        name: str,
        attribute_name: str,
        tinename: str | None = None,
        username: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        attach: str = "timer",
        size: int | None = None,
        tolerance: tuple[float, float] = (0.0, 0.0),
        verbose: bool = False,
        message: str | None = None,
        retry: float = 1.0,
        retry_max: float = 30.0,
        client: ModuleType | None = None,
        **kwargs: Any,
    ) -> None:
        if attach not in ATTACH_MODES:
            raise ConfigError(
                f"tine channel {name!r}: attach={attach!r} is not one of "
                f"{', '.join(ATTACH_MODES)}"
            )
        server = _server("channel", name, tinename)
        self._tine = TineChannelBackend(
            name,
            username or name,
            server,
            attribute_name,
            timeout=float(timeout),
            attach=attach,
            size=size,
            tolerance=tolerance,
            verbose=bool(verbose),
            message=message,
            retry=retry,
            retry_max=retry_max,
            client=client,
        )
        #: the TINE property
        self.attribute_name = attribute_name
        #: the server address
        self.tinename = server
        self.timeout = float(timeout)
        self.mode = attach
        self.size = size
        self.tolerance = tolerance
        self.verbose = bool(verbose)
        self.message = message
        #: the client module in use (real or simulated)
        self.client = self._tine.client
        #: whether :attr:`client` is the SIMULATED client
        self.simulated = self._tine.simulated
        super().__init__(name, username, backend=self._tine)

    @property
    def link_id(self) -> int | None:
        """The TINE link id while a link is open, else ``None``."""
        return self._tine.link_id

    @property
    def last_error(self) -> tuple[int, str] | None:
        """The last failure, ``(completion code, text)``; ``None`` after a value."""
        return self._tine.last_error

    def set_old_value(self, value: Any) -> None:
        """Set the value the next callback is compared with (mxCuBE API)."""
        self._tine.set_old_value(value)

    setOldValue = set_old_value
