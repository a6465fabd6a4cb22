"""Type ``taco``: commands and polled channels on (old ESRF) Taco devices.

XML, as in mxCuBE (times in milliseconds)::

    <object class="Flux">
      <taconame>id29/flux/1</taconame>
      <command type="taco" name="reset">DevReset</command>
      <command type="taco" name="gain" args="3, 'auto'">DevSetGain</command>
      <command type="taco" name="dcread" dc="True">DevReadValue</command>
      <channel type="taco" name="flux" polling="1000">DevReadValue</channel>
      <channel type="taco" name="raw" polling="500" compare="False"
               args="0">DevReadChannel</channel>
      <channel type="taco" name="i0" taconame="id29/i0/1" polling="2000"
               timeout="1500">DevRead</channel>
    </object>

* element text: the Taco device command;
* ``taconame``: the device; if absent, the object's ``taconame`` property;
* ``args``: the command's arguments, Python literals separated by commas
  (``"1, 'a', [2, 3]"``), parsed with :func:`ast.literal_eval`, never
  evaluated. A command with XML ``args`` refuses call-time arguments;
* ``dc``: read through the data collector (``TacoDeviceC``, no arguments);
* ``polling`` (channels, required): the period in ms;
* ``compare`` (channels, default true): ``False`` emits ``update`` after
  every poll, not only on change (mxCuBE ignored this attribute);
* ``timeout`` (extension): ms; the client's RPC timeout and the default limit
  of a command call;
* ``retry`` / ``retry_max`` (extension): ms; the first and largest delay
  between attempts on a failing channel (default 1000 and 30000);
* ``simulated="true"`` on the element or as a property of the object, or the
  environment variable ``HWR_TACO_SIMULATION=1``: use the SIMULATED client
  (:mod:`.taco_sim`). Nothing else selects it.

The real client is ESRF's Python module ``TacoDevice`` (with its C extension
``Taco``); it is imported when the first taco item is created, so only
configurations that use Taco need it. The calls made are listed in
``docs/taco-tine.md``. Every client call is blocking: it runs in a worker
thread (commands, reads) or a Poller thread (polling), never in the gevent
hub, and one process-wide lock serialises them because the Taco client
library is not thread-safe (mxCuBE's ``TacoDevice_MTSafe`` did the same).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from ..bridge import native
from ..commands import (
    ChannelObject,
    CommandObject,
    ConnectionListener,
    Reading,
    ReadingListener,
)
from ..errors import CommandFailedError, ConfigError, NotConnectedError
from ._client_backends import ClientCall, ClientChannelBackend, ClientCommandBackend
from ._common import (
    ClientLibrary,
    XmlAttributes,
    call_and_wait,
    call_in_thread,
    parse_args,
)
from ._subscription import Subscription

__all__ = [
    "CLIENT_MODULE",
    "INHERITED_PROPERTIES",
    "SIMULATION_ENV",
    "TacoChannel",
    "TacoChannelBackend",
    "TacoCommand",
    "TacoCommandBackend",
    "TacoTarget",
    "load_client",
    "make_channel",
    "make_command",
]

log = logging.getLogger("HardwareRepository.Command.Taco")

INHERITED_PROPERTIES = ("taconame",)
#: the real client library's module
CLIENT_MODULE = "TacoDevice"
#: set to 1 to use the simulated client for every taco item
SIMULATION_ENV = "HWR_TACO_SIMULATION"

_LIBRARY = ClientLibrary(
    type_name="taco",
    system="Taco",
    real_module=CLIENT_MODULE,
    simulated_module="HardwareRepository.Command.taco_sim",
    description="Taco client library (ESRF TacoDevice with its Taco C extension)",
    env_var=SIMULATION_ENV,
    logger=log.name,
)
# Extra wait beyond the client's RPC timeout before a call is abandoned.
_GRACE = 1.0

# Taco error numbers (DevErrors.h) that mean "unreachable", not "refused".
_COMMUNICATION_CODES = frozenset(
    {1, 2, 3, 4, 8, 10, 12, 16, 17, 22, 39, 402, 412, 414, 430, 1002, 1027}
)

# One Taco call at a time in the whole process: the client library keeps
# global tables and per-handle state that are not thread-safe.
_taco_lock = native.allocate_lock()


#: ``load_client(simulated) -> module``: ``TacoDevice`` or the simulated client;
#: raises ``MissingClientLibraryError`` (an ``ImportError`` and a
#: ``ConfigError`` naming the library) when the real one is not installed
load_client = _LIBRARY.load


def _error_code(exc: BaseException) -> int | None:
    code = getattr(exc, "code", None)
    if isinstance(code, int):
        return code
    for arg in getattr(exc, "args", ()):
        if isinstance(arg, int):
            return arg
    return None


class _TacoLink:
    """A lazily imported client handle on one device.

    :meth:`call` and :meth:`connect` block: call them from worker or Poller
    threads only. Safe from several threads (the process-wide lock).
    """

    def __init__(
        self,
        client: ModuleType,
        device_name: str,
        dc: bool,
        timeout: float | None,
    ) -> None:
        self.client = client
        self.device_name = device_name
        self.dc = dc
        self.timeout = timeout
        flavour = "simulated " if getattr(client, "SIMULATED", False) else ""
        #: names the device in messages ("simulated" when it is)
        self.source = f"{flavour}Taco device {device_name}"
        self._device: Any = None  # guarded by _taco_lock

    def _import(self) -> Any:
        factory = self.client.TacoDeviceC if self.dc else self.client.TacoDevice
        try:
            device = factory(self.device_name)
        except Exception as exc:
            raise NotConnectedError(f"{self.source}: import failed: {exc}") from exc
        if device is None or not getattr(device, "imported", 1):
            raise NotConnectedError(f"{self.source}: import failed")
        if self.timeout is not None:
            device.timeout(self.timeout)
        return device

    def connect(self) -> None:
        """Import the device if it is not imported yet."""
        with _taco_lock:
            if self._device is None:
                self._device = self._import()

    def call(self, command: str, args: tuple[Any, ...]) -> Any:
        """Execute ``command(*args)`` on the device and return its result.

        :raises NotConnectedError: the device cannot be imported or reached
            (the handle is dropped and imported again by the next call).
        :raises CommandFailedError: the device refused or failed the command,
            or has no such command.
        """
        with _taco_lock:
            if self._device is None:
                self._device = self._import()
            device = self._device
            try:
                method = getattr(device, command)
            except AttributeError as exc:
                raise CommandFailedError(
                    f"{self.source}: no command {command}"
                ) from exc
            try:
                return method(*args)
            except Exception as exc:
                code = _error_code(exc)
                if code is None or code in _COMMUNICATION_CODES:
                    self._device = None
                    raise NotConnectedError(
                        f"{self.source}: {command}{args!r} failed: {exc}"
                    ) from exc
                raise CommandFailedError(
                    f"{self.source}: {command}{args!r} failed: {exc}"
                ) from exc


def make_command(
    name: str, text: str, attrs: dict[str, Any], owner: Any
) -> TacoCommand:
    """Create a :class:`TacoCommand` from its XML (see the module doc)."""
    xml = XmlAttributes(_LIBRARY, "command", name, attrs, owner)
    return xml.create(
        TacoCommand,
        text,
        taconame=xml.device("taconame", "Taco device"),
        args=xml.pop("args"),
        dc=xml.flag("dc", False),
        timeout=xml.milliseconds("timeout", None),
    )


def make_channel(
    name: str, text: str, attrs: dict[str, Any], owner: Any
) -> TacoChannel:
    """Create a :class:`TacoChannel` from its XML (see the module doc)."""
    xml = XmlAttributes(_LIBRARY, "channel", name, attrs, owner)
    period = xml.milliseconds("polling", None)
    if period is None:
        raise ConfigError(f"{xml.what} needs polling= (the period in ms)")
    retry, retry_max = xml.retry()
    return xml.create(
        TacoChannel,
        text,
        taconame=xml.device("taconame", "Taco device"),
        polling=period,
        args=xml.pop("args"),
        compare=xml.flag("compare", True),
        dc=xml.flag("dc", False),
        timeout=xml.milliseconds("timeout", None),
        retry=retry,
        retry_max=retry_max,
    )


@dataclass(frozen=True)
class TacoTarget:
    """One command of one Taco device, as the XML names it.

    Attributes:
        device_name: the Taco device.
        command: the Taco command.
        arglist: the XML arguments, parsed (commands with them take no
            call-time arguments).
        dc: read through the data collector (``TacoDeviceC``).
        timeout: seconds: the client's RPC timeout; ``None``: the client's.
    """

    device_name: str
    command: str
    arglist: tuple[Any, ...] = ()
    dc: bool = False
    timeout: float | None = None

    @classmethod
    def from_config(
        cls,
        what: str,
        taconame: str | None,
        command: str,
        args: Any,
        dc: bool,
        timeout: float | None,
    ) -> TacoTarget:
        """Check and parse an item's configuration.

        Args:
            what: the item, for messages (``taco channel 'flux'``).
            taconame: the device name (XML or inherited property).
            command: the Taco command (the element text).
            args: XML ``args``: comma-separated literals, or one value.
            dc: read through the data collector.
            timeout: seconds: the client's RPC timeout, or ``None``.

        Raises:
            ConfigError: no device name, or ``args`` is not a list of literals.
        """
        if not taconame:
            raise ConfigError(f"{what} has no device name")
        return cls(str(taconame), command, parse_args(args), bool(dc), timeout)

    def link(self, client: ModuleType) -> _TacoLink:
        """Return a new handle on the device, through ``client``."""
        return _TacoLink(client, self.device_name, self.dc, self.timeout)

    def __str__(self) -> str:
        """Name the device and the command, for messages."""
        return f"{self.device_name} {self.command}"


class TacoCommandBackend(ClientCommandBackend):
    """The Taco side of a :class:`TacoCommand` (a ``CommandBackend``).

    Hub thread, as every command backend; the blocking Taco calls run in
    worker threads. It reports the device's connection to the listener given
    to :meth:`connect`: after importing the device, and after each call.

    Args:
        name: the command's name.
        target: the device and its command.
        client: the client module; ``None``: as the environment selects.
    """

    def __init__(
        self, name: str, target: TacoTarget, client: ModuleType | None
    ) -> None:
        super().__init__(_LIBRARY, "command", name, str(target), client)
        self.target = target
        self.link = target.link(self.client)
        self._on_connection: ConnectionListener | None = None

    def connect(self, on_connection: ConnectionListener) -> None:
        """Import the device in a worker thread; report connection changes."""
        self._on_connection = on_connection
        call_in_thread(self._probe, name=f"{self.source()} import")

    def _tell(self, connected: bool) -> None:
        listener = self._on_connection
        if listener is not None:
            listener(connected)

    def _probe(self) -> None:
        """Worker thread: import the device and report the connection."""
        try:
            self.link.connect()
        except NotConnectedError as exc:
            log.warning("%s: %s", self.source(), exc)
            self._tell(False)
        else:
            self._tell(True)

    def client_call(
        self, args: tuple[Any, ...], kwargs: Mapping[str, Any]
    ) -> ClientCall:
        """Return the Taco call: the command with the call's or the XML arguments.

        Raises:
            TypeError: keyword arguments, or arguments besides the XML ones.
        """
        if kwargs:
            raise TypeError(
                f"{self.source()}: Taco commands take no keyword arguments "
                f"({', '.join(kwargs)})"
            )
        fixed = self.target.arglist
        if args and fixed:
            raise TypeError(
                f"{self.source()}: arguments are fixed by the XML args="
                f"{fixed!r}; call it without arguments"
            )
        return "command", self.link.call, (self.target.command, args or fixed)

    def call(
        self, args: tuple[Any, ...], kwargs: Mapping[str, Any], timeout: float | None
    ) -> Any:
        """Execute the command in a worker thread; report the connection.

        Raises:
            NotConnectedError: the device cannot be imported or reached.
            CommandFailedError: the device refused or failed the command.
            TypeError: the arguments do not suit the command.
        """
        try:
            value = super().call(args, kwargs, timeout)
        except NotConnectedError:
            self._tell(False)
            raise
        self._tell(True)
        return value

    def close(self) -> None:
        """Stop reporting connection changes; idempotent."""
        self._on_connection = None


class TacoCommand(CommandObject):
    """A command of a Taco device; call it to execute it.

    Construct it in the owning hub thread: it never blocks there. The device
    is imported in a worker thread at construction (``connectionStateChanged``
    tells the outcome) and again after a communication failure.

    Calling: see :meth:`CommandObject.__call__` (``wait=``, ``timeout=``, the
    command signals). The blocking Taco call runs in a worker thread and the
    caller waits cooperatively; a :class:`~HardwareRepository.errors.Timeout`
    stops the wait, not the Taco call, which ends at the client's RPC timeout.

    :param command: the Taco command name.
    :param taconame: the device name.
    :param args: XML arguments: a string of comma-separated literals (or one
        value); when given, calls take no arguments and send these.
    :param dc: use the data collector (``TacoDeviceC``).
    :param timeout: seconds: the client's RPC timeout; a call is abandoned
        (:class:`~HardwareRepository.errors.Timeout`) one second later if the
        client has not returned. ``None``: the client's default timeout and
        no limit of our own.
    :param client: the client module (:func:`load_client`); default: the real
        one, or the simulated one if ``HWR_TACO_SIMULATION`` is set.
    :raises ConfigError: no device name, or ``args`` is not a list of literals.
    :raises ImportError: the real client library is not installed.
    """

    def __init__(
        self,
        name: str,
        command: str,
        taconame: str | None = None,
        username: str | None = None,
        args: Any = None,
        dc: bool = False,
        timeout: float | None = None,
        client: ModuleType | None = None,
        **kwargs: Any,
    ) -> None:
        target = TacoTarget.from_config(
            f"taco command {name!r}", taconame, command, args, dc, timeout
        )
        self._taco = TacoCommandBackend(name, target, client)
        limit = None if timeout is None else timeout + _GRACE
        super().__init__(name, username, timeout=limit, backend=self._taco)
        #: the Taco command
        self.command = command
        #: the Taco device
        self.device_name = target.device_name
        #: the XML arguments, parsed
        self.arglist = target.arglist
        self.dc = target.dc
        #: the client module in use (real or simulated)
        self.client = self._taco.client
        #: whether :attr:`client` is the SIMULATED client
        self.simulated = self._taco.simulated
        self._taco.connect(self.set_connected_threadsafe)


class TacoChannelBackend(ClientChannelBackend[BaseException]):
    """The Taco side of a :class:`TacoChannel` (a ``ChannelBackend``).

    Hub thread, as every channel backend; the command is executed in Poller
    threads (polling) or worker threads (:meth:`read`), and its values and
    connection changes are reported in the hub.

    Args:
        name: the channel's name.
        target: the device and the command read each period.
        polling: the period in seconds.
        compare: deliver only values that differ from the previous one.
        retry: seconds before the first retry after a failure.
        retry_max: the largest delay between retries, seconds.
        client: the client module; ``None``: as the environment selects.
    """

    def __init__(
        self,
        name: str,
        target: TacoTarget,
        *,
        polling: float,
        compare: bool,
        retry: float,
        retry_max: float,
        client: ModuleType | None,
    ) -> None:
        super().__init__(_LIBRARY, name, str(target), client, retry, retry_max)
        self.target = target
        self.link = target.link(self.client)
        self._subscription = Subscription()
        self._subscription.poll(
            self._execute,
            polling,
            self._on_error,
            compare=compare,
            on_value=self._on_value,
        )

    def _execute(self) -> Any:
        """Poller or worker thread: execute the command once."""
        return self.link.call(self.target.command, self.target.arglist)

    def read(self, timeout: float | None) -> Reading[Any]:
        """Execute the command once in a worker thread, waiting cooperatively.

        Args:
            timeout: seconds; ``None``: one second more than the client's RPC
                timeout, or no limit of our own.

        Raises:
            NotConnectedError: the device cannot be reached.
            CommandFailedError: the device failed the command.
            Timeout: the client did not return in time.
        """
        if timeout is None and self.target.timeout is not None:
            timeout = self.target.timeout + _GRACE
        return Reading(
            call_and_wait(self._execute, source=self.source(), limit=timeout)
        )

    def write(self, value: Any, timeout: float | None) -> None:
        """Refuse: a Taco channel is read-only.

        Raises:
            NotImplementedError: always.
        """
        raise NotImplementedError(f"{self.source()} is read-only")

    def subscribe(self, on_reading: ReadingListener[Any]) -> None:
        """Start polling; deliver each (new) value to ``on_reading`` in the hub."""
        self._subscription.open(on_reading)

    def _on_value(self, value: Any) -> None:
        """Hub: a (new) value was polled."""
        self.backoff.reset()
        self.report_back()
        self._subscription.deliver_value(value)

    def _on_error(self, exc: BaseException) -> float:
        """Hub: a poll raised; report it and poll again after a growing delay."""
        delay = self.backoff.next_delay()
        self.report_lost(exc, f"{exc}; retrying in {delay:g} s")
        return delay

    def unsubscribe(self) -> None:
        """Stop polling; a poll in flight finishes, its result is dropped."""
        self._subscription.close()

    def close(self) -> None:
        """Stop polling and reporting; idempotent."""
        self.unsubscribe()
        super().close()


class TacoChannel(ChannelObject):
    """A Taco device command polled on :mod:`HardwareRepository.Poller`.

    Every ``polling`` period a Poller thread executes the command (with the
    XML ``args``); a new value (or every value with ``compare=False``) is
    stored and ``update(value)`` emitted in the hub thread. A failing poll
    makes the channel disconnected (quality ``INVALID``, ``disconnected``
    emitted, the exception in :attr:`last_error` and the log), then polling
    resumes after ``retry`` s, doubling up to ``retry_max`` s while it keeps
    failing; the first value after a recovery is emitted even when it equals
    the last one. :meth:`close` stops polling.

    Construct it in the owning hub thread; it never blocks there and loads
    when the device is down (it then says disconnected).

    :param command: the Taco command read each period.
    :param taconame: the device name.
    :param polling: the period in seconds.
    :param args: XML arguments of the command (see :class:`TacoCommand`).
    :param compare: emit only values that differ from the previous one.
    :param dc: use the data collector.
    :param timeout: seconds: client RPC timeout and limit of :meth:`get_value`.
    :param retry: seconds before the first retry after a failure.
    :param retry_max: the largest delay between retries, seconds.
    :param client: the client module (see :class:`TacoCommand`).
    :raises ConfigError: no device name, no period, or bad ``args``.
    :raises ImportError: the real client library is not installed.
    """

    def __init__(
        self,
        name: str,
        command: str,
        taconame: str | None = None,
        username: str | None = None,
        polling: float | None = None,
        args: Any = None,
        compare: bool = True,
        dc: bool = False,
        timeout: float | None = None,
        retry: float = 1.0,
        retry_max: float = 30.0,
        client: ModuleType | None = None,
        **kwargs: Any,
    ) -> None:
        if not polling or polling <= 0:
            raise ConfigError(f"taco channel {name!r} needs a polling period")
        target = TacoTarget.from_config(
            f"taco channel {name!r}", taconame, command, args, dc, timeout
        )
        self._taco = TacoChannelBackend(
            name,
            target,
            polling=float(polling),
            compare=bool(compare),
            retry=retry,
            retry_max=retry_max,
            client=client,
        )
        #: the Taco command
        self.command = command
        #: the Taco device
        self.device_name = target.device_name
        #: the XML arguments, parsed
        self.arglist = target.arglist
        self.dc = target.dc
        self.polling = float(polling)
        self.compare = bool(compare)
        self.timeout = timeout
        #: the client module in use (real or simulated)
        self.client = self._taco.client
        #: whether :attr:`client` is the SIMULATED client
        self.simulated = self._taco.simulated
        super().__init__(name, username, backend=self._taco)

    @property
    def last_error(self) -> BaseException | None:
        """The last failure, ``None`` once a good reading arrives."""
        return self._taco.last_error
