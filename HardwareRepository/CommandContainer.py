"""Commands and channels on control systems, and the container holding them.

Plug-in contract for a control-system type (Tango, Taco, TINE, sim, yours)
==========================================================================

A *type* is a name used in XML (``<channel type="tango" ...>``) bound to a
*provider*: a module (imported lazily, on first use) or any object. Bind it with
:func:`HardwareRepository.Command.register_type`::

    register_type("epics", "mypackage.epics_backend")   # module path, lazy
    register_type("fake", FakeProvider())               # or an object

The built-in names ``sim``, ``tango``, ``taco`` and ``tine`` map to
``HardwareRepository.Command.Sim``, ``.Tango``, ``.Taco`` and ``.Tine``.

The provider defines (both optional; a missing one means "this type has no
commands" or "no channels", reported as a configuration error):

``make_command(name, text, attrs, owner) -> CommandObject``
``make_channel(name, text, attrs, owner) -> ChannelObject``

* ``name``: the ``name=`` attribute, always a ``str`` (never converted).
* ``text``: the element text, stripped (Tango: the attribute or command name;
  TINE: the property; Taco: the command); ``""`` if empty.
* ``attrs``: the other XML attributes of the element (``type`` and ``name``
  removed) converted by the usual rules (None/int/float/bool/str), so
  ``polling="1000"`` is the int ``1000``. XML times are in **milliseconds**
  (``timeout``, ``polling``) as in mxCuBE; the provider converts them to
  seconds, the unit of every Python API of this package. ``username`` is
  present when the XML gives it.
* Device names are inherited from the owning object: the provider lists in a
  module attribute ``INHERITED_PROPERTIES`` the attributes it wants filled from
  the owner's properties when the element does not give them, either as a
  sequence of names (``("tangoname",)``) or as a mapping from attribute name to
  the property names tried in order (``{"tinename": ("tinename", "tine_name")}``).
  The container does the filling, so ``attrs`` already holds them.
* ``owner``: the :class:`CommandContainer` (usually the hardware object); use
  ``owner.get_property(name)`` for anything else, never keep a strong
  reference to it in a long-lived callback.

Both factories run in the thread that loads the configuration (the hub thread
of the application) while the object is being loaded. They must not block for
long: create the proxy/link, start polling or subscriptions, and return. **A
control system that is unavailable must not make the factory raise**: return
the object in the disconnected state (``is_connected()`` false) and connect
later, announcing it with :meth:`ChannelObject.set_connected`. Raise
:class:`~HardwareRepository.errors.ConfigError` only for a wrong configuration
(an unknown attribute value, a missing device name) and let an ``ImportError``
of the client library propagate; the container turns any exception into an
error naming the file, line, object and item, and the object loads without
that item.

What a command type implements (subclass :class:`CommandObject`):

* ``_execute(*args, **kwargs)`` -- perform the command and return its value, or
  raise. It always runs in a greenlet of the owning hub thread (the thread that
  created the command), so it may wait cooperatively (a gevent-green proxy,
  :mod:`HardwareRepository.bridge` primitives, ``gevent.sleep``) but must never
  block the thread: hand blocking client calls to a worker thread and wait on
  an :class:`~HardwareRepository.bridge.AsyncResult`. It may be interrupted by
  :class:`~HardwareRepository.errors.Timeout` or ``GreenletExit`` at any
  cooperative wait. A failure raises an exception naming the device and
  command (:class:`~HardwareRepository.errors.CommandFailedError` with the
  control system's error as ``__cause__``, or
  :class:`~HardwareRepository.errors.NotConnectedError`); never return ``None``
  to signal a failure. The base class emits the command signals and applies
  ``wait=`` and ``timeout=``.
* optionally ``_abort()`` (ask the control system to stop), ``close()``
  (release proxies; call ``super().close()``), ``is_connected()``.

What a channel type implements (subclass :class:`ChannelObject`):

* ``get_value(force=False)`` -- return the value, reading the control system
  when ``force`` is true or nothing is cached. The base returns the cached
  value and raises :class:`~HardwareRepository.errors.NotConnectedError` when
  there is none.
* ``set_value(value)`` if writable.
* deliver new values with :meth:`ChannelObject.update` (hub thread) or
  :meth:`ChannelObject.update_threadsafe` (any thread: a Tango event thread, a
  poller thread, a TINE callback), with a :class:`Quality`. The base stores the
  value and emits ``update`` in the hub thread.
* report the connection with :meth:`ChannelObject.set_connected` /
  :meth:`ChannelObject.set_connected_threadsafe`.
* ``close()``: unsubscribe, stop polling, detach; idempotent, bounded in time,
  hub thread; call ``super().close()`` at the end. The repository calls it at
  :meth:`~HardwareRepository.HardwareRepository.HardwareRepository.shutdown`
  and when an object is discarded.

Signals
=======
Command: ``commandBeginWaitReply(name)``, ``commandReplyArrived(value, name)``,
``commandFailed(exception, name)`` (mxCuBE sent ``-1`` instead of the
exception), plus ``connectionStateChanged(connected)``.
Channel: ``update(value)`` -- also sent to a new receiver at once when a value
is known -- ``qualityChanged(quality)``, ``connectionStateChanged(connected)``
and the legacy argument-less ``connected`` / ``disconnected``. Receivers attach
with ``connect_signal(signal, receiver)``. Semantics (weak bound methods,
synchronous delivery in the hub thread, failing receivers logged) are those of
:mod:`HardwareRepository._signals`.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal, overload

import gevent
from greenlet import getcurrent

from ._signals import SignalEmitter
from .bridge import AsyncResult, _native, get_bridge
from .errors import (
    ConfigError,
    HardwareRepositoryError,
    InvalidThreadUseError,
    NotConnectedError,
    Timeout,
)

__all__ = [
    "NOT_INITIALIZED",
    "ChannelObject",
    "CommandContainer",
    "CommandObject",
    "Quality",
]

log = logging.getLogger("HardwareRepository.commands")

# Extra time a plain thread waits beyond a command's timeout before giving up on
# a hub that does not answer (the timeout itself fires inside the hub).
_FOREIGN_GRACE = 1.0


class _NotInitialized:
    """The value of a channel that has not received one yet."""

    _instance: _NotInitialized | None = None

    def __new__(cls) -> _NotInitialized:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NOT_INITIALIZED"

    def __bool__(self) -> bool:
        return False


NOT_INITIALIZED: Any = _NotInitialized()
"""Marker for "no value yet" (distinct from a ``None`` value)."""

# A value handed to the hub by ChannelObject.update_threadsafe: a one-item
# list holding (value, quality, timestamp), or None once applied.
_Slot = list["tuple[Any, Quality, float] | None"]


class Quality(enum.Enum):
    """The quality of a channel value, after Tango's ``AttrQuality``.

    ``VALID``: a good value. ``WARNING`` / ``ALARM``: a good reading outside
    the configured warning or alarm range (delivered, never dropped).
    ``CHANGING``: the value is moving (a motor position while it moves).
    ``INVALID``: the control system says the value is not usable, or the
    channel lost its connection (the last value is kept). ``UNKNOWN``: no value
    yet.
    """

    VALID = "VALID"
    WARNING = "WARNING"
    ALARM = "ALARM"
    CHANGING = "CHANGING"
    INVALID = "INVALID"
    UNKNOWN = "UNKNOWN"


class _Item(SignalEmitter):
    """What commands and channels share: names, signals, connection, close."""

    def __init__(self, name: str, username: str | None = None) -> None:
        self._name = str(name)
        self._username = None if username is None else str(username)
        self._connected = False
        self._closed = False
        #: the bridge of the owning hub (the thread that created the item)
        self._bridge = get_bridge()

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
        if self._add_receiver(signal, receiver, weak):
            self.connect_notify(signal, receiver)

    connectSignal = connect_signal

    def connect(
        self, signal: str, receiver: Callable[..., Any], *, weak: bool = True
    ) -> None:
        """Alias of :meth:`connect_signal` (mxCuBE's CommandObject.connect)."""
        self.connect_signal(signal, receiver, weak=weak)

    def disconnect_signal(self, signal: str, receiver: Callable[..., Any]) -> None:
        """Disconnect ``receiver`` from ``signal``; a no-op if not connected."""
        self._remove_receiver(signal, receiver)

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
        """Like :meth:`set_connected`, callable from any thread.

        The change is applied in the hub thread, in order with updates.
        """
        if self._bridge.in_hub_thread():
            self.set_connected(connected)
        elif not self._bridge.closed:
            self._bridge.post(self.set_connected, connected)

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
        self._clear_receivers()


class CommandObject(_Item):
    """One command on a control system; call it to execute it.

    Construct it in the owning hub thread (normally the configuration loader
    does). Calling is safe from any thread and any greenlet except the hub
    itself: in a greenlet of the owning hub the command runs inline and waits
    cooperatively; from another thread it runs in a new greenlet of the owning
    hub while the caller waits natively.

    :param name: the command's name in its container.
    :param username: display name.
    :param timeout: default limit in seconds for one execution, ``None`` for no
        limit of the package's own (the control system's timeout still applies).
    :param kwargs: extra XML attributes a subclass did not consume (ignored).
    """

    def __init__(
        self,
        name: str,
        username: str | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(name, username)
        self.timeout = timeout
        self._arguments: list[dict[str, Any]] = []
        self._running: set[gevent.Greenlet] = set()  # hub thread only
        self._connected = True

    # -- arguments (long XML notation) ---------------------------------------
    def add_argument(
        self,
        argName: str,
        argType: str,
        combo_items: Any = None,
        onchange: Any = None,
        valuefrom: Any = None,
    ) -> None:
        """Describe one argument (from the long XML notation), for GUIs."""
        self._arguments.append(
            {
                "name": argName,
                "type": argType,
                "items": combo_items,
                "onchange": onchange,
                "valuefrom": valuefrom,
            }
        )

    def get_arguments(self) -> list[dict[str, Any]]:
        """Return the argument descriptions, in XML order."""
        return list(self._arguments)

    def get_combo_argument_items(self, argName: str) -> Any:
        """Return the combo items of argument ``argName`` (``None`` if none)."""
        for arg in self._arguments:
            if arg["name"] == argName:
                return arg["items"]
        return None

    # -- execution ------------------------------------------------------------
    def _execute(self, *args: Any, **kwargs: Any) -> Any:
        """Perform the command; override in a type module (see module doc)."""
        raise NotImplementedError(f"{self.source()}: no _execute() for this type")

    def _abort(self) -> None:
        """Ask the control system to stop the command; override if possible."""

    def __call__(
        self,
        *args: Any,
        wait: bool = True,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> Any:
        """Execute the command with ``args`` and return its value.

        :param wait: ``False`` to return an
            :class:`~HardwareRepository.bridge.AsyncResult` at once; its
            ``get()`` gives the value or raises the failure.
        :param timeout: seconds; ``None`` uses :attr:`timeout`. When it runs
            out the execution is interrupted, ``commandFailed`` is emitted and
            :class:`~HardwareRepository.errors.Timeout` is raised.
        :raises Timeout: the command did not finish in time.
        :raises CommandFailedError: the control system reported a failure (or
            any exception of the type module; nothing is swallowed).
        :raises NotConnectedError: the command was closed.
        :raises InvalidThreadUseError: ``wait=True`` from inside the hub itself.
        """
        if self._closed:
            raise NotConnectedError(f"{self.source()} is closed")
        limit = self.timeout if timeout is None else timeout
        bridge = self._bridge
        if bridge.in_hub_thread():
            current = getcurrent()
            if wait:
                if current is bridge.hub:
                    raise InvalidThreadUseError(
                        f"{self.source()}: cannot wait for a command inside the "
                        "gevent hub; use wait=False or call it from a greenlet"
                    )
                return self._run(args, kwargs, limit)
            result: AsyncResult[Any] = AsyncResult(name=self.source())
            self._spawn(result, args, kwargs, limit)
            return result
        result = AsyncResult(name=self.source())
        bridge.post(self._spawn, result, args, kwargs, limit)
        if not wait:
            return result
        return result.get(None if limit is None else limit + _FOREIGN_GRACE)

    def _spawn(
        self,
        result: AsyncResult[Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        limit: float | None,
    ) -> None:
        greenlet = gevent.spawn(self._run_into, result, args, kwargs, limit)
        self._running.add(greenlet)
        greenlet.link(self._running.discard)

    def _run_into(
        self,
        result: AsyncResult[Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        limit: float | None,
    ) -> None:
        try:
            value = self._run(args, kwargs, limit)
        except gevent.GreenletExit:
            result.set_exception(NotConnectedError(f"{self.source()} was aborted"))
        except BaseException as exc:
            result.set_exception(exc)
        else:
            result.set(value)

    def _run(
        self, args: tuple[Any, ...], kwargs: dict[str, Any], limit: float | None
    ) -> Any:
        name = self._name
        self._send("commandBeginWaitReply", (name,))
        try:
            if limit is None:
                value = self._execute(*args, **kwargs)
            else:
                expired = Timeout(f"{self.source()} did not reply within {limit} s")
                with gevent.Timeout(limit, expired):
                    value = self._execute(*args, **kwargs)
        except gevent.GreenletExit:
            self._send("commandFailed", (NotConnectedError("aborted"), name))
            raise
        except BaseException as exc:
            self._send("commandFailed", (exc, name))
            raise
        self._send("commandReplyArrived", (value, name))
        return value

    def abort(self) -> None:
        """Stop executions started with ``wait=False`` or from other threads.

        Asks the control system to stop (``_abort``) and kills those greenlets;
        their results raise :class:`~HardwareRepository.errors.NotConnectedError`.
        Hub thread only; an inline execution in another greenlet is not killed.
        """
        self._abort()
        if self._running:
            gevent.killall(list(self._running), block=True, timeout=1.0)

    def close(self) -> None:
        """Abort running executions and refuse further calls; hub thread."""
        if self._closed:
            return
        if self._running:
            gevent.killall(list(self._running), block=True, timeout=1.0)
        super().close()


class ChannelObject(_Item):
    """One value on a control system, read, written and followed.

    Construct it in the owning hub thread. Hub-thread methods unless said
    otherwise; :meth:`update_threadsafe` and :meth:`set_connected_threadsafe`
    are the entry points for control-system threads.

    :param name: the channel's name in its container.
    :param username: display name.
    :param kwargs: extra XML attributes a subclass did not consume (ignored).
    """

    def __init__(self, name: str, username: str | None = None, **kwargs: Any) -> None:
        super().__init__(name, username)
        self._value: Any = NOT_INITIALIZED
        self._quality = Quality.UNKNOWN
        #: wall-clock time (``time.time()``) of the last update, or ``None``
        self.timestamp: float | None = None
        self._pending_lock = _native.allocate_lock()
        # The open slot of update_threadsafe: one posted hand-over that later
        # values join (coalescing) until the hub takes it or a connection
        # change closes it; guarded by _pending_lock.
        self._pending: _Slot | None = None

    # -- value ----------------------------------------------------------------
    @property
    def value(self) -> Any:
        """The last value received (``NOT_INITIALIZED`` before the first)."""
        return self._value

    def get_value(self, force: bool = False) -> Any:
        """Return the channel's value.

        The base returns the last value received; type modules read the control
        system when ``force`` is true or no value is cached.

        :raises NotConnectedError: no value is known.
        """
        if self._value is NOT_INITIALIZED:
            state = "closed" if self._closed else "no value received yet"
            raise NotConnectedError(f"{self.source()}: {state}")
        return self._value

    getValue = get_value

    def set_value(self, value: Any) -> None:
        """Write ``value`` to the control system.

        :raises NotImplementedError: the channel type is read-only.
        """
        raise NotImplementedError(f"{self.source()} is read-only")

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

    def update_threadsafe(
        self,
        value: Any,
        quality: Quality = Quality.VALID,
        timestamp: float | None = None,
    ) -> None:
        """Hand a new value to the hub thread; safe from any thread, never blocks.

        Values arriving faster than the hub runs coalesce: the hub applies the
        latest one (receivers see the current value, not every intermediate
        one). In the hub thread this is :meth:`update`. Ignored once the hub's
        bridge is closed (shutdown).
        """
        if self._bridge.in_hub_thread():
            self.update(value, quality, timestamp)
            return
        stamp = time.time() if timestamp is None else timestamp
        with self._pending_lock:
            slot = self._pending
            if slot is not None:
                slot[0] = (value, quality, stamp)
                return
            slot = self._pending = [(value, quality, stamp)]
        if not self._bridge.closed:
            self._bridge.post(self._apply_pending, slot)

    def _apply_pending(self, slot: _Slot) -> None:
        with self._pending_lock:
            if self._pending is slot:
                self._pending = None
            pending, slot[0] = slot[0], None
        if pending is not None:
            self.update(*pending)

    def set_connected_threadsafe(self, connected: bool) -> None:
        """Like :meth:`set_connected`, callable from any thread.

        Applied in the hub thread in the order the calling thread made its
        calls: a value handed over with :meth:`update_threadsafe` before this
        call is applied before the connection change, and one handed over
        after it is applied after (values never coalesce across a connection
        change).
        """
        if not self._bridge.in_hub_thread():
            with self._pending_lock:
                self._pending = None  # later values open a new slot
        super().set_connected_threadsafe(connected)

    def _on_connection_changed(self, connected: bool) -> None:
        if not connected and self._quality is not Quality.UNKNOWN:
            self._quality = Quality.INVALID
            self._send("qualityChanged", (Quality.INVALID,))

    def connect_notify(self, signal: str, receiver: Callable[..., Any]) -> None:
        """Send the current value to a new ``update`` receiver, if one is known.

        Only the new receiver is called (the others already have the value).
        A failure is handled as for any emission.
        """
        if signal != "update" or self._value is NOT_INITIALIZED:
            return
        from ._signals import SignalEmitter

        single = SignalEmitter()
        single._add_receiver("update", receiver, weak=False)
        single._send("update", (self._value,))


class CommandContainer:
    """The commands and channels of one object (mixin of every hardware object).

    Hub thread only. Items are declared by the XML loader with ``add_now=False``
    and created by :meth:`_add_channels_and_commands` when the object is
    loaded (after its references, before ``init()``).
    """

    def __init__(self) -> None:
        self._commands: dict[str, CommandObject] = {}
        self._channels: dict[str, ChannelObject] = {}
        self._commands_order: list[str] = []
        self._channels_order: list[str] = []
        self._pending_items: list[tuple[str, dict[str, Any], str, int | None]] = []
        self._item_errors: dict[tuple[str, str], HardwareRepositoryError] = {}

    # Overridden by hardware objects.
    def get_property(self, name: str, default: Any = None) -> Any:
        """Return the property ``name`` (none in a bare container)."""
        return default

    def _where(self) -> tuple[str | None, str | None]:
        """Return (file, object name) for error messages."""
        return None, None

    # -- lookup ---------------------------------------------------------------
    def _missing(self, kind: str, name: str) -> HardwareRepositoryError:
        file, obj = self._where()
        error = self._item_errors.get((kind, str(name)))
        if error is not None:
            return ConfigError(
                f"{kind} {name!r} failed to load: {error}", file=file, obj=obj
            )
        known = self._channels if kind == "channel" else self._commands
        names = ", ".join(sorted(known)) or "none"
        return ConfigError(
            f"no {kind} named {name!r} (known: {names})", file=file, obj=obj
        )

    @overload
    def get_command_object(
        self, name: str, optional: Literal[False] = False
    ) -> CommandObject: ...

    @overload
    def get_command_object(self, name: str, optional: bool) -> CommandObject | None: ...

    def get_command_object(
        self, name: str, optional: bool = False
    ) -> CommandObject | None:
        """Return the command ``name``.

        :param optional: return ``None`` instead of raising when it is absent.
        :raises ConfigError: no such command, or it failed to load (the message
            carries the reason).
        """
        cmd = self._commands.get(name)
        if cmd is None and not optional:
            raise self._missing("command", name)
        return cmd

    @overload
    def get_channel_object(
        self, name: str, optional: Literal[False] = False
    ) -> ChannelObject: ...

    @overload
    def get_channel_object(self, name: str, optional: bool) -> ChannelObject | None: ...

    def get_channel_object(
        self, name: str, optional: bool = False
    ) -> ChannelObject | None:
        """Return the channel ``name``.

        :param optional: return ``None`` instead of raising when it is absent.
        :raises ConfigError: no such channel, or it failed to load (the message
            carries the reason).
        """
        chan = self._channels.get(name)
        if chan is None and not optional:
            raise self._missing("channel", name)
        return chan

    getCommandObject = get_command_object
    getChannelObject = get_channel_object

    def get_commands(self) -> Iterator[CommandObject]:
        """Yield the commands in configuration order."""
        for name in self._commands_order:
            if name in self._commands:
                yield self._commands[name]

    def get_channels(self) -> Iterator[ChannelObject]:
        """Yield the channels in configuration order."""
        for name in self._channels_order:
            if name in self._channels:
                yield self._channels[name]

    def get_command_names_list(self) -> list[str]:
        """Return the names of the commands."""
        return [c.name() for c in self.get_commands()]

    def get_channel_names_list(self) -> list[str]:
        """Return the names of the channels."""
        return [c.name() for c in self.get_channels()]

    def get_item_errors(self) -> dict[tuple[str, str], HardwareRepositoryError]:
        """Return the items that failed to be created: ``(kind, name) -> error``."""
        return dict(self._item_errors)

    # -- use ------------------------------------------------------------------
    def execute_command(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call command ``name`` (see :meth:`CommandObject.__call__`)."""
        return self.get_command_object(name)(*args, **kwargs)

    def get_channel_value(self, name: str, force: bool = False) -> Any:
        """Return the value of channel ``name``."""
        return self.get_channel_object(name).get_value(force)

    def set_channel_value(self, name: str, value: Any) -> None:
        """Write ``value`` to channel ``name``."""
        self.get_channel_object(name).set_value(value)

    executeCommand = execute_command
    getChannelValue = get_channel_value
    setChannelValue = set_channel_value

    # -- creation -------------------------------------------------------------
    def add_command(
        self,
        attributes: Mapping[str, Any],
        text: str | None = None,
        add_now: bool = True,
        *,
        line: int | None = None,
    ) -> CommandObject | None:
        """Declare (``add_now=False``) or create a command.

        :param attributes: the XML attributes: ``type`` and ``name`` required;
            ``arguments`` (list of dicts for :meth:`CommandObject.add_argument`)
            for the long notation; the rest goes to the type's factory.
        :param text: the element text (device command name).
        :param line: the XML line, for messages.
        :returns: the command when created now, else ``None``.
        :raises ConfigError: unknown type, or the factory failed (``add_now``).
        """
        return self._add_item("command", attributes, text, add_now, line)

    def add_channel(
        self,
        attributes: Mapping[str, Any],
        text: str | None = None,
        add_now: bool = True,
        *,
        line: int | None = None,
    ) -> ChannelObject | None:
        """Declare (``add_now=False``) or create a channel.

        See :meth:`add_command` for the parameters.
        """
        return self._add_item("channel", attributes, text, add_now, line)

    addCommand = add_command
    addChannel = add_channel

    def _add_item(
        self,
        kind: str,
        attributes: Mapping[str, Any],
        text: str | None,
        add_now: bool,
        line: int | None,
    ) -> Any:
        attrs = dict(attributes)
        if not add_now:
            self._pending_items.append((kind, attrs, text or "", line))
            return None
        return self._create_item(kind, attrs, text or "", line)

    def _create_item(
        self, kind: str, attrs: dict[str, Any], text: str, line: int | None
    ) -> Any:
        from .Command import get_type

        file, obj = self._where()
        type_name = attrs.pop("type", None)
        name = attrs.pop("name", None)
        if name is None or name == "":
            raise ConfigError(
                f"{kind} without a name= attribute", file=file, line=line, obj=obj
            )
        name = str(name)
        if type_name is None:
            raise ConfigError(
                f"{kind} {name!r} has no type= attribute", file=file, line=line, obj=obj
            )
        arguments = attrs.pop("arguments", None) or []
        self._item_errors.pop((kind, name), None)
        try:
            provider = get_type(str(type_name))
            factory = getattr(provider, f"make_{kind}", None)
            if factory is None:
                raise ConfigError(f"type {type_name!r} has no {kind}s")
            self._inherit_device_names(provider, attrs)
            item = factory(name, text.strip(), attrs, self)
            for arg in arguments:
                item.add_argument(**arg)
        except Exception as exc:
            reason = exc.message if isinstance(exc, ConfigError) else repr(exc)
            error = ConfigError(
                f"cannot create {type_name} {kind} {name!r}: {reason}",
                file=file,
                line=line,
                obj=obj,
            )
            self._item_errors[(kind, name)] = error
            raise error from exc
        table = self._channels if kind == "channel" else self._commands
        order = self._channels_order if kind == "channel" else self._commands_order
        old = table.get(name)
        if old is not None:
            old.close()
        else:
            order.append(name)
        table[name] = item
        return item

    def _inherit_device_names(self, provider: Any, attrs: dict[str, Any]) -> None:
        wanted = getattr(provider, "INHERITED_PROPERTIES", ())
        pairs = (
            wanted.items()
            if isinstance(wanted, Mapping)
            else ((n, (n,)) for n in wanted)
        )
        for attr, prop_names in pairs:
            if attrs.get(attr) is not None:
                continue
            for prop in prop_names:
                value = self.get_property(prop)
                if value is not None:
                    attrs[attr] = value
                    break

    def _add_channels_and_commands(self) -> list[HardwareRepositoryError]:
        """Create the declared items; return the errors (the caller reports them).

        One failing item never stops the others.
        """
        pending, self._pending_items = self._pending_items, []
        errors: list[HardwareRepositoryError] = []
        for kind, attrs, text, line in pending:
            try:
                self._create_item(kind, attrs, text, line)
            except HardwareRepositoryError as exc:
                errors.append(exc)
        return errors

    def close_commands_and_channels(self) -> None:
        """Close every channel and command (subscriptions, pollers, proxies).

        Hub thread. An item whose ``close()`` raises is logged with its
        traceback and the others are still closed.
        """
        for table in (self._channels, self._commands):
            for item in list(table.values()):
                try:
                    item.close()
                except Exception:
                    log.exception("closing %r failed", item)
