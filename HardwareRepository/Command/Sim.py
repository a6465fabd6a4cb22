"""Type ``sim``: in-process simulated commands and channels (tests, mockups).

Nothing is simulated about the package itself: sim items go through the same
base classes, signals, timeouts and hub hand-over as Tango ones.

XML attributes (times in milliseconds, as everywhere in XML)::

    <command type="sim" name="move" value="ok" delay="200"/>
    <command type="sim" name="broken" fail="motor is stalled"/>
    <channel type="sim" name="position" value="1.5"/>
    <channel type="sim" name="shutter" value="OPEN" readonly="True"/>
    <channel type="sim" name="beam" connected="False"/>

Command: ``value`` is returned (if absent the command echoes its arguments:
none -> ``None``, one -> it, several -> a tuple); ``delay`` is waited
cooperatively before replying; ``fail`` makes every call raise
:class:`~HardwareRepository.errors.CommandFailedError` with that text.
Channel: ``value`` is the initial value (absent: no value until one is set);
``delay`` is waited cooperatively on each ``get_value``/``set_value``;
``fail`` makes reads and writes raise; ``readonly`` refuses ``set_value``;
``connected="False"`` starts disconnected (a control system that is down),
``quality`` sets the initial :class:`~HardwareRepository.CommandContainer.Quality`.
The element text, if any, is kept as the simulated device attribute name.

The simulated device is :class:`SimChannelBackend` / :class:`SimCommandBackend`,
a backend of the typed contract like any other control system's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gevent

from ..bridge import native
from ..commands import (
    ChannelObject,
    CommandObject,
    ConnectionListener,
    Quality,
    Reading,
    ReadingListener,
)
from ..errors import CommandFailedError, ConfigError, NotConnectedError

__all__ = [
    "INHERITED_PROPERTIES",
    "SimChannel",
    "SimChannelBackend",
    "SimCommand",
    "SimCommandBackend",
    "make_channel",
    "make_command",
]

INHERITED_PROPERTIES = ()
_UNSET: Any = object()


def _seconds(attrs: dict[str, Any], key: str) -> float:
    raw = attrs.pop(key, None)
    if raw is None:
        return 0.0
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or raw < 0:
        raise ConfigError(f"{key}={raw!r} must be a non-negative number of ms")
    return raw / 1000.0


def _timeout(attrs: dict[str, Any]) -> float | None:
    seconds = _seconds(attrs, "timeout")
    return seconds or None


def make_command(name: str, text: str, attrs: dict[str, Any], owner: Any) -> SimCommand:
    """Create a :class:`SimCommand` from its XML attributes (see module doc)."""
    attrs = dict(attrs)
    return SimCommand(
        name,
        text,
        username=attrs.pop("username", None),
        value=attrs.pop("value", _UNSET),
        delay=_seconds(attrs, "delay"),
        fail=attrs.pop("fail", None),
        timeout=_timeout(attrs),
    )


def make_channel(name: str, text: str, attrs: dict[str, Any], owner: Any) -> SimChannel:
    """Create a :class:`SimChannel` from its XML attributes (see module doc)."""
    attrs = dict(attrs)
    quality = attrs.pop("quality", None)
    try:
        initial_quality = Quality.VALID if quality is None else Quality[str(quality)]
    except KeyError:
        raise ConfigError(
            f"quality={quality!r} is not one of {', '.join(q.name for q in Quality)}"
        ) from None
    return SimChannel(
        name,
        text,
        username=attrs.pop("username", None),
        value=attrs.pop("value", _UNSET),
        delay=_seconds(attrs, "delay"),
        fail=attrs.pop("fail", None),
        readonly=bool(attrs.pop("readonly", False)),
        connected=bool(attrs.pop("connected", True)),
        quality=initial_quality,
    )


class SimCommandBackend:
    """The simulated device command behind a :class:`SimCommand`.

    Hub thread only, as every command backend.

    :param source: the command's description, for messages.
    :param value: what a call returns; absent -> echo the arguments.
    :param delay: seconds waited cooperatively before replying.
    :param fail: if given, each call raises ``CommandFailedError(fail)``.
    """

    def __init__(
        self,
        source: str,
        value: Any = _UNSET,
        delay: float = 0.0,
        fail: str | None = None,
    ) -> None:
        self._source = source
        self.value = value
        self.delay = delay
        self.fail = fail
        #: argument tuples of the calls that started, in order (for tests)
        self.calls: list[tuple[Any, ...]] = []

    def source(self) -> str:
        """Name the simulated command, for messages."""
        return self._source

    def call(
        self, args: tuple[Any, ...], kwargs: Mapping[str, Any], timeout: float | None
    ) -> Any:
        """Record the call, wait ``delay`` cooperatively, then reply or fail.

        Keyword arguments are accepted and ignored, as by the seed.

        :raises CommandFailedError: ``fail`` is configured.
        """
        self.calls.append(args)
        if self.delay:
            gevent.sleep(self.delay)
        if self.fail is not None:
            raise CommandFailedError(f"{self._source}: {self.fail}")
        if self.value is not _UNSET:
            return self.value
        if not args:
            return None
        return args[0] if len(args) == 1 else args

    def abort(self) -> None:
        """Do nothing: a simulated command has nothing to stop."""

    def close(self) -> None:
        """Do nothing: a simulated command holds no resources."""


class SimCommand(CommandObject):
    """A simulated command; see the module doc for its behaviour.

    :param text: the simulated device command name (informative).
    :param value: what a call returns; absent -> echo the arguments.
    :param delay: seconds waited cooperatively before replying.
    :param fail: if given, each call raises ``CommandFailedError(fail)``.
    """

    def __init__(
        self,
        name: str,
        text: str = "",
        username: str | None = None,
        value: Any = _UNSET,
        delay: float = 0.0,
        fail: str | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        self.command = text or name
        self.device = SimCommandBackend(
            f"sim command {name!r} ({self.command})", value, delay, fail
        )
        super().__init__(name, username, timeout=timeout, backend=self.device)

    @property
    def calls(self) -> list[tuple[Any, ...]]:
        """The argument tuples of the calls that started, in order (for tests)."""
        return self.device.calls


class SimChannelBackend:
    """The simulated device value behind a :class:`SimChannel`.

    :meth:`read`, :meth:`write` and the contract's other methods run in the
    hub thread; :meth:`publish` and :meth:`set_connected` are the simulated
    device's own activity and are safe from any thread.

    :param source: the channel's description, for messages.
    :param value: initial value; absent -> no value until one is published.
    :param quality: the quality of the initial value.
    :param delay: seconds waited cooperatively on each read and write.
    :param fail: if given, reads and writes raise ``CommandFailedError(fail)``.
    :param readonly: refuse writes.
    :param connected: whether the simulated server starts up.
    """

    def __init__(
        self,
        source: str,
        value: Any = _UNSET,
        quality: Quality = Quality.VALID,
        delay: float = 0.0,
        fail: str | None = None,
        readonly: bool = False,
        connected: bool = True,
    ) -> None:
        self._source = source
        self.delay = delay
        self.fail = fail
        self.readonly = readonly
        self._lock = native.allocate_lock()
        # The device's state, guarded by _lock.
        self._reading: Reading[Any] | None = (
            None if value is _UNSET else Reading(value, quality)
        )
        self._connected = connected
        self._on_reading: ReadingListener[Any] | None = None
        self._on_connection: ConnectionListener | None = None

    def source(self) -> str:
        """Name the simulated value, for messages."""
        return self._source

    def connect(self, on_connection: ConnectionListener) -> None:
        """Report the simulated server's state now and at each change."""
        with self._lock:
            self._on_connection = on_connection
            connected = self._connected
        on_connection(connected)

    def probe(self) -> None:
        """Act out one exchange with the simulated server, without a value.

        Waits ``delay`` cooperatively.

        :raises NotConnectedError: the simulated server is down.
        :raises CommandFailedError: ``fail`` is configured.
        """
        with self._lock:
            connected = self._connected
        if not connected:
            raise NotConnectedError(f"{self._source}: simulated server is down")
        if self.delay:
            gevent.sleep(self.delay)
        if self.fail is not None:
            raise CommandFailedError(f"{self._source}: {self.fail}")

    def read(self, timeout: float | None) -> Reading[Any]:
        """Return the simulated value, after ``delay`` (waited cooperatively).

        :raises NotConnectedError: the simulated server is down, or no value
            was ever published.
        :raises CommandFailedError: ``fail`` is configured.
        """
        self.probe()
        with self._lock:
            reading = self._reading
        if reading is None:
            raise NotConnectedError(f"{self._source}: no value received yet")
        return reading

    def write(self, value: Any, timeout: float | None) -> None:
        """Store ``value`` and publish it, as a device echoing it would.

        :raises NotImplementedError: the channel is read-only.
        :raises NotConnectedError: the simulated server is down.
        :raises CommandFailedError: ``fail`` is configured.
        """
        if self.readonly:
            raise NotImplementedError(f"{self._source} is read-only")
        self.probe()
        self.publish(value)

    def subscribe(self, on_reading: ReadingListener[Any]) -> None:
        """Deliver the current value (if any) and every published one."""
        with self._lock:
            self._on_reading = on_reading
            reading = self._reading
        if reading is not None:
            on_reading(reading)

    def unsubscribe(self) -> None:
        """Stop delivering published values."""
        with self._lock:
            self._on_reading = None

    def close(self) -> None:
        """Forget the listeners; idempotent."""
        with self._lock:
            self._on_reading = None
            self._on_connection = None

    def publish(self, value: Any, quality: Quality = Quality.VALID) -> None:
        """Make the simulated device take ``value``; safe from any thread."""
        reading = Reading(value, quality)
        with self._lock:
            self._reading = reading
            listener = self._on_reading
        if listener is not None:
            listener(reading)

    def set_connected(self, connected: bool) -> None:
        """Make the simulated server go up or down; safe from any thread."""
        with self._lock:
            self._connected = connected
            listener = self._on_connection
        if listener is not None:
            listener(connected)


class SimChannel(ChannelObject):
    """A simulated channel holding its value in memory.

    Every :meth:`get_value` exchanges with the simulated server (waiting
    ``delay``), so a server that is down or a configured failure always shows.

    :param value: initial value; absent -> no value until one is set.
    :param delay: seconds waited cooperatively on each read and write.
    :param fail: if given, reads and writes raise ``CommandFailedError(fail)``.
    :param readonly: refuse :meth:`set_value`.
    :param connected: start connected (``False`` simulates an unreachable
        control system: reads raise ``NotConnectedError``).
    :param quality: the quality of the initial value.
    """

    def __init__(
        self,
        name: str,
        text: str = "",
        username: str | None = None,
        value: Any = _UNSET,
        delay: float = 0.0,
        fail: str | None = None,
        readonly: bool = False,
        connected: bool = True,
        quality: Quality = Quality.VALID,
        **kwargs: Any,
    ) -> None:
        self.attribute = text or name
        self.device = SimChannelBackend(
            f"sim channel {name!r} ({self.attribute})",
            value,
            quality,
            delay,
            fail,
            readonly,
            connected,
        )
        super().__init__(name, username, backend=self.device)

    def get_value(self, force: bool = False, timeout: float | None = None) -> Any:
        """Return the simulated value (waits ``delay`` cooperatively).

        Hub thread (a greenlet, when ``delay`` is set). The last value the
        channel received is returned; ``force`` changes nothing.

        :raises NotConnectedError: disconnected, closed, or no value yet.
        :raises CommandFailedError: ``fail`` is configured.
        """
        if self._closed:
            raise NotConnectedError(f"{self.source()} is closed")
        self.device.probe()
        return super().get_value(False, timeout)

    def simulate_value(self, value: Any, quality: Quality = Quality.VALID) -> None:
        """Make the simulated device publish ``value``; safe from any thread."""
        self.device.publish(value, quality)

    def simulate_connection(self, connected: bool) -> None:
        """Make the simulated server go up or down; safe from any thread."""
        self.device.set_connected(connected)
