"""The backend classes the Taco and TINE modules build on.

* :class:`ClientBackend` -- the client library in use (real or SIMULATED) and
  how messages name the item;
* :class:`ClientCommandBackend` -- a ``CommandBackend`` whose call is one
  blocking client call, run in a worker thread while the caller waits
  cooperatively;
* :class:`ClientChannelBackend` -- the connection state of a ``ChannelBackend``
  as its client reports it: the last error, the outage logged once (then at
  debug level), the recovery logged, the retry back-off (one
  :class:`~HardwareRepository.policies.ConnectionHealth`).

Caching, quality, the connection signals and ``wait=``/``timeout=`` are the
object layer's (:class:`~HardwareRepository.commands.ChannelObject`,
:class:`~HardwareRepository.commands.CommandObject`). Private to
:mod:`HardwareRepository.Command`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any, Generic, TypeVar

from ..commands import ConnectionListener
from ..errors import CommandFailedError
from ..policies import ConnectionHealth, RetryBackoff
from ._common import ClientLibrary, call_and_wait

__all__ = [
    "ClientBackend",
    "ClientCall",
    "ClientChannelBackend",
    "ClientCommandBackend",
]

E = TypeVar("E")

#: what a command sends: (action for messages, blocking function, its arguments)
ClientCall = tuple[str, Callable[..., Any], tuple[Any, ...]]


class ClientBackend:
    """The client library of one item, and the item's name in messages.

    Args:
        library: the control system's client library.
        kind: ``"command"`` or ``"channel"``.
        name: the item's name.
        where: the device/server and command/property, for :meth:`source`.
        client: the client module; ``None``: as the environment selects.

    Raises:
        MissingClientLibraryError: the real client library is not installed.
    """

    def __init__(
        self,
        library: ClientLibrary,
        kind: str,
        name: str,
        where: str,
        client: ModuleType | None,
    ) -> None:
        #: the client module in use (real or simulated)
        self.client = library.load_default() if client is None else client
        #: whether :attr:`client` is the SIMULATED client
        self.simulated = bool(getattr(self.client, "SIMULATED", False))
        flavour = ", SIMULATED client" if self.simulated else ""
        self._source = f"{library.type_name} {kind} {name!r} ({where}{flavour})"
        #: the type module's logger
        self.log = logging.getLogger(library.logger)
        if self.simulated:
            self.log.info(
                "%s: using the SIMULATED %s client", self._source, library.system
            )

    def source(self) -> str:
        """Name the item, its device and command, and the client, for messages."""
        return self._source


class ClientCommandBackend(ClientBackend):
    """A command executed as one blocking client call (a ``CommandBackend``).

    The client call runs in a worker thread and the caller waits
    cooperatively; the object layer's timeout stops the wait, not the client
    call, which ends at the client's own timeout. An ``OSError`` of the client
    becomes :class:`~HardwareRepository.errors.CommandFailedError` (cause
    kept). A type module implements :meth:`client_call`.
    """

    def client_call(
        self, args: tuple[Any, ...], kwargs: Mapping[str, Any]
    ) -> ClientCall:
        """Check a call's arguments and return what to call.

        Raises:
            TypeError: the arguments do not suit the command.
        """
        raise NotImplementedError

    def call(
        self, args: tuple[Any, ...], kwargs: Mapping[str, Any], timeout: float | None
    ) -> Any:
        """Make the client call in a worker thread and wait for its reply.

        Raises:
            CommandFailedError: the client failed (its error as ``__cause__``).
            TypeError: the arguments do not suit the command.
        """
        action, func, call_args = self.client_call(args, kwargs)
        return call_and_wait(
            func,
            *call_args,
            source=self.source(),
            failure=CommandFailedError,
            action=action,
        )

    def abort(self) -> None:
        """Do nothing: a client call in flight cannot be cancelled."""

    def close(self) -> None:
        """Do nothing: the call threads end with their calls."""


class ClientChannelBackend(ClientBackend, Generic[E]):
    """A channel backend whose connection follows what its client reports.

    A type module calls :meth:`report_lost` on every failure and
    :meth:`report_back` on every good reading, from any thread; the
    connection listener given to :meth:`connect` hears each of them. The
    first failure of an outage is logged as a warning, the others at debug
    level, the recovery at info level.

    Args:
        retry: seconds before the first retry after a failure.
        retry_max: the largest delay between retries, seconds.
    """

    def __init__(
        self,
        library: ClientLibrary,
        name: str,
        where: str,
        client: ModuleType | None,
        retry: float,
        retry_max: float,
    ) -> None:
        super().__init__(library, "channel", name, where, client)
        self._health: ConnectionHealth[E] = ConnectionHealth(
            self.source, self.log, retry, retry_max
        )
        #: the delays between retries; hub thread only
        self.backoff: RetryBackoff = self._health.backoff
        self._on_connection: ConnectionListener | None = None

    @property
    def last_error(self) -> E | None:
        """The last failure, ``None`` once a good reading arrives."""
        return self._health.last_error

    def connect(self, on_connection: ConnectionListener) -> None:
        """Report each connection change to ``on_connection`` from now on."""
        self._on_connection = on_connection

    def report_lost(self, error: E, why: str) -> None:
        """Record a failure (``why`` for the log) and report it; any thread."""
        if self._health.lost(error, why):
            self.on_outage(why)
        listener = self._on_connection
        if listener is not None:
            listener(False)

    def on_outage(self, why: str) -> None:
        """Hook run at the first failure of an outage, in the reporting thread."""

    def report_back(self) -> None:
        """Record a good reading (connected, no error) and report it; any thread."""
        self._health.back()
        listener = self._on_connection
        if listener is not None:
            listener(True)

    def close(self) -> None:
        """Stop reporting connection changes; idempotent."""
        self._on_connection = None
