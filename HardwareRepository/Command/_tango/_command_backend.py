"""The Tango side of a command: :class:`TangoCommandBackend` (a ``CommandBackend``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ...bridge import get_bridge
from ...errors import NotConnectedError
from ._calls import await_call, command_inout, health_listener, wait_released
from ._device import DeviceLink, acquire_link, release_link
from ._errors import TangoCommandFailedError, TangoCommunicationError

__all__ = ["TangoCommandBackend"]


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
        self._health_token = health.watch(health_listener(self._on_health))
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
            command_inout,
            self.command,
            args,
            command=True,
            ordered=True,
        )
        try:
            value = await_call(call, None, self.device_name, self._target, self._target)
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
        wait_released(self._link, ended, get_bridge())
