"""What commands and channels share: names, signals, connection state, close."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from .._signals import SignalEmitter
from ..bridge import BridgeClosedError, get_bridge, native

if TYPE_CHECKING:
    from ..bridge import Inbox, InboxStatistics

# Serialises the creation of items' inboxes (rare: once per item at most).
_inbox_lock = native.allocate_lock()


class _Item(SignalEmitter):
    """What commands and channels share: names, signals, connection, close.

    Changes reported from other threads enter the hub through the item's
    :class:`~HardwareRepository.bridge.Inbox`, in the order they were made.
    """

    #: whether values put by other threads may merge (latest wins) before the
    #: hub applies them; connection changes never merge
    COALESCE_UPDATES: ClassVar[bool] = True

    def __init__(self, name: str, username: str | None = None) -> None:
        self._name = str(name)
        self._username = None if username is None else str(username)
        self._connected = False
        self._closed = False
        #: the bridge of the owning hub (the thread that created the item)
        self._bridge = get_bridge()
        # Created by the first change another thread hands over (most items
        # of a configuration never need one); see _get_inbox.
        self._inbox: Inbox | None = None

    def name(self) -> str:
        """Return the item's name (the XML ``name=`` attribute)."""
        return self._name

    def userName(self) -> str:
        """Return the display name: ``username`` if configured, else the name."""
        return self._username or self._name

    get_username = userName

    @property
    def username(self) -> str:
        """The display name (see :meth:`userName`)."""
        return self.userName()

    def source(self) -> str:
        """Describe where the item lives (device and attribute), for messages."""
        return f"{type(self).__name__} {self._name!r}"

    def __repr__(self) -> str:
        return f"<{self.source()}>"

    def connect_signal(
        self, signal: str, receiver: Callable[..., Any], *, weak: bool = True
    ) -> None:
        """Connect ``receiver`` to ``signal``.

        :param weak: hold a bound method weakly (default); other callables are
            always held strongly. See :mod:`HardwareRepository._signals`.
        """
        if self.add_signal_receiver(signal, receiver, weak):
            self.connect_notify(signal, receiver)

    connectSignal = connect_signal

    def connect(
        self, signal: str, receiver: Callable[..., Any], *, weak: bool = True
    ) -> None:
        """Alias of :meth:`connect_signal` (mxCuBE's CommandObject.connect)."""
        self.connect_signal(signal, receiver, weak=weak)

    def disconnect_signal(self, signal: str, receiver: Callable[..., Any]) -> None:
        """Disconnect ``receiver`` from ``signal``; a no-op if not connected."""
        self.remove_signal_receiver(signal, receiver)

    disconnectSignal = disconnect_signal
    disconnect = disconnect_signal

    def connect_notify(self, signal: str, receiver: Callable[..., Any]) -> None:
        """Hook run after ``receiver`` was connected to ``signal`` (no-op here)."""

    def emit(self, signal: str, *args: Any) -> None:
        """Emit ``signal`` with ``args`` to its receivers, synchronously.

        mxCuBE compatibility: a single tuple argument is splatted, so
        ``emit("x", (1, 2))`` calls ``receiver(1, 2)``. Subclasses that must
        send a tuple value use ``self._send(signal, (value,))``.
        """
        if len(args) == 1 and isinstance(args[0], tuple):
            args = args[0]
        self._send(signal, args)

    def is_connected(self) -> bool:
        """Return whether the control system is reachable for this item."""
        return self._connected and not self._closed

    isConnected = is_connected

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def set_connected(self, connected: bool) -> None:
        """Record the connection state; hub thread only.

        Emits ``connectionStateChanged(connected)`` and ``connected`` or
        ``disconnected`` when the state changes.
        """
        connected = bool(connected)
        if connected == self._connected or self._closed:
            return
        self._connected = connected
        self._on_connection_changed(connected)
        self._send("connectionStateChanged", (connected,))
        self._send("connected" if connected else "disconnected", ())

    def set_connected_threadsafe(self, connected: bool) -> None:
        """Like :meth:`set_connected`, callable from any thread; never blocks.

        The change is applied in the hub thread, in order with the values
        handed over by the same thread (a value is never merged across a
        connection change). Ignored once the hub's bridge is closed.
        """
        if self._bridge.in_hub_thread():
            self.set_connected(connected)
            return
        try:
            self._get_inbox().put_barrier(bool(connected))
        except BridgeClosedError:
            pass  # shutdown: nobody is left to tell

    def _get_inbox(self) -> Inbox:
        """Return the item's inbox into its hub, creating it once; any thread."""
        inbox = self._inbox
        if inbox is None:
            # The sink is imported by the first item that needs an inbox.
            from ..bridge import sink_for

            with _inbox_lock:
                inbox = self._inbox
                if inbox is None:
                    inbox = self._inbox = sink_for(self._bridge).inbox(
                        self._on_delivered,
                        label=f"{type(self).__name__} {self._name!r}",
                        coalesce=self.COALESCE_UPDATES,
                    )
                    if self._closed:
                        inbox.close()
        return inbox

    def _on_delivered(self, item: Any, merged: int) -> None:
        """Apply one change handed over by another thread (dispatcher greenlet)."""
        self.set_connected(item)

    def delivery_statistics(self) -> InboxStatistics:
        """Return the counters of what other threads handed to this item.

        Queue depth now and at most, and the changes received, applied,
        merged (a later value replaced them) and dropped; safe from any thread.
        """
        return self._get_inbox().statistics()

    def _on_connection_changed(self, connected: bool) -> None:
        """Hook for subclasses, run before the connection signals."""

    def close(self) -> None:
        """Release the item's resources and disconnect all receivers.

        Idempotent; hub thread; must return in bounded time. After ``close``
        the item is disconnected and refuses to be used.
        Subclasses release their own resources first, then call
        ``super().close()``.
        """
        if self._closed:
            return
        was_connected = self._connected
        self._connected = False
        if was_connected:
            self._send("connectionStateChanged", (False,))
            self._send("disconnected", ())
        self._closed = True
        if self._inbox is not None:
            self._inbox.close()
        self._clear_receivers()
