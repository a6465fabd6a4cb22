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
from types import ModuleType
from typing import Any

from .. import Poller
from ..bridge import native
from ..errors import CommandFailedError, ConfigError, NotConnectedError
from ._client_items import ClientCall, ClientChannel, ClientCommand, ClientItem
from ._common import (
    ClientLibrary,
    XmlAttributes,
    call_and_wait,
    call_in_thread,
    parse_args,
)

__all__ = [
    "CLIENT_MODULE",
    "INHERITED_PROPERTIES",
    "SIMULATION_ENV",
    "TacoChannel",
    "TacoCommand",
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


class _TacoItem(ClientItem):
    """What Taco commands and channels share: the device and its command."""

    LIBRARY = _LIBRARY

    def _use_device(
        self,
        command: str,
        taconame: str | None,
        args: Any,
        dc: bool,
        timeout: float | None,
        client: ModuleType | None,
    ) -> None:
        if not taconame:
            raise ConfigError(f"taco {self.KIND} {self._name!r} has no device name")
        #: the Taco command
        self.command = command
        #: the Taco device
        self.device_name = str(taconame)
        #: the XML arguments, parsed
        self.arglist = parse_args(args)
        self.dc = bool(dc)
        self._use_client(client)
        self._link = _TacoLink(self.client, self.device_name, self.dc, timeout)

    def _where(self) -> str:
        return f"{self.device_name} {self.command}"


class TacoCommand(_TacoItem, ClientCommand):
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
        limit = None if timeout is None else timeout + _GRACE
        super().__init__(name, username, timeout=limit)
        self._use_device(command, taconame, args, dc, timeout, client)
        call_in_thread(self._probe, name=f"{self.source()} import")

    def _probe(self) -> None:
        """Worker thread: import the device and report the connection."""
        try:
            self._link.connect()
        except NotConnectedError as exc:
            log.warning("%s: %s", self.source(), exc)
            self.set_connected_threadsafe(False)
        else:
            self.set_connected_threadsafe(True)

    def _client_call(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> ClientCall:
        if kwargs:
            raise TypeError(
                f"{self.source()}: Taco commands take no keyword arguments "
                f"({', '.join(kwargs)})"
            )
        if args and self.arglist:
            raise TypeError(
                f"{self.source()}: arguments are fixed by the XML args="
                f"{self.arglist!r}; call it without arguments"
            )
        return "command", self._link.call, (self.command, args or self.arglist)

    def _execute(self, *args: Any, **kwargs: Any) -> Any:
        try:
            value = super()._execute(*args, **kwargs)
        except NotConnectedError:
            self.set_connected(False)
            raise
        self.set_connected(True)
        return value


class TacoChannel(_TacoItem, ClientChannel[BaseException]):
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
        super().__init__(name, username, retry, retry_max)
        if not polling or polling <= 0:
            raise ConfigError(f"taco channel {name!r} needs a polling period")
        self.polling = float(polling)
        self.compare = bool(compare)
        self.timeout = timeout
        self._poller: Poller.Poller | None = None  # hub thread only
        self._use_device(command, taconame, args, dc, timeout, client)
        self._start_polling(0.0)

    # -- polling ------------------------------------------------------------------
    def _start_polling(self, delay: float) -> None:
        self._poller = Poller.poll(
            self._poll_once,
            (),
            self.polling * 1000.0,
            self._on_value,
            self._on_error,
            compare=self.compare,
            start_delay=delay * 1000.0,
        )

    def _poll_once(self) -> Any:
        """Poller thread: execute the command once."""
        return self._link.call(self.command, self.arglist)

    def _on_value(self, value: Any) -> None:
        """Hub: a (new) value was polled."""
        if self._closed:
            return
        self._backoff.reset()
        self._report_back()
        self.update(value)

    def _on_error(self, exc: BaseException, poller_id: int) -> None:
        """Hub: a poll raised; polling stopped. Report, then poll again later."""
        failed = Poller.get_poller(poller_id)
        if failed is not None:
            failed.stop()
        if self._closed:
            return
        delay = self._backoff.next_delay()
        self._report_lost(exc, f"{exc}; retrying in {delay:g} s")
        self._start_polling(delay)

    # -- reading --------------------------------------------------------------------
    def _read(self, timeout: float | None) -> Any:
        """Execute the command once in a worker thread (see :meth:`get_value`).

        :param timeout: seconds; default one second more than the XML
            ``timeout`` (the client's RPC timeout), or no limit of our own.
        :raises CommandFailedError: the device failed the command.
        """
        if timeout is None and self.timeout is not None:
            timeout = self.timeout + _GRACE
        return call_and_wait(
            self._link.call,
            self.command,
            self.arglist,
            source=self.source(),
            limit=timeout,
        )

    def close(self) -> None:
        """Stop polling and disconnect receivers; hub thread; idempotent.

        A poll in flight finishes in its thread; its result is dropped.
        """
        if self._closed:
            return
        poller, self._poller = self._poller, None
        if poller is not None:
            poller.stop()
        super().close()
