"""The item classes the Taco and TINE modules build on.

* :class:`ClientCommand` -- a command whose execution is one blocking client
  call, run in a worker thread while the caller waits cooperatively;
* :class:`ClientChannel` -- a channel's connection state as the client
  reports it: the last error, the outage logged once (then at debug level),
  the recovery logged, the retry back-off (one
  :class:`~HardwareRepository.policies.ConnectionHealth`), and
  :meth:`~ClientChannel.get_value` reading the client when it must.

Both name their client library (real or SIMULATED) in :meth:`source`, which
every message uses. A type module sets the class attributes ``LIBRARY`` and
implements ``_where`` plus ``_client_call`` (commands) or
``_read`` (channels). Private to :mod:`HardwareRepository.Command`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from types import ModuleType
from typing import Any, ClassVar, Generic, TypeVar

from ..commands import NOT_INITIALIZED, ChannelObject, CommandObject
from ..errors import CommandFailedError, NotConnectedError
from ..policies import ConnectionHealth, RetryBackoff
from ._common import ClientLibrary, call_and_wait

__all__ = ["ClientCall", "ClientChannel", "ClientCommand", "ClientItem"]

E = TypeVar("E")

#: what a command sends: (action for messages, blocking function, its arguments)
ClientCall = tuple[str, Callable[..., Any], tuple[Any, ...]]


class ClientItem:
    """The client library of an item and how messages name the item."""

    LIBRARY: ClassVar[ClientLibrary]
    KIND: ClassVar[str]
    _name: str
    #: the client module in use (real or simulated)
    client: ModuleType
    #: whether :attr:`client` is the SIMULATED client
    simulated: bool = False

    def _use_client(self, client: ModuleType | None) -> None:
        """Adopt ``client`` (``None``: as the environment selects); say if simulated.

        Call it once the fields :meth:`_where` reads are set.
        """
        self.client = self.LIBRARY.load_default() if client is None else client
        self.simulated = bool(getattr(self.client, "SIMULATED", False))
        if self.simulated:
            self._log.info(
                "%s: using the SIMULATED %s client", self.source(), self.LIBRARY.system
            )

    @property
    def _log(self) -> logging.Logger:
        return logging.getLogger(self.LIBRARY.logger)

    def _where(self) -> str:
        """Name the device/server and command/property, for :meth:`source`."""
        raise NotImplementedError

    def source(self) -> str:
        """Name the item, its device and command, and the client, for messages."""
        flavour = ", SIMULATED client" if self.simulated else ""
        return (
            f"{self.LIBRARY.type_name} {self.KIND} {self._name!r} "
            f"({self._where()}{flavour})"
        )


class ClientCommand(ClientItem, CommandObject):
    """A command executed as one blocking client call.

    Calling: see :meth:`CommandObject.__call__` (``wait=``, ``timeout=``, the
    command signals). The client call runs in a worker thread and the caller
    waits cooperatively; a :class:`~HardwareRepository.errors.Timeout` stops
    the wait, not the client call, which ends at the client's own timeout.
    An ``OSError`` of the client becomes
    :class:`~HardwareRepository.errors.CommandFailedError` (cause kept).
    """

    KIND = "command"

    def _client_call(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> ClientCall:
        """Check the call's arguments and return what to call.

        :raises TypeError: the arguments do not suit the command.
        """
        raise NotImplementedError

    def _execute(self, *args: Any, **kwargs: Any) -> Any:
        action, func, call_args = self._client_call(args, kwargs)
        return call_and_wait(
            func,
            *call_args,
            source=self.source(),
            failure=CommandFailedError,
            action=action,
        )


class ClientChannel(ClientItem, ChannelObject, Generic[E]):
    """A channel whose connection follows what its client reports.

    A type module calls :meth:`_report_lost` on every failure and
    :meth:`_report_back` on every good reading, from any thread: the state
    change reaches the hub through the bridge (``connectionStateChanged``,
    ``connected``/``disconnected``, quality ``INVALID`` while lost). The
    first failure of an outage is logged as a warning, the others at debug
    level, the recovery at info level.

    :param retry: seconds before the first retry after a failure.
    :param retry_max: the largest delay between retries, seconds.
    """

    KIND = "channel"

    def __init__(
        self, name: str, username: str | None, retry: float, retry_max: float
    ) -> None:
        super().__init__(name, username)
        self._health: ConnectionHealth[E] = ConnectionHealth(
            self.source, self._log, retry, retry_max
        )
        self._backoff: RetryBackoff = self._health.backoff  # hub thread only

    @property
    def last_error(self) -> E | None:
        """The last failure, ``None`` once a good reading arrives."""
        return self._health.last_error

    def _report_lost(self, error: E, why: str) -> None:
        """Record a failure (``why`` for the log); any thread."""
        if self._health.lost(error, why):
            self._on_outage(why)
        self.set_connected_threadsafe(False)

    def _on_outage(self, why: str) -> None:
        """Hook run at the first failure of an outage, in the reporting thread."""

    def _report_back(self) -> None:
        """Record a good reading: connected, no error; any thread."""
        self._health.back()
        self.set_connected_threadsafe(True)

    def _read(self, timeout: float | None) -> Any:
        """Read the value from the client (blocking call in a worker thread)."""
        raise NotImplementedError

    def get_value(self, force: bool = False, timeout: float | None = None) -> Any:
        """Return the channel's value.

        Returns the last value received; reads it through the client (in a
        worker thread, waiting cooperatively) when ``force`` is true or none
        arrived yet. Never busy-waits.

        :param timeout: seconds; default: the item's client timeout (plus a
            grace second).
        :raises NotConnectedError: the channel is closed, or (Taco) the
            device cannot be reached.
        :raises CommunicationError: the read failed (the client's error as
            ``__cause__``).
        :raises Timeout: the client did not answer in time.
        """
        if self._closed:
            raise NotConnectedError(f"{self.source()} is closed")
        if not force and self._value is not NOT_INITIALIZED:
            return self._value
        return self._read(timeout)

    getValue = get_value
