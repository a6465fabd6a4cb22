"""The typed contract between the object layer and a control system's client.

A control system plugs in with two small classes: a :class:`ChannelBackend`
(one value on one device) and a :class:`CommandBackend` (one command on one
device). :class:`~HardwareRepository.commands.ChannelObject` and
:class:`~HardwareRepository.commands.CommandObject` hold one and do everything
common once: the cached value, quality, connection state and its signals,
``wait=`` / ``timeout=``, the command signals, wrapping and naming errors, and
carrying values from the backend's threads into the hub.

Threads, stated once for every method below:

* The object layer calls a backend only in its **hub thread** (the thread that
  created the item), from a greenlet that may wait cooperatively. A backend
  that must make a blocking client call hands it to a worker thread and waits
  on a :class:`~HardwareRepository.bridge.AsyncResult`; it never blocks the
  thread.
* A backend calls its listeners (:data:`ReadingListener`,
  :data:`ConnectionListener`) from **any thread** -- a client's event thread,
  a poller thread, a socket reader -- and those calls never block. Readings and
  connection changes reach the hub in the order each thread made them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, Generic, Protocol, TypeVar

from ._quality import Quality

__all__ = [
    "ChannelBackend",
    "CommandBackend",
    "ConnectionListener",
    "Reading",
    "ReadingListener",
]

T = TypeVar("T")
R_co = TypeVar("R_co", covariant=True)


class Reading(Generic[T]):
    """One value of a channel, with its quality and when it was taken.

    Treat a reading as immutable: one may be shared by several channels. (A
    plain slots class: it is built for every event of every backend, and
    defining it costs the package's import less than a dataclass.)

    Args:
        value: the value as the control system gave it (numpy arrays stay
            arrays).
        quality: the control system's verdict on the value.
        timestamp: wall-clock seconds (``time.time()``) of the reading, the
            control system's own time stamp when it gives one; default now.
    """

    __slots__ = ("quality", "timestamp", "value")

    def __init__(
        self,
        value: T,
        quality: Quality = Quality.VALID,
        timestamp: float | None = None,
    ) -> None:
        self.value = value
        self.quality = quality
        self.timestamp: float = time.time() if timestamp is None else timestamp

    def __repr__(self) -> str:
        return (
            f"Reading(value={self.value!r}, quality={self.quality!r}, "
            f"timestamp={self.timestamp!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Reading) or type(other) is not type(self):
            return NotImplemented
        return (self.value, self.quality, self.timestamp) == (
            other.value,
            other.quality,
            other.timestamp,
        )

    __hash__ = None  # type: ignore[assignment]  # mutable, like a dataclass


#: Receives each new reading of a subscribed channel; any thread, never blocks.
ReadingListener = Callable[[Reading[T]], None]

#: Receives ``True`` when the backend reaches its device and ``False`` when it
#: loses it; any thread, never blocks. Repeating the current state is allowed.
ConnectionListener = Callable[[bool], None]


class ChannelBackend(Protocol[T]):
    """One value on one device of a control system.

    Implementations are created by a type module's ``make_channel`` and
    handed to a :class:`~HardwareRepository.commands.ChannelObject`; every
    method is called in the item's hub thread (see the module doc).
    """

    def source(self) -> str:
        """Name the control system, device and attribute, for messages."""
        ...

    def connect(self, on_connection: ConnectionListener) -> None:
        """Start reaching the device and report the state to ``on_connection``.

        Returns promptly: an unreachable device is not an error here. The
        backend reports the state as soon as it knows it, then every change,
        and keeps retrying on its own, with growing delays, until :meth:`close`.
        """
        ...

    def read(self, timeout: float | None) -> Reading[T]:
        """Read the value from the device now, waiting cooperatively.

        Args:
            timeout: seconds to wait at most; ``None`` for the backend's own
                default.

        Raises:
            NotConnectedError: the device cannot be reached.
            CommunicationError: the control system reported a failure (its
                error as ``__cause__``).
            Timeout: no answer within ``timeout``.
        """
        ...

    def write(self, value: T, timeout: float | None) -> None:
        """Write ``value`` to the device, waiting cooperatively for the reply.

        Raises:
            NotImplementedError: the channel is read-only.
            NotConnectedError: the device cannot be reached.
            CommunicationError: the control system refused the value.
            Timeout: no answer within ``timeout`` seconds.
        """
        ...

    def subscribe(self, on_reading: ReadingListener[T]) -> None:
        """Deliver every new reading to ``on_reading`` until :meth:`unsubscribe`.

        How readings are obtained (events, client polling, nothing until a
        read) is the backend's choice, made when it is created. A backend that
        already holds a value delivers it at once.
        """
        ...

    def unsubscribe(self) -> None:
        """Stop delivering readings; no listener call starts after it returns."""
        ...

    def close(self) -> None:
        """Release subscriptions, pollers and proxies; idempotent, bounded in time.

        No listener is called after it returns.
        """
        ...


class CommandBackend(Protocol[R_co]):
    """One command on one device of a control system.

    Created by a type module's ``make_command`` and handed to a
    :class:`~HardwareRepository.commands.CommandObject`, which applies
    ``wait=`` and ``timeout=`` and emits the command signals; every method is
    called in the item's hub thread (see the module doc).
    """

    def source(self) -> str:
        """Name the control system, device and command, for messages."""
        ...

    def call(
        self, args: tuple[Any, ...], kwargs: Mapping[str, Any], timeout: float | None
    ) -> R_co:
        """Execute the command once and return its reply, waiting cooperatively.

        The object layer also interrupts the wait with
        :class:`~HardwareRepository.errors.Timeout` after ``timeout`` seconds;
        the backend uses ``timeout`` to bound its own client call, and must
        never send a call whose caller already gave up.

        Raises:
            CommandFailedError: the control system reported a failure (its
                error as ``__cause__``).
            NotConnectedError: the device cannot be reached.
            TypeError: the arguments do not suit the command.
        """
        ...

    def abort(self) -> None:
        """Ask the device to stop the command, if the control system can."""
        ...

    def close(self) -> None:
        """Release proxies and workers; idempotent, bounded in time."""
        ...
