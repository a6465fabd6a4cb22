"""One shared connection per Exporter server, and its deliveries into each hub.

Every command, channel and :class:`~HardwareRepository.Command.Exporter.Exporter`
of the process that names a server (``host:port``) shares one
:class:`SharedServer` (:func:`acquire_server` / :func:`release_server`): one
:class:`~.client.ExporterClient` with its reader thread. In each hub that uses
it, a :class:`ServerDispatch` receives the client's events and connection
changes in the I/O thread, carries them into the hub through one inbox of the
hub sink (every event, in the server's order, none merged) and hands them to
the channels following each property (:class:`PropertyFollower`) and to the
callbacks registered by name. After each (re)connection it reads every
followed property again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import gevent

from ...bridge import HubBridge, native, sink_for
from ...commands import Quality, Reading
from ...errors import BridgeClosedError, NotConnectedError
from .client import ExporterClient
from .protocol import EventMessage, Request, parse_value

__all__ = [
    "PropertyFollower",
    "ReadingSink",
    "ServerDispatch",
    "SharedServer",
    "acquire_server",
    "release_server",
]

log = logging.getLogger("HardwareRepository.Command.Exporter")

#: events one server's inbox holds while the hub is busy (none is merged)
_CAPACITY = 200_000
_READ_TIMEOUT = 3.0  # s for the reads after a (re)connection


class ReadingSink(Protocol):
    """What takes a channel's readings (its subscription)."""

    def deliver(self, reading: Reading[Any]) -> None:
        """Hand ``reading`` on; hub thread here."""
        ...


class PropertyFollower(Protocol):
    """A channel backend following one property of the server; hub thread."""

    @property
    def property_name(self) -> str:
        """The property followed."""
        ...

    @property
    def subscription(self) -> ReadingSink:
        """What takes the property's values (events, reads after connecting)."""
        ...

    def report_connection(self, connected: bool) -> None:
        """Take the server's connection state (at registration, then changes)."""
        ...


class ServerDispatch:
    """Deliver one server's events and connection changes in one hub.

    Created by :meth:`SharedServer.dispatcher`.

    An :class:`~HardwareRepository.Command.exporter.ExporterListener`: its
    methods run in the client's I/O thread and post to the hub; everything
    else runs in the hub thread.
    """

    def __init__(self, server: SharedServer, bridge: HubBridge) -> None:
        self.server = server
        self.bridge = bridge
        self.channels: dict[str, list[PropertyFollower]] = {}  # hub thread
        self.callbacks: dict[str, list[Callable[[Any], None]]] = {}  # hub thread
        self._refresh: gevent.Greenlet | None = None  # hub thread only
        self.connected = False  # hub thread only
        self._inbox = sink_for(bridge).inbox(
            self._handle, label=f"exporter {server.address}", capacity=_CAPACITY
        )

    # I/O thread
    def on_events(self, events: Sequence[EventMessage]) -> None:
        """I/O thread: queue ``events`` for the hub, in order."""
        try:
            for event in events:
                self._inbox.put(event)
        except BridgeClosedError:
            pass  # shutdown: nobody is left to tell

    def on_connection(self, connected: bool) -> None:
        """I/O thread: queue a connection change for the hub, after the events."""
        try:
            self._inbox.put_barrier(connected)
        except BridgeClosedError:
            pass

    # hub thread
    def _handle(self, item: Any, merged: int) -> None:
        if isinstance(item, EventMessage):
            self._deliver(item)
        else:
            self._connection(item)

    def _deliver(self, event: EventMessage) -> None:
        channels = self.channels.get(event.name)
        callbacks = self.callbacks.get(event.name)
        if not channels and not callbacks:
            return
        value = parse_value(event.text)
        if channels:
            reading = Reading(value, Quality.VALID, event.timestamp)
            for channel in channels:
                channel.subscription.deliver(reading)
        for callback in callbacks or ():
            try:
                callback(value)
            except Exception:
                log.exception(
                    "Exporter %s: callback %r for %s failed",
                    self.server.address,
                    callback,
                    event.name,
                )

    def _connection(self, connected: bool) -> None:
        self.connected = connected
        for channels in list(self.channels.values()):
            for channel in list(channels):
                channel.report_connection(connected)
        if connected and self.channels:
            self.refresh()

    def refresh(self) -> None:
        """Read every followed property again (after a (re)connection)."""
        if self._refresh is not None and not self._refresh.dead:
            return
        self._refresh = gevent.spawn(self._read_all)

    def _read_all(self) -> None:
        names = list(self.channels)
        pending = []
        for name in names:
            try:
                pending.append((name, self.server.client.submit(Request.READ, name)))
            except NotConnectedError:
                return
        for name, reply in pending:
            try:
                value = parse_value(reply.wait(_READ_TIMEOUT))
            except Exception as exc:
                log.warning(
                    "Exporter %s: reading %s failed: %s", self.server.address, name, exc
                )
                continue
            reading = Reading(value)
            for channel in list(self.channels.get(name, ())):
                channel.subscription.deliver(reading)

    def add_channel(self, channel: PropertyFollower) -> None:
        """Deliver the property's events to ``channel``; tell it the connection."""
        self.channels.setdefault(channel.property_name, []).append(channel)
        channel.report_connection(self.connected)
        if self.connected:
            self.refresh()

    def remove_channel(self, channel: PropertyFollower) -> None:
        """Stop delivering to ``channel``."""
        listed = self.channels.get(channel.property_name, [])
        if channel in listed:
            listed.remove(channel)
        if not listed:
            self.channels.pop(channel.property_name, None)

    def close(self) -> None:
        """Stop delivering (the server is released); bounded in time."""
        self._inbox.close()
        if self._refresh is not None:
            self._refresh.kill(block=True, timeout=1.0)
            self._refresh = None


class SharedServer:
    """The shared connection to one server and its per-hub dispatchers."""

    def __init__(self, host: str, port: int) -> None:
        self.client = ExporterClient(host, port)
        self.address = self.client.address
        self.users = 0  # guarded by _registry_lock
        self.dispatchers: dict[int, ServerDispatch] = {}  # guarded by _registry_lock

    def dispatcher(self, bridge: HubBridge) -> ServerDispatch:
        """Return the server's dispatcher into ``bridge``'s hub, created once."""
        with _registry_lock:
            dispatch = self.dispatchers.get(id(bridge))
            if dispatch is None:
                dispatch = self.dispatchers[id(bridge)] = ServerDispatch(self, bridge)
                created = True
            else:
                created = False
        if created:
            self.client.add_listener(dispatch)
        return dispatch


_registry_lock = native.allocate_lock()
_servers: dict[tuple[str, int], SharedServer] = {}  # guarded by _registry_lock


def acquire_server(host: str, port: int) -> SharedServer:
    """Return the shared connection to ``host:port``, counting one more user.

    The first user starts the client (it connects in its own thread); safe
    from any thread.
    """
    with _registry_lock:
        server = _servers.get((host, port))
        if server is None:
            server = _servers[(host, port)] = SharedServer(host, port)
            start = True
        else:
            start = False
        server.users += 1
    if start:
        server.client.start()
    return server


def release_server(server: SharedServer) -> None:
    """Count one user less; the last one closes the connection and dispatchers."""
    with _registry_lock:
        server.users -= 1
        if server.users > 0:
            return
        _servers.pop((server.client.host, server.client.port), None)
        dispatchers = list(server.dispatchers.values())
        server.dispatchers.clear()
    for dispatch in dispatchers:
        server.client.remove_listener(dispatch)
        dispatch.close()
    server.client.close()
