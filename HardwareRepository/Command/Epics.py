"""Type ``epics``: EPICS Channel Access commands and channels (pyepics).

As real mxCuBE files write them (the element text is the PV name)::

    <channel type="epics" name="position">BL:m1.RBV</channel>
    <channel type="epics" name="state" polling="500">BL:m1.DMOV</channel>
    <channel type="epics" name="label" read_as_str="1">BL:m1.DESC</channel>
    <command type="epics" name="move" wait="True" timeout="30000">BL:m1.VAL</command>

Channel: by default a Channel Access monitor delivers each change (events);
``polling`` (ms) reads the PV on the Poller instead; ``auto_monitor="False"``
without ``polling`` reads only on demand. ``read_as_str`` delivers strings
(enum labels). ``timeout`` (ms, default 3000) limits one read or write.
Values arrive with a quality from the alarm severity (NO_ALARM: VALID,
MINOR: WARNING, MAJOR: ALARM, INVALID: INVALID) and the record's timestamp;
the connection follows Channel Access's connection callbacks.

Command: called without argument it reads the PV, with one argument it
writes it; ``wait`` (XML ``wait="True"`` or ``cmd(value, wait_put=True)``)
waits for the put's completion callback (a motor record: the end of the move).

An ``epics_ca_addr_list`` property on the owning object (``"host:port ..."``)
becomes ``EPICS_CA_ADDR_LIST`` (with ``EPICS_CA_AUTO_ADDR_LIST=NO``) unless the
environment sets the address list itself; it must come before the first EPICS
item of the process (Channel Access reads it once).

Nothing blocks the hub: PVs connect in Channel Access's threads, reads and
writes run in worker threads while the caller waits cooperatively. A PV that
does not exist, or whose server dies, gives a channel that is not connected
(named in :meth:`~EpicsChannel.source`) and comes back by itself.
Channel Access's threads hand every monitor value and connection change to
the hub through the channel's inbox of the hub sink, in order and without
merging any. The items are on the typed backend contract
(:class:`EpicsChannelBackend`, :class:`EpicsCommandBackend`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ..commands import (
    ChannelObject,
    CommandObject,
    ConnectionListener,
    Quality,
    Reading,
    ReadingListener,
)
from ..errors import ConfigError, NotConnectedError
from ._common import parse_args, pop_milliseconds, pop_polling, warn_unread
from ._subscription import Subscription
from .channel_access import (
    PVLink,
    call_blocking,
    default_address_list,
    load_pyepics,
)

__all__ = [
    "INHERITED_PROPERTIES",
    "EpicsChannel",
    "EpicsCommand",
    "make_channel",
    "make_command",
]

log = logging.getLogger("HardwareRepository.Command.Epics")

INHERITED_PROPERTIES = ()

_QUALITY_BY_SEVERITY = (Quality.VALID, Quality.WARNING, Quality.ALARM, Quality.INVALID)
_DEFAULT_TIMEOUT = 3.0  # s
_GRACE = 1.0  # s the hub waits beyond pyepics' own timeout


def _flag(attrs: dict[str, Any], key: str, default: bool) -> bool:
    raw = attrs.pop(key, None)
    if raw is None:
        return default
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int):
        return bool(raw)
    text = str(raw).strip().lower()
    if text in ("true", "yes", "on", "1"):
        return True
    if text in ("false", "no", "off", "0"):
        return False
    raise ConfigError(f"{key}={raw!r} must be true or false")


def _pv_name(text: str, name: str, kind: str) -> str:
    if not text:
        raise ConfigError(f"epics {kind} {name!r} has no PV name (the element text)")
    return text


def _start_channel_access(owner: Any) -> None:
    addresses = owner.get_property("epics_ca_addr_list") if owner is not None else None
    if addresses:
        default_address_list(str(addresses))
    load_pyepics()


def make_command(
    name: str, text: str, attrs: dict[str, Any], owner: Any
) -> EpicsCommand:
    """Create an :class:`EpicsCommand` from its XML element (see module doc)."""
    attrs = dict(attrs)
    _start_channel_access(owner)
    command = EpicsCommand(
        name,
        _pv_name(text, name, "command"),
        username=attrs.pop("username", None),
        wait=_flag(attrs, "wait", False),
        read_as_str=_flag(attrs, "read_as_str", False),
        args=parse_args(attrs.pop("args", None)),
        timeout=pop_milliseconds(attrs, "timeout", None),
    )
    attrs.pop("auto_monitor", None)  # a command never monitors
    warn_unread(log, attrs, f"epics command {name!r}")
    return command


def make_channel(
    name: str, text: str, attrs: dict[str, Any], owner: Any
) -> EpicsChannel:
    """Create an :class:`EpicsChannel` from its XML element (see module doc)."""
    attrs = dict(attrs)
    _start_channel_access(owner)
    polling = pop_polling(attrs)
    channel = EpicsChannel(
        name,
        _pv_name(text, name, "channel"),
        username=attrs.pop("username", None),
        polling=polling,
        auto_monitor=_flag(attrs, "auto_monitor", True),
        read_as_str=_flag(attrs, "read_as_str", False),
        timeout=pop_milliseconds(attrs, "timeout", None),
    )
    attrs.pop("args", None)  # mxCuBE accepted it on channels and ignored it
    warn_unread(log, attrs, f"epics channel {name!r}")
    return channel


class EpicsCommandBackend:
    """The Channel Access side of an :class:`EpicsCommand` (a ``CommandBackend``).

    Called in the command's hub thread; blocking pyepics calls run in worker
    threads while the caller waits cooperatively.
    """

    def __init__(
        self,
        name: str,
        pvname: str,
        *,
        wait: bool,
        read_as_str: bool,
        args: tuple[Any, ...],
        timeout: float,
    ) -> None:
        self.name = name
        self.pvname = pvname
        self.wait = wait
        self.default_args = args
        self.timeout = timeout
        self.link = PVLink(pvname, monitor=False, as_string=read_as_str)

    def source(self) -> str:
        """Name the command and its PV, for messages."""
        return f"epics command {self.name!r} (PV {self.pvname})"

    def call(
        self, args: tuple[Any, ...], kwargs: Mapping[str, Any], timeout: float | None
    ) -> Any:
        """Read the PV (no argument) or write it (one argument).

        ``wait_put=True`` waits for the put's completion callback.

        Raises:
            NotConnectedError: the PV is not connected.
            Timeout: no answer, or no completion, in time.
            TypeError: more than one argument.
        """
        args = args or self.default_args
        limit = self.timeout if timeout is None else timeout
        if not args:
            return call_blocking(
                self.link.get, limit, source=self.source(), limit=limit + _GRACE
            )
        if len(args) != 1:
            raise TypeError(f"{self.source()} takes one value to write, got {args!r}")
        wait = kwargs.get("wait_put")
        call_blocking(
            _put,
            self.link,
            args[0],
            self.wait if wait is None else bool(wait),
            limit,
            source=self.source(),
            limit=limit + _GRACE,
        )
        return None

    def abort(self) -> None:
        """Do nothing: a Channel Access put cannot be cancelled."""

    def close(self) -> None:
        """Disconnect the PV; idempotent."""
        self.link.close()


class EpicsCommand(CommandObject):
    """Read a PV (no argument) or write it (one argument).

    Args:
        pvname: the PV.
        wait: wait for the put's completion by default.
        read_as_str: read strings (enum labels).
        args: arguments used when the call gives none (from XML ``args``).
        timeout: seconds for one read or write (and the call's limit).
    """

    def __init__(
        self,
        name: str,
        pvname: str,
        username: str | None = None,
        *,
        wait: bool = False,
        read_as_str: bool = False,
        args: tuple[Any, ...] = (),
        timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        self._ca = EpicsCommandBackend(
            name,
            pvname,
            wait=wait,
            read_as_str=read_as_str,
            args=args,
            timeout=timeout or _DEFAULT_TIMEOUT,
        )
        super().__init__(name, username, timeout=timeout, backend=self._ca)
        self.pvname = pvname

    def is_connected(self) -> bool:
        """Return whether Channel Access has the PV connected."""
        return self._ca.link.connected and not self._closed

    isConnected = is_connected


def _put(link: PVLink, value: Any, wait: bool, timeout: float) -> None:
    link.put(value, wait=wait, timeout=timeout)


class EpicsChannelBackend:
    """The Channel Access side of an :class:`EpicsChannel` (a ``ChannelBackend``).

    Its listeners are called in Channel Access's threads (monitor values,
    connection changes) or in the hub (polled values).
    """

    def __init__(
        self,
        name: str,
        pvname: str,
        *,
        polling: float | None,
        auto_monitor: bool,
        read_as_str: bool,
        timeout: float,
    ) -> None:
        self.name = name
        self.pvname = pvname
        self.polling = polling
        self.monitor = polling is None and auto_monitor
        self.read_as_str = read_as_str
        self.timeout = timeout
        self.link: PVLink | None = None
        # monitor values that came first are held until subscribe()
        self._subscription = Subscription()
        if polling is not None:
            self._subscription.poll(self._poll_once, polling, self._on_poll_error)
        self._closed = False

    def source(self) -> str:
        """Name the channel and its PV, for messages."""
        return f"epics channel {self.name!r} (PV {self.pvname})"

    def connect(self, on_connection: ConnectionListener) -> None:
        """Create the PV; Channel Access reports its connection changes."""
        self.link = PVLink(
            self.pvname,
            on_value=self._from_monitor if self.monitor else None,
            on_connection=on_connection,
            monitor=self.monitor,
            as_string=self.read_as_str,
        )

    def _live(self) -> PVLink:
        if self.link is None or self._closed:
            raise NotConnectedError(f"{self.source()} is closed")
        return self.link

    def _from_monitor(self, value: Any, severity: int, timestamp: float) -> None:
        quality = _QUALITY_BY_SEVERITY[min(max(severity, 0), 3)]
        self._subscription.deliver(Reading(value, quality, timestamp))

    def read(self, timeout: float | None) -> Reading[Any]:
        """Read the PV now (in a worker thread, waiting cooperatively)."""
        limit = self.timeout if timeout is None else timeout
        value = call_blocking(
            self._live().get, limit, source=self.source(), limit=limit + _GRACE
        )
        return Reading(value)

    def write(self, value: Any, timeout: float | None, wait: bool = False) -> None:
        """Write the PV; with ``wait``, until the put completes."""
        limit = self.timeout if timeout is None else timeout
        call_blocking(
            _put,
            self._live(),
            value,
            wait,
            limit,
            source=self.source(),
            limit=limit + _GRACE,
        )

    def subscribe(self, on_reading: ReadingListener[Any]) -> None:
        """Deliver monitor values, or polled ones with ``polling``.

        A monitor value that arrived before (between :meth:`connect` and this
        call) is delivered at once.
        """
        self._subscription.open(on_reading)

    def _poll_once(self) -> Any:
        """Poller thread: read the PV once."""
        return self._live().get(self.timeout)

    def _on_poll_error(self, exc: BaseException) -> float:
        """Hub: a poll failed; poll again after a period (a second at least)."""
        log.debug("%s: poll failed: %s", self.source(), exc)
        return max(self.polling or 1.0, 1.0)

    def unsubscribe(self) -> None:
        """Stop delivering values."""
        self._subscription.close()

    def close(self) -> None:
        """Stop polling and disconnect the PV; idempotent."""
        self.unsubscribe()
        self._closed = True
        if self.link is not None:
            self.link.close()


class EpicsChannel(ChannelObject):
    """One PV followed by a monitor, by polling, or read on demand.

    Every monitor value reaches the hub (``COALESCE_UPDATES = False``), in
    order, through the channel's inbox of the hub sink.

    Args:
        pvname: the PV.
        polling: seconds between two reads on the Poller; ``None``: monitor.
        auto_monitor: with ``polling=None``, subscribe to changes (else
            the value is read on demand only).
        read_as_str: deliver strings (enum labels).
        timeout: seconds for one read or write.
    """

    COALESCE_UPDATES = False

    def __init__(
        self,
        name: str,
        pvname: str,
        username: str | None = None,
        *,
        polling: float | None = None,
        auto_monitor: bool = True,
        read_as_str: bool = False,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        self._ca = EpicsChannelBackend(
            name,
            pvname,
            polling=polling,
            auto_monitor=auto_monitor,
            read_as_str=read_as_str,
            timeout=timeout or _DEFAULT_TIMEOUT,
        )
        super().__init__(name, username, backend=self._ca)
        self.pvname = pvname
        self.polling = polling

    def set_value(
        self, value: Any, timeout: float | None = None, *, wait: bool = False
    ) -> None:
        """Write ``value``; with ``wait``, until the put completes.

        Raises:
            NotConnectedError: the PV is not connected, or the channel closed.
            Timeout: no answer, or no completion, in time.
        """
        if self._closed:
            raise NotConnectedError(f"{self.source()} is closed")
        self._ca.write(value, timeout, wait)

    setValue = set_value
