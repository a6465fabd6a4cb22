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
  (:mod:`._tine_sim`). Nothing else selects it.

The real client is the ``tine`` Python module (DESY's TINE binding, as used by
mxCuBE); it is imported when the first tine item is created, so only
configurations that use TINE need it. The calls made are listed in
``docs/taco-tine.md``.

Threads: ``get``, ``set`` and ``attach`` block, so they run in worker threads
and the caller waits cooperatively; ``detach`` and ``tolerance`` are local and
run in the hub thread. Link callbacks arrive in TINE's threads; they compare
the value with the last one and hand changes to the hub through the bridge
(:meth:`ChannelObject.update_threadsafe`): no polling, no sleeping drain loop.
"""

from __future__ import annotations

import logging
from types import ModuleType
from typing import Any

import gevent

from ..bridge import _native, spawn_logged
from ..CommandContainer import NOT_INITIALIZED, ChannelObject, CommandObject
from ..errors import (
    CommandFailedError,
    CommunicationError,
    ConfigError,
    NotConnectedError,
    Timeout,
)
from ._common import (
    Backoff,
    call_in_thread,
    client_module,
    milliseconds,
    parse_args,
    values_equal,
    wants_simulation,
)

__all__ = [
    "ATTACH_MODES",
    "CC_IGNORED",
    "CLIENT_MODULE",
    "INHERITED_PROPERTIES",
    "SIMULATION_ENV",
    "TineChannel",
    "TineCommand",
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

_SIM_MODULE = "HardwareRepository.Command._tine_sim"
# Extra wait beyond the client's own timeout before we give up on a call.
_GRACE = 1.0


def load_client(simulated: bool) -> ModuleType:
    """Return the TINE client module: ``tine`` or the simulated one.

    :raises MissingClientLibraryError: the real client is not installed (an
        ``ImportError`` and a ``ConfigError``; the message names it and how to
        select the simulation).
    """
    return client_module(
        CLIENT_MODULE,
        _SIM_MODULE,
        simulated,
        "TINE client library (DESY's tine Python binding)",
        f'select the simulated client with simulated="true" or {SIMULATION_ENV}=1',
    )


def _address(attrs: dict[str, Any], what: str) -> str:
    name = attrs.pop("tinename", None)
    if not name:
        raise ConfigError(
            f"{what} has no TINE server: give tinename= or a tinename property"
        )
    return str(name)


def _flag(raw: Any, key: str) -> bool:
    if raw is None or isinstance(raw, bool):
        return bool(raw)
    text = str(raw).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise ConfigError(f"{key}={raw!r} is not a boolean")


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


def _ignored(what: str, attrs: dict[str, Any]) -> None:
    if attrs:
        log.warning("%s: ignoring unknown attributes %s", what, sorted(attrs))


def make_command(
    name: str, text: str, attrs: dict[str, Any], owner: Any
) -> TineCommand:
    """Create a :class:`TineCommand` from its XML (see the module doc)."""
    attrs = dict(attrs)
    what = f"tine command {name!r}"
    simulated = wants_simulation(attrs, owner, SIMULATION_ENV)
    list_args = attrs.pop("list_args", None)
    if list_args is None:
        list_args = attrs.pop("ListArgs", None)
    command = TineCommand(
        name,
        text or name,
        tinename=_address(attrs, what),
        username=attrs.pop("username", None),
        list_args=list_args,
        timeout=milliseconds(attrs, "timeout", DEFAULT_TIMEOUT),
        client=load_client(simulated),
    )
    _ignored(what, attrs)
    return command


def make_channel(
    name: str, text: str, attrs: dict[str, Any], owner: Any
) -> TineChannel:
    """Create a :class:`TineChannel` from its XML (see the module doc)."""
    attrs = dict(attrs)
    what = f"tine channel {name!r}"
    simulated = wants_simulation(attrs, owner, SIMULATION_ENV)
    mode = str(attrs.pop("attach", "timer") or "timer").strip().lower()
    if mode not in ATTACH_MODES:
        raise ConfigError(
            f"{what}: attach={mode!r} is not one of {', '.join(ATTACH_MODES)}"
        )
    size = attrs.pop("size", None)
    if size is not None and (
        isinstance(size, bool) or not isinstance(size, int) or size <= 0
    ):
        raise ConfigError(f"{what}: size={size!r} must be a positive integer")
    tolerance = parse_tolerance(attrs.pop("tolerance", None))
    if tolerance != (0.0, 0.0) and mode != "datachange":
        log.warning(
            '%s: tolerance applies to attach="datachange" only; ignored with attach=%r',
            what,
            mode,
        )
        tolerance = (0.0, 0.0)
    retry = milliseconds(attrs, "retry", 1.0)
    retry_max = milliseconds(attrs, "retry_max", max(30.0, retry or 0.0))
    message = attrs.pop("message", None)
    channel = TineChannel(
        name,
        text or name,
        tinename=_address(attrs, what),
        username=attrs.pop("username", None),
        timeout=milliseconds(attrs, "timeout", DEFAULT_TIMEOUT),
        attach=mode,
        size=size,
        tolerance=tolerance,
        verbose=_flag(attrs.pop("verbose", None), "verbose"),
        message=None if message is None else str(message),
        retry=retry,
        retry_max=retry_max,
        client=load_client(simulated),
    )
    _ignored(what, attrs)
    return channel


def _flavour(client: Any) -> str:
    return ", SIMULATED client" if getattr(client, "SIMULATED", False) else ""


def _wait(result: Any, limit: float, what: str) -> Any:
    try:
        return result.get(limit)
    except Timeout as exc:
        raise Timeout(f"{what}: no answer within {limit:g} s") from exc


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
        super().__init__(name, username, timeout=timeout + _GRACE)
        if not tinename:
            raise ConfigError(f"tine command {name!r} has no server address")
        if client is None:
            client = load_client(wants_simulation({}, None, SIMULATION_ENV))
        self.client = client
        self.command_name = command_name
        self.tinename = str(tinename)
        self.client_timeout = float(timeout)
        defaults = parse_args(list_args, "list_args")
        self.default_argument: Any = (
            []
            if not defaults
            else defaults[0]
            if len(defaults) == 1
            else list(defaults)
        )
        self.simulated = bool(getattr(client, "SIMULATED", False))
        if self.simulated:
            log.info("%s: using the SIMULATED TINE client", self.source())

    def source(self) -> str:
        """Name the command, its server, property and client, for messages."""
        return (
            f"tine command {self._name!r} ({self.tinename} {self.command_name}"
            f"{_flavour(self.client)})"
        )

    def _execute(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs or len(args) > 1:
            raise TypeError(
                f"{self.source()}: a TINE command takes one argument (the data)"
            )
        data = args[0] if args else self.default_argument
        result = call_in_thread(
            self.client.set,
            self.tinename,
            self.command_name,
            data,
            int(self.client_timeout * 1000),
            name=self.source(),
        )
        try:
            return result.get()
        except Timeout:
            raise
        except OSError as exc:  # the client's IOError (Timeout is one too)
            raise CommandFailedError(f"{self.source()}: set failed: {exc}") from exc

    def get(self, timeout: float | None = None) -> Any:
        """Read the property synchronously (``tine.get``); cooperative wait.

        :raises CommunicationError: the read failed (``IOError`` as cause).
        :raises Timeout: the client did not return in time.
        """
        limit = self.client_timeout if timeout is None else timeout
        result = call_in_thread(
            self.client.get,
            self.tinename,
            self.command_name,
            int(limit * 1000),
            name=self.source(),
        )
        try:
            return _wait(result, limit + _GRACE, self.source())
        except Timeout:
            raise
        except OSError as exc:  # the client's IOError (Timeout is one too)
            raise CommunicationError(f"{self.source()}: get failed: {exc}") from exc


class TineChannel(ChannelObject):
    """A TINE property followed through a link (timer, event or data change).

    The link's callbacks arrive in TINE's threads with a completion code:

    * ``cc == 0``: the value is compared with the previous one; a change (and
      the first value after the link was lost) is handed to the hub, which
      stores it and emits ``update(value)``. Connected from the first value.
    * ``cc == 103``: ignored (as mxCuBE did).
    * any other code: the link is lost: the channel becomes disconnected
      (quality ``INVALID``, ``disconnected`` emitted), the code is kept in
      :attr:`last_error` and logged once per outage (and sent to the user log
      with ``verbose``). TINE re-establishes the link itself; the next value
      reconnects the channel and is always emitted.

    If opening the link fails (unknown server, no such property), the channel
    stays disconnected and retries after ``retry`` s, doubling up to
    ``retry_max`` s. :meth:`close` detaches the link (the repository closes
    channels at shutdown; there is no ``atexit`` hook).

    Construct it in the owning hub thread; it never blocks there.

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
        super().__init__(name, username)
        if not tinename:
            raise ConfigError(f"tine channel {name!r} has no server address")
        if attach not in ATTACH_MODES:
            raise ConfigError(
                f"tine channel {name!r}: attach={attach!r} is not one of "
                f"{', '.join(ATTACH_MODES)}"
            )
        if client is None:
            client = load_client(wants_simulation({}, None, SIMULATION_ENV))
        self.client = client
        self.attribute_name = attribute_name
        self.tinename = str(tinename)
        self.timeout = float(timeout)
        self.mode = attach
        self.size = size
        self.tolerance = tolerance
        self.verbose = bool(verbose)
        self.message = message
        self.simulated = bool(getattr(client, "SIMULATED", False))
        #: the last link error: ``(cc, text)``, ``None`` while values arrive
        self.last_error: tuple[int, str] | None = None
        self._backoff = Backoff(retry, max(retry, retry_max))
        self._lock = _native.allocate_lock()
        # Guarded by _lock (TINE threads and the hub):
        self._link_id: int | None = None
        self._stopping = False
        self._last: Any = NOT_INITIALIZED
        self._link_ok = False
        self._errors_in_outage = 0
        self._opener: gevent.Greenlet | None = None  # hub thread only
        if self.simulated:
            log.info("%s: using the SIMULATED TINE client", self.source())
        self._opener = spawn_logged(self._open_link)

    def source(self) -> str:
        """Name the channel, its server, property and client, for messages."""
        return (
            f"tine channel {self._name!r} ({self.tinename} {self.attribute_name}, "
            f"{self.mode}{_flavour(self.client)})"
        )

    @property
    def link_id(self) -> int | None:
        """The TINE link id while a link is open, else ``None``."""
        return self._link_id

    # -- opening the link (hub greenlet + worker thread) -------------------------
    def _open_link(self) -> None:
        try:
            while not self._stopping:
                result = call_in_thread(self._attach_in_thread, name=self.source())
                try:
                    _wait(result, self.timeout + _GRACE, self.source())
                except Exception as exc:
                    delay = self._backoff.next_delay()
                    self._link_failed(f"cannot attach: {exc}; retrying in {delay:g} s")
                    gevent.sleep(delay)
                else:
                    self._backoff.reset()
                    return
        finally:
            self._opener = None

    def _attach_in_thread(self) -> None:
        """Worker thread: open the link (and set its tolerance)."""
        opener = getattr(self.client, ATTACH_MODES[self.mode])
        interval = int(self.timeout * 1000)
        if self.size is None:
            link_id = opener(
                self.tinename, self.attribute_name, self._on_callback, interval
            )
        else:
            link_id = opener(
                self.tinename,
                self.attribute_name,
                self._on_callback,
                interval,
                self.size,
            )
        if not isinstance(link_id, int) or link_id <= 0:
            raise CommunicationError(f"attach returned link id {link_id!r}")
        with self._lock:
            stopping = self._stopping
            if not stopping:
                self._link_id = link_id
        if stopping:  # closed while attaching: nobody else will detach it
            self.client.detach(link_id)
            return
        if self.mode == "datachange" and self.tolerance != (0.0, 0.0):
            self.client.tolerance(link_id, *self.tolerance)

    # -- TINE thread -------------------------------------------------------------------
    def _on_callback(self, link_id: int, cc: int, data: Any) -> None:
        """TINE thread: one link callback."""
        if cc == 0:
            with self._lock:
                if self._stopping:
                    return
                recovered = not self._link_ok
                changed = (
                    recovered
                    or self._last is NOT_INITIALIZED
                    or not values_equal(self._last, data)
                )
                self._last = data
                self._link_ok = True
                outage = self._errors_in_outage
                self._errors_in_outage = 0
            if recovered:
                self.last_error = None
                if outage:
                    log.info("%s: connected again", self.source())
                self.set_connected_threadsafe(True)
            if changed:
                self.update_threadsafe(data)
            return
        if cc == CC_IGNORED:
            log.debug("%s: callback code %d ignored", self.source(), cc)
            return
        with self._lock:
            if self._stopping:
                return
            self._link_ok = False
            self._errors_in_outage += 1
            first = self._errors_in_outage == 1
        self._link_failed(f"link error, completion code {cc}", cc, first)

    def _link_failed(self, why: str, cc: int = -1, first: bool | None = None) -> None:
        """Report a link problem; any thread."""
        self.last_error = (cc, why)
        if first is None:
            first = self._backoff.failures <= 1
        if first:
            log.warning("%s: disconnected: %s", self.source(), why)
            if self.verbose:
                user_log.error(
                    "%s (%s %s: %s)",
                    self.message or f"TINE channel {self.userName()} failed",
                    self.tinename,
                    self.attribute_name,
                    why,
                )
        else:
            log.debug("%s: still disconnected: %s", self.source(), why)
        self.set_connected_threadsafe(False)

    # -- reading and writing ---------------------------------------------------------
    def get_value(self, force: bool = False, timeout: float | None = None) -> Any:
        """Return the channel's value.

        Returns the last value the link delivered; reads it synchronously
        (``tine.get`` in a worker thread, cooperative wait) when ``force`` is
        true or none arrived yet. Never busy-waits.

        :param timeout: seconds; default the XML ``timeout``.
        :raises CommunicationError: the read failed (``IOError`` as cause).
        :raises NotConnectedError: the channel is closed.
        :raises Timeout: the client did not return in time.
        """
        if self._closed:
            raise NotConnectedError(f"{self.source()} is closed")
        if not force and self._value is not NOT_INITIALIZED:
            return self._value
        limit = self.timeout if timeout is None else timeout
        result = call_in_thread(
            self.client.get,
            self.tinename,
            self.attribute_name,
            int(limit * 1000),
            name=self.source(),
        )
        try:
            return _wait(result, limit + _GRACE, self.source())
        except Timeout:
            raise
        except OSError as exc:  # the client's IOError (Timeout is one too)
            raise CommunicationError(f"{self.source()}: get failed: {exc}") from exc

    getValue = get_value

    def set_value(self, value: Any, timeout: float | None = None) -> None:
        """Write ``value`` (``tine.set`` in a worker thread, cooperative wait).

        :param timeout: seconds; default the XML ``timeout``.
        :raises CommandFailedError: the server refused it (``IOError`` as cause).
        :raises NotConnectedError: the channel is closed.
        :raises Timeout: the client did not return in time.
        """
        if self._closed:
            raise NotConnectedError(f"{self.source()} is closed")
        limit = self.timeout if timeout is None else timeout
        result = call_in_thread(
            self.client.set,
            self.tinename,
            self.attribute_name,
            value,
            int(limit * 1000),
            name=self.source(),
        )
        try:
            _wait(result, limit + _GRACE, self.source())
        except Timeout:
            raise
        except OSError as exc:  # the client's IOError (Timeout is one too)
            raise CommandFailedError(f"{self.source()}: set failed: {exc}") from exc

    setValue = set_value

    def set_old_value(self, value: Any) -> None:
        """Set the value the next callback is compared with (mxCuBE API)."""
        with self._lock:
            self._last = value

    setOldValue = set_old_value

    def close(self) -> None:
        """Detach the link and disconnect receivers; hub thread; idempotent.

        After ``close`` returns no callback of this channel runs any more
        (one already running in a TINE thread has its value dropped).
        """
        if self._closed:
            return
        with self._lock:
            self._stopping = True
            link_id, self._link_id = self._link_id, None
        opener = self._opener
        if opener is not None:
            opener.kill(block=True, timeout=1.0)
        if link_id is not None:
            try:
                self.client.detach(link_id)
            except OSError:
                log.exception("%s: detach of link %d failed", self.source(), link_id)
        super().close()
