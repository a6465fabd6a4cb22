"""A channel on a control system: a cached value, its quality and its updates."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ..bridge import BridgeClosedError
from ..errors import NotConnectedError
from ..policies import NOT_INITIALIZED, values_equal
from ._backend import ChannelBackend, Reading
from ._item import _Item
from ._quality import Quality

__all__ = ["ChannelObject"]


class ChannelObject(_Item):
    """One value on a control system, read, written and followed.

    Construct it in the owning hub thread. Hub-thread methods unless said
    otherwise; :meth:`update_threadsafe` and :meth:`set_connected_threadsafe`
    are the entry points for control-system threads.

    A channel either holds a :class:`~HardwareRepository.commands.ChannelBackend`
    (given at construction; the channel then connects it, subscribes to its
    readings and reads and writes through it), as every built-in type does, or
    is a subclass that does that work itself (the older way, for third-party
    types written before the contract).

    :param name: the channel's name in its container.
    :param username: display name.
    :param backend: the control system's side of the channel, or ``None``.
    :param kwargs: extra XML attributes a subclass did not consume (ignored).
    """

    def __init__(
        self,
        name: str,
        username: str | None = None,
        *,
        backend: ChannelBackend[Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(name, username)
        self._value: Any = NOT_INITIALIZED
        self._quality = Quality.UNKNOWN
        #: wall-clock time (``time.time()``) of the last update, or ``None``
        self.timestamp: float | None = None
        self._backend = backend
        if backend is not None:
            backend.connect(self.set_connected_threadsafe)
            backend.subscribe(self._on_backend_reading)

    # -- value ----------------------------------------------------------------
    @property
    def value(self) -> Any:
        """The last value received (``NOT_INITIALIZED`` before the first)."""
        return self._value

    def source(self) -> str:
        """Describe where the item lives: the backend's description, if any."""
        if self._backend is not None:
            return self._backend.source()
        return super().source()

    @property
    def backend(self) -> ChannelBackend[Any] | None:
        """The control system's side of the channel (``None`` for a subclass)."""
        return self._backend

    def get_value(self, force: bool = False, timeout: float | None = None) -> Any:
        """Return the channel's value.

        Returns the last value received. With a backend, reads the control
        system (waiting cooperatively) when ``force`` is true or no value is
        cached, and stores the reading, emitting ``update`` when its value or
        quality differs from the cached one. Without one, type modules
        override this to read when they must.

        :param timeout: seconds for a read; ``None`` for the backend's default.
        :raises NotConnectedError: no value is known, or the channel is closed.
        :raises CommunicationError: the read failed.
        :raises Timeout: the read did not answer within ``timeout``.
        """
        backend = self._backend
        if backend is not None:
            if self._closed:
                raise NotConnectedError(f"{self.source()} is closed")
            if force or self._value is NOT_INITIALIZED:
                self._store_if_changed(backend.read(timeout))
        if self._value is NOT_INITIALIZED:
            state = "closed" if self._closed else "no value received yet"
            raise NotConnectedError(f"{self.source()}: {state}")
        return self._value

    getValue = get_value

    def set_value(self, value: Any, timeout: float | None = None) -> None:
        """Write ``value`` to the control system, waiting cooperatively.

        :param timeout: seconds; ``None`` for the backend's default.
        :raises NotImplementedError: the channel is read-only.
        :raises NotConnectedError: the device cannot be reached, or the
            channel is closed.
        :raises CommunicationError: the control system refused the value.
        :raises Timeout: no answer within ``timeout``.
        """
        backend = self._backend
        if backend is None:
            raise NotImplementedError(f"{self.source()} is read-only")
        if self._closed:
            raise NotConnectedError(f"{self.source()} is closed")
        backend.write(value, timeout)

    setValue = set_value

    def get_quality(self) -> Quality:
        """Return the quality of the last value (``UNKNOWN`` before one)."""
        return self._quality

    @property
    def quality(self) -> Quality:
        """The quality of the last value (see :meth:`get_quality`)."""
        return self._quality

    def update(
        self,
        value: Any,
        quality: Quality = Quality.VALID,
        timestamp: float | None = None,
    ) -> None:
        """Store a new value and emit ``update(value)``; hub thread only.

        Every call emits (comparison is the source's business: pollers compare,
        events are sent on change). ``qualityChanged(quality)`` is emitted
        first when the quality differs from the previous one. A tuple value is
        delivered as one argument (never splatted).

        :param timestamp: wall-clock seconds of the reading; default now.
        """
        if self._closed:
            return
        self._value = value
        self.timestamp = time.time() if timestamp is None else timestamp
        if quality is not self._quality:
            self._quality = quality
            self._send("qualityChanged", (quality,))
        self._send("update", (value,))

    def _store_if_changed(self, reading: Reading[Any]) -> None:
        if (
            self._value is NOT_INITIALIZED
            or reading.quality is not self._quality
            or not values_equal(self._value, reading.value)
        ):
            self.update(reading.value, reading.quality, reading.timestamp)

    def _on_backend_reading(self, reading: Reading[Any]) -> None:
        self.update_threadsafe(reading.value, reading.quality, reading.timestamp)

    def update_threadsafe(
        self,
        value: Any,
        quality: Quality = Quality.VALID,
        timestamp: float | None = None,
    ) -> None:
        """Hand a new value to the hub thread; safe from any thread, never blocks.

        Values arriving faster than the hub applies them coalesce (unless the
        class sets ``COALESCE_UPDATES = False``): the hub applies the latest
        one, so receivers see the current value, not every intermediate one;
        :meth:`delivery_statistics` counts the merged ones. In the hub thread
        this is :meth:`update`. Ignored once the hub's bridge is closed
        (shutdown).
        """
        if self._bridge.in_hub_thread():
            self.update(value, quality, timestamp)
            return
        stamp = time.time() if timestamp is None else timestamp
        try:
            self._get_inbox().put((value, quality, stamp))
        except BridgeClosedError:
            pass  # shutdown: nobody is left to tell

    def _on_delivered(self, item: Any, merged: int) -> None:
        if isinstance(item, tuple):
            self.update(*item)
        else:
            self.set_connected(item)

    def _set_quality(self, quality: Quality) -> None:
        """Change only the quality (the value is kept); hub thread.

        Emits ``qualityChanged(quality)`` if it differs from the current one.
        """
        if self._closed or quality is self._quality:
            return
        self._quality = quality
        self._send("qualityChanged", (quality,))

    def _on_connection_changed(self, connected: bool) -> None:
        if not connected and self._quality is not Quality.UNKNOWN:
            self._set_quality(Quality.INVALID)

    def close(self) -> None:
        """Unsubscribe and close the backend, then disconnect every receiver.

        Idempotent; hub thread; bounded in time. Subclasses release their own
        resources first, then call ``super().close()``.
        """
        if self._closed:
            return
        backend = self._backend
        if backend is not None:
            try:
                backend.unsubscribe()
            finally:
                backend.close()
        super().close()

    def connect_notify(self, signal: str, receiver: Callable[..., Any]) -> None:
        """Send the current value to a new ``update`` receiver, if one is known.

        Only the new receiver is called (the others already have the value).
        A failure is handled as for any emission.
        """
        if signal != "update" or self._value is NOT_INITIALIZED:
            return
        self._send_to("update", receiver, (self._value,))
