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
"""

from __future__ import annotations

from typing import Any

import gevent

from ..commands import ChannelObject, CommandObject, Quality
from ..errors import CommandFailedError, ConfigError, NotConnectedError

__all__ = [
    "INHERITED_PROPERTIES",
    "SimChannel",
    "SimCommand",
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
        super().__init__(name, username, timeout=timeout)
        self.command = text or name
        self.value = value
        self.delay = delay
        self.fail = fail
        #: argument tuples of the calls that started, in order (for tests)
        self.calls: list[tuple[Any, ...]] = []

    def source(self) -> str:
        """Describe the command for messages."""
        return f"sim command {self._name!r} ({self.command})"

    def _execute(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.append(args)
        if self.delay:
            gevent.sleep(self.delay)
        if self.fail is not None:
            raise CommandFailedError(f"{self.source()}: {self.fail}")
        if self.value is not _UNSET:
            return self.value
        if not args:
            return None
        return args[0] if len(args) == 1 else args


class SimChannel(ChannelObject):
    """A simulated channel holding its value in memory.

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
        super().__init__(name, username)
        self.attribute = text or name
        self.delay = delay
        self.fail = fail
        self.readonly = readonly
        self._connected = connected
        if value is not _UNSET:
            self._value = value
            self._quality = quality

    def source(self) -> str:
        """Describe the channel for messages."""
        return f"sim channel {self._name!r} ({self.attribute})"

    def _check(self) -> None:
        if self._closed:
            raise NotConnectedError(f"{self.source()} is closed")
        if not self._connected:
            raise NotConnectedError(f"{self.source()}: simulated server is down")
        if self.delay:
            gevent.sleep(self.delay)
        if self.fail is not None:
            raise CommandFailedError(f"{self.source()}: {self.fail}")

    def get_value(self, force: bool = False) -> Any:
        """Return the simulated value (waits ``delay`` cooperatively).

        Hub thread (a greenlet, when ``delay`` is set).

        :raises NotConnectedError: disconnected, closed, or no value yet.
        :raises CommandFailedError: ``fail`` is configured.
        """
        self._check()
        return super().get_value(force)

    def set_value(self, value: Any) -> None:
        """Store ``value`` and emit ``update`` as a device echoing it would.

        :raises NotImplementedError: the channel is read-only.
        """
        if self.readonly:
            raise NotImplementedError(f"{self.source()} is read-only")
        self._check()
        self.update(value)

    def simulate_value(self, value: Any, quality: Quality = Quality.VALID) -> None:
        """Make the simulated device publish ``value``; safe from any thread."""
        self.update_threadsafe(value, quality)

    def simulate_connection(self, connected: bool) -> None:
        """Make the simulated server go up or down; safe from any thread."""
        self.set_connected_threadsafe(connected)
