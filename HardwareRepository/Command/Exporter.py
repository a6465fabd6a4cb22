"""Type ``exporter``: MD2/MD3 microdiffractometers and sample changers.

As real mxCuBE files write them: the element text is the method or property,
the server comes from the element's ``exporter_address="host:port"`` or, as in
most files, from the object's ``<exporter_address>host:port</exporter_address>``
property::

    <object class="ExporterMotor">
      <exporter_address>wid30bmd2s:9001</exporter_address>
      <channel type="exporter" name="state">State</channel>
      <channel type="exporter" name="phase" polling="1000">CurrentPhase</channel>
      <command type="exporter" name="set_phase">startSetPhase</command>
      <command type="exporter" name="abort" timeout="5000">abort</command>
    </object>

``address="host" port="9001"`` on the element work too. ``timeout`` (ms,
default 3000) limits one request.

One connection per server (``host:port``) is shared by every command, channel
and :class:`Exporter` of the process; it has its own reader thread
(:class:`~HardwareRepository.Command.exporter.ExporterClient`). Events and
connection changes reach each hub through the hub bridge, in the order the
server sent them, every one of them (no coalescing): each server has one
inbox of the hub sink per hub, whose dispatcher runs a few milliseconds at a
time so that the hub's other greenlets keep running during a flood (the
sharing and the dispatchers are
:mod:`HardwareRepository.Command.exporter.servers`). A
channel follows its property's events; with ``polling`` (ms) it also reads
the property on the Poller. After each (re)connection every channel reads its
property again, so a server that comes back shows fresh values. A server that
goes away shows its channels disconnected (quality INVALID) at once.

Commands run in a greenlet of the owning hub and wait for the reply
cooperatively (``wait=False`` and ``timeout=`` as for every command); an
``ERR:`` reply raises
:class:`~HardwareRepository.errors.CommandFailedError`, a reply that does not
come raises :class:`~HardwareRepository.errors.Timeout`, both naming the
server and the method.

The items are on the typed backend contract (:class:`ExporterChannelBackend`,
:class:`ExporterCommandBackend`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..bridge import get_bridge
from ..commands import (
    ChannelObject,
    CommandObject,
    ConnectionListener,
    Reading,
    ReadingListener,
)
from ..errors import ConfigError, NotConnectedError
from ._common import pop_milliseconds, pop_polling, warn_unread
from ._subscription import Subscription
from .exporter import (
    Request,
    ServerDispatch,
    SharedServer,
    acquire_server,
    parse_value,
    release_server,
)

__all__ = [
    "INHERITED_PROPERTIES",
    "Exporter",
    "ExporterChannel",
    "ExporterChannelBackend",
    "ExporterCommand",
    "ExporterCommandBackend",
    "make_channel",
    "make_command",
    "parse_address",
]

log = logging.getLogger("HardwareRepository.Command.Exporter")

INHERITED_PROPERTIES = ("exporter_address",)

_DEFAULT_TIMEOUT = 3.0  # s


def parse_address(text: Any) -> tuple[str, int]:
    """Return ``(host, port)`` from ``"host:port"``.

    Raises:
        ConfigError: not ``host:port`` with an integer port.
    """
    host, sep, port = str(text).strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"exporter address {text!r} is not 'host:port'")
    return host, int(port)


# -- the mxCuBE client class ---------------------------------------------------
class Exporter:
    """The client of one Exporter server, as mxCuBE's hardware objects use it.

    Shares the server's one connection. Methods that wait (every one but
    :meth:`execute_async`, :meth:`register` and :meth:`is_connected`) wait
    cooperatively in a greenlet and natively in a plain thread; never from the
    hub itself. :meth:`close` releases the connection.

    Args:
        address: the server's host.
        port: its TCP port.
        timeout: the default limit of one request, in seconds.
        retries: accepted for compatibility (requests are never re-sent).
    """

    STATE_READY = "Ready"
    STATE_MOVING = "Moving"
    STATE_RUNNING = "Running"
    STATE_FAULT = "Fault"
    STATE_UNKNOWN = "Unknown"

    def __init__(
        self, address: str, port: int, timeout: float = 3, retries: int = 1
    ) -> None:
        self._server: SharedServer | None = acquire_server(str(address), int(port))
        self.timeout = float(timeout)
        self._registered: list[tuple[ServerDispatch, str, Callable[[Any], None]]] = []

    @property
    def address(self) -> str:
        """``host:port``."""
        return self._live().address

    def __repr__(self) -> str:
        """Describe the object for logs."""
        return f"<Exporter {self._server.address if self._server else 'closed'}>"

    def _live(self) -> SharedServer:
        if self._server is None:
            raise NotConnectedError("Exporter client is closed")
        return self._server

    def _timeout(self, timeout: float | None) -> float | None:
        if timeout is None:
            return None
        return self.timeout if timeout < 0 else timeout

    def _call(
        self, verb: Request, name: str, params: Iterable[Any], timeout: float | None
    ) -> Any:
        text = self._live().client.call(verb, name, params, self._timeout(timeout))
        return parse_value(text)

    def execute(
        self,
        method: str,
        pars: Iterable[Any] | None = None,
        timeout: float | None = -1,
    ) -> Any:
        """Call ``method`` with ``pars`` and return its converted reply.

        Args:
            method: the server's method.
            pars: its parameters (lists and tuples are sent as arrays).
            timeout: seconds; negative: the default; ``None``: no limit.

        Raises:
            CommandFailedError: the server answered ``ERR:``.
            Timeout: no reply in time.
            NotConnectedError: the server is not connected.
        """
        return self._call(Request.EXEC, method, pars or (), timeout)

    def execute_async(self, method: str, pars: Iterable[Any] | None = None) -> None:
        """Start ``method`` (``ASNC``); its reply is not waited for.

        Raises:
            NotConnectedError: the server is not connected.
        """
        self._live().client.send_no_reply(Request.ASNC, method, pars or ())

    def read_property(self, prop: str, timeout: float | None = -1) -> Any:
        """Return the converted value of property ``prop``."""
        return self._call(Request.READ, prop, (), timeout)

    def write_property(self, prop: str, value: Any, timeout: float | None = -1) -> Any:
        """Write ``value`` to property ``prop``."""
        return self._call(Request.WRTE, prop, (value,), timeout)

    def get_method_list(self) -> list[str]:
        """Return the server's methods."""
        text = self._live().client.call(Request.LIST, timeout=self.timeout) or ""
        return [m for m in text.split("\t") if m]

    def get_property_list(self) -> list[str]:
        """Return the server's properties."""
        text = self._live().client.call(Request.PLST, timeout=self.timeout) or ""
        return [p for p in text.split("\t") if p]

    def get_server_object_name(self) -> str | None:
        """Return the name the server gives itself."""
        return self._live().client.call(Request.NAME, timeout=self.timeout)

    def get_state(self) -> Any:
        """Return the application state (``getState``)."""
        return self.execute("getState")

    def is_connected(self) -> bool:
        """Return whether the server is connected now."""
        return self._server is not None and self._server.client.is_connected()

    def register(self, name: str, callback: Callable[[Any], None]) -> None:
        """Call ``callback(value)`` in this hub for each event of ``name``."""
        dispatch = self._live().dispatcher(get_bridge())
        dispatch.callbacks.setdefault(name, []).append(callback)
        self._registered.append((dispatch, name, callback))

    def close(self) -> None:
        """Drop registered callbacks and release the connection; idempotent."""
        server, self._server = self._server, None
        if server is None:
            return
        for dispatch, name, callback in self._registered:
            listed = dispatch.callbacks.get(name, [])
            if callback in listed:
                listed.remove(callback)
        self._registered.clear()
        release_server(server)

    stop = close


# -- commands and channels -------------------------------------------------------
def _server_address(attrs: dict[str, Any], what: str) -> tuple[str, int]:
    address = attrs.pop("exporter_address", None)
    host = attrs.pop("address", None)
    port = attrs.pop("port", None)
    if address:
        return parse_address(address)
    if host and port is not None:
        return parse_address(f"{host}:{port}")
    raise ConfigError(
        f"{what} has no server: give exporter_address='host:port' on the element "
        "or an <exporter_address> property on the object"
    )


def _warn_unread(attrs: dict[str, Any], what: str) -> None:
    attrs.pop("retries", None)
    warn_unread(log, attrs, what)


def make_command(
    name: str, text: str, attrs: dict[str, Any], owner: Any
) -> ExporterCommand:
    """Create an :class:`ExporterCommand` from its XML element (see module doc)."""
    attrs = dict(attrs)
    what = f"exporter command {name!r}"
    host, port = _server_address(attrs, what)
    command = ExporterCommand(
        name,
        text or name,
        username=attrs.pop("username", None),
        address=host,
        port=port,
        timeout=pop_milliseconds(attrs, "timeout", _DEFAULT_TIMEOUT),
    )
    _warn_unread(attrs, what)
    return command


def make_channel(
    name: str, text: str, attrs: dict[str, Any], owner: Any
) -> ExporterChannel:
    """Create an :class:`ExporterChannel` from its XML element (see module doc)."""
    attrs = dict(attrs)
    what = f"exporter channel {name!r}"
    host, port = _server_address(attrs, what)
    channel = ExporterChannel(
        name,
        text or name,
        username=attrs.pop("username", None),
        address=host,
        port=port,
        timeout=pop_milliseconds(attrs, "timeout", _DEFAULT_TIMEOUT),
        polling=pop_polling(attrs),
    )
    _warn_unread(attrs, what)
    return channel


def _host_port(
    kind: str, name: str, address: str | None, port: int | None
) -> tuple[str, int]:
    if address is None or port is None:
        raise ConfigError(f"exporter {kind} {name!r} needs address and port")
    return str(address), int(port)


class ExporterCommandBackend:
    """The Exporter side of an :class:`ExporterCommand` (a ``CommandBackend``).

    Hub thread, as every command backend: a call waits for the server's reply
    cooperatively. Holds a share of the server's connection until
    :meth:`close`.

    Args:
        name: the command's name.
        method: the server's method.
        exporter: the client of the server (closed with the backend).
    """

    def __init__(self, name: str, method: str, exporter: Exporter) -> None:
        self.name = name
        self.method = method
        self.exporter = exporter
        self._source = f"exporter command {name!r} ({method} on {exporter.address})"

    def source(self) -> str:
        """Name the command, its method and server, for messages."""
        return self._source

    def call(
        self, args: tuple[Any, ...], kwargs: Mapping[str, Any], timeout: float | None
    ) -> Any:
        """Call the method with ``args`` and return its converted reply.

        The object layer's ``timeout`` bounds the wait; the request itself
        has no limit of its own.

        Raises:
            CommandFailedError: the server answered ``ERR:``.
            NotConnectedError: the server is not connected.
        """
        return self.exporter.execute(self.method, args, timeout=None)

    def abort(self) -> None:
        """Do nothing on the server: the protocol cannot cancel one call.

        The object layer still ends the waiting greenlets; stopping what the
        MD does is its own ``abort`` method (an ``exporter`` command).
        """

    def close(self) -> None:
        """Release the share of the server's connection; idempotent."""
        self.exporter.close()


class ExporterCommand(CommandObject):
    """One method of an Exporter server; call it with the method's parameters.

    Args:
        command: the method name.
        address: the server's host.
        port: its TCP port.
        timeout: seconds one call may take (the call's default limit).
    """

    def __init__(
        self,
        name: str,
        command: str,
        username: str | None = None,
        address: str | None = None,
        port: int | None = None,
        timeout: float = _DEFAULT_TIMEOUT,
        **kwargs: Any,
    ) -> None:
        host, number = _host_port("command", name, address, port)
        self._exporter = Exporter(host, number, timeout)
        super().__init__(
            name,
            username,
            timeout=timeout,
            backend=ExporterCommandBackend(name, command, self._exporter),
        )
        self.command = command
        #: the server, ``host:port``
        self.address = self._exporter.address
        self._connected = self._exporter.is_connected()

    def is_connected(self) -> bool:
        """Return whether the server is connected."""
        return not self._closed and self._exporter.is_connected()

    isConnected = is_connected

    def get_state(self) -> Any:
        """Return the server's application state (``getState``)."""
        return self._exporter.get_state()


class ExporterChannelBackend:
    """The Exporter side of an :class:`ExporterChannel` (a ``ChannelBackend``).

    Hub thread, as every channel backend; its listeners are called in the hub
    too (the server's dispatcher delivers events and connection changes
    there, and the Poller its values). Holds a share of the server's
    connection until :meth:`close`. Its arguments are those of
    :class:`ExporterChannel`.
    """

    def __init__(
        self,
        name: str,
        property_name: str,
        address: str,
        port: int,
        timeout: float,
        polling: float | None,
    ) -> None:
        self.property_name = property_name
        self.timeout = timeout
        self.polling = polling
        self._server: SharedServer | None = acquire_server(address, port)
        #: the server, ``host:port``
        self.address = self._server.address
        self._source = f"exporter channel {name!r} ({property_name} on {self.address})"
        self._dispatch: ServerDispatch | None = None  # hub thread only
        self._on_connection: ConnectionListener | None = None  # hub thread only
        #: the reading listener, which the server's dispatcher feeds in the hub
        self.subscription = Subscription()
        if polling is not None:
            self.subscription.poll(self._poll_once, polling, self._on_poll_error)

    def source(self) -> str:
        """Name the channel, its property and server, for messages."""
        return self._source

    def _live(self) -> SharedServer:
        if self._server is None:
            raise NotConnectedError(f"{self._source} is closed")
        return self._server

    def connect(self, on_connection: ConnectionListener) -> None:
        """Follow the property's events; report the server's connection."""
        self._on_connection = on_connection
        self._dispatch = self._live().dispatcher(get_bridge())
        self._dispatch.add_channel(self)

    def report_connection(self, connected: bool) -> None:
        """Hub: the server was connected or lost (from its dispatcher)."""
        listener = self._on_connection
        if listener is not None:
            listener(connected)

    def read(self, timeout: float | None) -> Reading[Any]:
        """Read the property, waiting cooperatively (natively in a thread).

        Raises:
            NotConnectedError: the server is not connected.
            Timeout: no reply in time.
            CommandFailedError: the server refused (unknown property).
        """
        limit = self.timeout if timeout is None else timeout
        text = self._live().client.call(Request.READ, self.property_name, (), limit)
        return Reading(parse_value(text))

    def write(self, value: Any, timeout: float | None) -> None:
        """Write the property and wait for the server's reply.

        Raises:
            NotConnectedError: the server is not connected.
            Timeout: no reply in time.
            CommandFailedError: the server refused the value.
        """
        limit = self.timeout if timeout is None else timeout
        self._live().client.call(Request.WRTE, self.property_name, (value,), limit)

    def subscribe(self, on_reading: ReadingListener[Any]) -> None:
        """Deliver every event of the property, and polled values with ``polling``."""
        self.subscription.open(on_reading)

    def _poll_once(self) -> Any:
        """Poller thread: read the property once (waits natively)."""
        return self.read(self.timeout).value

    def _on_poll_error(self, exc: BaseException) -> float:
        """Hub: a poll failed; poll again after a period (half a second at least)."""
        return max(self.polling or 1.0, 0.5)

    def unsubscribe(self) -> None:
        """Stop delivering values; stop polling."""
        self.subscription.close()

    def close(self) -> None:
        """Stop following the property; release the connection; idempotent."""
        self.unsubscribe()
        self._on_connection = None
        server, self._server = self._server, None
        if server is None:
            return
        if self._dispatch is not None:
            self._dispatch.remove_channel(self)
        release_server(server)


class ExporterChannel(ChannelObject):
    """One property of an Exporter server, followed by its events.

    Hub-thread methods. Values are converted as mxCuBE does (numbers, booleans,
    arrays as lists).

    Args:
        property_name: the property.
        address: the server's host.
        port: its TCP port.
        timeout: seconds one read or write may take.
        polling: seconds between two reads on the Poller (besides events);
            ``None``: events only.
    """

    def __init__(
        self,
        name: str,
        property_name: str,
        username: str | None = None,
        address: str | None = None,
        port: int | None = None,
        timeout: float = _DEFAULT_TIMEOUT,
        polling: float | None = None,
        **kwargs: Any,
    ) -> None:
        host, number = _host_port("channel", name, address, port)
        self._exporter = ExporterChannelBackend(
            name, property_name, host, number, timeout, polling
        )
        self.property_name = property_name
        self.io_timeout = timeout
        self.polling = polling
        #: the server, ``host:port``
        self.address = self._exporter.address
        super().__init__(name, username, backend=self._exporter)
