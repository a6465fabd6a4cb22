"""Hardware objects: configured nodes with properties, children and roles.

Objects also have commands, channels, signals and a state.

Lifecycle (run by the repository loader, in the loading thread, which is the
owning hub thread): ``cls(name)`` -> properties, children and references
attached -> commands and channels created -> ``_init()`` -> ``init()``.
Configuration is read in ``init()``, never in the constructor. Nested objects
are initialised before their parent.

Signals follow :mod:`HardwareRepository._signals`: bound methods are held
weakly, other callables strongly; receivers run synchronously in the
emitter's greenlet; a failing receiver is logged with its traceback and the
others still run (:func:`~HardwareRepository._signals.set_raise_receiver_errors`
makes it raise, for tests). The global :mod:`HardwareRepository.dispatcher`
reaches the same receivers.

mxCuBE compatibility (see ``docs/mxcube.md``): the mxcubecore 2.x names
(``SPECIFIC_STATES``, ``update_specific_state``, ``log``, ``id``,
``exported_attributes``...) and the 2012-2019 camelCase ones (``isReady``,
``setIsReady``, ``connectNotify``...) are here. ``name`` is both mxcubecore's
string attribute and the older method: ``obj.name`` and ``obj.name()`` give
the same text. :class:`ConfiguredObject` (the base of YAML-configured objects,
with a pydantic ``HOConfig``) is imported on first use, so pydantic is loaded
only by code that needs it.
"""

from __future__ import annotations

import ast
import enum
import functools
import logging
import os
import typing
from collections.abc import Callable, Iterable, Iterator
from typing import Any, ClassVar, Literal, overload

from . import _current
from ._config import parse_bytes, update_properties
from ._node import HardwareObjectNode
from ._signals import SignalEmitter, raise_receiver_errors, set_raise_receiver_errors
from .bridge import Event
from .CommandContainer import ChannelObject, CommandContainer, CommandObject
from .errors import ConfigError, HardwareRepositoryError, NotReadyTimeout

__all__ = [  # and ConfiguredObject, imported on first use (see __getattr__)
    "DefaultSpecificState",
    "Device",
    "DeviceContainer",
    "DeviceContainerNode",
    "Equipment",
    "HardwareObject",
    "HardwareObjectMixin",
    "HardwareObjectNode",
    "HardwareObjectState",
    "HardwareObjectYaml",
    "Null",
    "Procedure",
    "combine_states",
    "raise_receiver_errors",
    "set_raise_receiver_errors",
]

log = logging.getLogger("HardwareRepository.objects")
#: mxCuBE's logger names: ``self.log`` is a child of ``HWR``.
HWR_LOG = logging.getLogger("HWR")
USER_LOG = logging.getLogger("user_level_log")


@functools.cache
def _class_logger(class_name: str) -> logging.Logger:
    # One look-up per class, not per object (getChild takes logging's lock).
    return HWR_LOG.getChild(class_name)


def __getattr__(name: str) -> Any:
    # ConfiguredObject needs pydantic; import it only when asked for.
    if name == "ConfiguredObject":
        from ._configured import ConfiguredObject

        return ConfiguredObject
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class HardwareObjectState(enum.IntEnum):
    """The general state of a hardware object (mxCuBE's values)."""

    UNKNOWN = 0
    WARNING = 1
    BUSY = 2
    READY = 3
    FAULT = 4
    OFF = 5

    def __str__(self) -> str:
        """Return the name ("READY"), never the number: one vocabulary everywhere."""
        return self.name

    def __format__(self, spec: str) -> str:
        """Format the name, as :meth:`__str__` does."""
        return format(self.name, spec)


class DefaultSpecificState(enum.Enum):
    """The specific states of a class that defines none of its own."""

    UNKNOWN = "UNKNOWN"


class HardwareObject(HardwareObjectNode, CommandContainer, SignalEmitter):
    """A hardware object: a node with commands, channels, signals and a state.

    Subclasses read their configuration in :meth:`init` (properties, roles,
    commands and channels are all in place by then). Hub thread only, except
    where a method says otherwise.

    :param name: the object name (``/eh1/diff-omega``) or, nested, its tag.
    """

    STATES = HardwareObjectState
    #: the class's own states (an ``enum.Enum``); override in subclasses
    SPECIFIC_STATES: ClassVar[type[enum.Enum]] = DefaultSpecificState
    #: ``True`` keeps the native lookup face even in a compatible repository
    #: (classes written for this package, which expect absent items to raise)
    STRICT_LOOKUPS: ClassVar[bool] = False
    #: whether the class maintains a state (see :meth:`reports_state`); false
    #: only for the plain base class, true for every subclass unless it says
    #: otherwise.
    REPORTS_STATE: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Make every subclass report a state unless it sets ``REPORTS_STATE``."""
        super().__init_subclass__(**kwargs)
        if "REPORTS_STATE" not in cls.__dict__:
            cls.REPORTS_STATE = True

    def __init__(self, name: str) -> None:
        HardwareObjectNode.__init__(self, name)
        CommandContainer.__init__(self)
        self._state = HardwareObjectState.UNKNOWN
        self._state_reported = False
        self._ready_event = Event()
        self._specific_state: enum.Enum | None = None
        # (sender, signal, slot) made through self.connect(); used by discard
        # and reload to undo them.
        self._connections: list[tuple[Any, str, Callable[..., Any]]] = []
        #: mxCuBE's record of the last connection made per sender
        self.connect_dict: dict[Any, dict[str, Any]] = {}
        #: logger for this object (mxCuBE: a child of ``HWR`` named by the class)
        self.log = _class_logger(type(self).__name__)
        #: logger for messages meant for the user (mxCuBE's ``user_level_log``)
        self.user_log = USER_LOG
        # Lookup face (docs/mxcube.md): False raises on an absent item (native),
        # True returns None and reports the miss once (mxcubecore). The
        # repository sets both before init().
        self._compatible_lookups = False
        self._report_miss: Callable[[str], None] | None = None
        self._misses_reported: set[tuple[str, str]] = set()
        self._exports: dict[str, list[str]] | None = None
        self._exported_attributes: dict[str, Any] = {}
        self._pydantic_models: dict[str, Any] = {}

    def _where(self) -> tuple[str | None, str | None]:
        return self.config_file, self._node_name

    # -- lifecycle ------------------------------------------------------------
    def _init(self) -> None:
        """First initialisation step (before :meth:`init`); sets ``UNKNOWN``."""
        self._state = HardwareObjectState.UNKNOWN

    def run_init_steps(self) -> None:
        """Run mxCuBE's two initialisation steps: :meth:`_init`, then :meth:`init`.

        The XML loader calls it once per object, after its references,
        commands and channels are in place. Hub thread.

        :raises Exception: what either step raised (the loader reports it as
            the object's load failure).
        """
        self._init()
        self.init()

    def init(self) -> None:
        """Read the configuration and connect; override in subclasses.

        Raising makes the load of this object fail with that reason.
        """

    def shutdown(self) -> None:
        """Release resources before the repository forgets this object.

        The base closes every command and channel and disconnects this object's
        own connections to other senders. Hub thread; bounded in time.
        Subclasses stop their own greenlets, then call ``super().shutdown()``.
        """
        self.close_commands_and_channels()
        for sender, signal, slot in self._connections:
            if isinstance(sender, SignalEmitter):
                sender.remove_signal_receiver(signal, slot)
        self._connections.clear()

    def replace_references(
        self, old: HardwareObjectNode, new: HardwareObjectNode
    ) -> None:
        """Put ``new`` in place of the child ``old``; also as a sender.

        Besides the node's children (see
        :meth:`HardwareObjectNode.replace_references`), this object's own
        connections to ``old``'s signals are recorded as made to ``new``, so
        that :meth:`shutdown` and :meth:`disconnect` reach the new sender.
        Owning thread.
        """
        super().replace_references(old, new)
        self._connections = [
            (new if sender is old else sender, signal, slot)
            for sender, signal, slot in self._connections
        ]

    # -- lookups: the strict and the compatible face ----------------------------
    def _missed(self, kind: str, name: str, what: str | None = None) -> None:
        """Report, once per item, a lookup answered with ``None`` (mxcubecore face).

        :param what: the message; default: the channel or command is absent.
        """
        key = (kind, name)
        if key in self._misses_reported:
            return
        self._misses_reported.add(key)
        if what is None:
            known = self._channels if kind == "channel" else self._commands
            failed = self._item_errors.get((kind, name))
            what = f"{kind} {name!r} " + (
                f"failed to load ({failed.message})"
                if isinstance(failed, ConfigError)
                else f"not configured (known: {', '.join(sorted(known)) or 'none'})"
            )
        error = ConfigError(
            f"{what} -> None (mxcubecore lookup)",
            file=self.config_file,
            line=self.config_line,
            obj=self._node_name,
        )
        log.error("%s", error)
        if self._report_miss is not None:
            self._report_miss(str(error))

    def set_lookup_face(
        self, compatible: bool, report: Callable[[str], None] | None = None
    ) -> None:
        """Choose how lookups of absent items answer (the repository calls it).

        :param compatible: ``True``: ``None``, logged once per item (the
            mxcubecore face); ``False``: raise (native). A class that sets
            :attr:`STRICT_LOOKUPS` always raises.
        :param report: called with each miss's message (the load summary).
        """
        self._compatible_lookups = compatible
        self._report_miss = report

    def _compatible_face(self) -> bool:
        return self._compatible_lookups and not self.STRICT_LOOKUPS

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

        Native face (default): an absent channel raises. mxcubecore face (an
        object loaded by a compatible repository, unless its class sets
        :attr:`STRICT_LOOKUPS`; see ``docs/mxcube.md``): it gives ``None``, and
        the miss is logged once with file, line and object and counted in the
        repository's load summary.

        :param optional: return ``None`` for an absent channel, silently.
        :raises ConfigError: native face: no such channel, or it failed to load.
        """
        if self._compatible_face() and not optional:
            channel = super().get_channel_object(name, optional=True)
            if channel is None:
                self._missed("channel", str(name))
            return channel
        return super().get_channel_object(name, optional)

    @overload
    def get_command_object(
        self, name: str, optional: Literal[False] = False
    ) -> CommandObject: ...

    @overload
    def get_command_object(self, name: str, optional: bool) -> CommandObject | None: ...

    def get_command_object(
        self, name: str, optional: bool = False
    ) -> CommandObject | None:
        """Return the command ``name``; faces as :meth:`get_channel_object`.

        :raises ConfigError: native face: no such command, or it failed to load.
        """
        if self._compatible_face() and not optional:
            command = super().get_command_object(name, optional=True)
            if command is None:
                self._missed("command", str(name))
            return command
        return super().get_command_object(name, optional)

    def getChannels(self) -> Iterator[ChannelObject]:
        """Pre-2020 name of :meth:`get_channels`."""
        return self.get_channels()

    def getCommands(self) -> Iterator[CommandObject]:
        """Pre-2020 name of :meth:`get_commands`."""
        return self.get_commands()

    def getChannelNamesList(self) -> list[str]:
        """Pre-2020 name of :meth:`get_channel_names_list`."""
        return self.get_channel_names_list()

    def getCommandNamesList(self) -> list[str]:
        """Pre-2020 name of :meth:`get_command_names_list`."""
        return self.get_command_names_list()

    def getChannelObject(self, name: str, optional: bool = False) -> Any:
        """Pre-2020 name of :meth:`get_channel_object`."""
        return self.get_channel_object(name, optional)

    def getCommandObject(self, name: str, optional: bool = False) -> Any:
        """Pre-2020 name of :meth:`get_command_object`."""
        return self.get_command_object(name, optional)

    # -- attribute access: commands, then properties ---------------------------
    def __getattr__(self, attr: str) -> Any:
        """Return the command ``attr``, else the XML property ``attr``."""
        if attr.startswith("__"):
            raise AttributeError(attr)
        commands = self.__dict__.get("_commands")
        if commands is not None and attr in commands:
            return commands[attr]
        props = self.__dict__.get("_properties")
        if props is not None and attr in props:
            return props[attr]
        roles = self.__dict__.get("_roles")
        if roles is not None and attr in roles:  # YAML: container.<role>
            return roles[attr]
        raise AttributeError(
            f"{type(self).__name__} {self.__dict__.get('_node_name')!r} has no "
            f"attribute, command or property {attr!r} (nor a role)"
        )

    # -- signals --------------------------------------------------------------
    def emit(self, signal: str, *args: Any) -> None:
        """Emit ``signal`` to its receivers, synchronously, in this greenlet.

        mxCuBE compatibility: a single tuple argument is splatted
        (``emit("sig", (a, b))`` calls ``receiver(a, b)``); to send one tuple
        value, wrap it: ``emit("sig", ((a, b),))``.

        :raises Exception: a receiver's exception, only when receiver errors
            are set to raise (see :mod:`HardwareRepository._signals`).
        """
        if len(args) == 1 and isinstance(args[0], tuple):
            args = args[0]
        self._send(signal, args)

    def connect(
        self,
        sender: Any,
        signal: Any,
        slot: Callable[..., Any] | None = None,
        *,
        weak: bool = True,
    ) -> None:
        """Connect ``slot`` to a signal of this object or of ``sender``.

        Forms: ``connect(signal, slot)`` and ``connect(sender, signal, slot)``.

        With two arguments the sender is this object. The sender's
        ``connect_notify(signal)`` (and a pre-2020 ``connectNotify(signal)``
        the class defines) is called afterwards, so objects can re-emit their
        current value to the new receiver. A sender that is not a hardware
        object, command or channel goes through the global
        :mod:`~HardwareRepository.dispatcher` (it sends with
        ``dispatcher.send``).

        A ``None`` sender (mxCuBE code connecting to a role that is not
        configured): in the mxcubecore face nothing is connected and the miss
        is logged once and counted; in the native face it is a ``TypeError``.

        :param weak: hold a bound-method slot weakly (default); other callables
            are always held strongly until disconnected.
        :raises TypeError: the sender is ``None`` (native face) or ``slot`` is
            not callable.
        """
        if slot is None:
            sender, signal, slot = self, sender, signal
        signal = str(signal)
        if sender is None:
            if not self._compatible_face():
                raise TypeError(
                    f"{self._node_name}: cannot connect {signal!r} of None "
                    "(a role that is not configured?)"
                )
            self._missed(
                "sender",
                signal,
                f"connect(None, {signal!r}, ...): no sender (a role not "
                "configured?); nothing connected",
            )
            return
        if not isinstance(sender, SignalEmitter):
            from . import dispatcher  # the mxCuBE global, for foreign senders only

            dispatcher.connect(slot, signal, sender, weak)
            self.connect_dict[sender] = {"signal": signal, "slot": slot}
            return
        if sender.add_signal_receiver(signal, slot, weak):
            if sender is not self:
                self._connections.append((sender, signal, slot))
            self.connect_dict[sender] = {"signal": signal, "slot": slot}
            if isinstance(sender, HardwareObject):
                sender.receiver_connected(signal)
            elif hasattr(sender, "connect_notify"):  # a command or channel
                sender.connect_notify(signal, slot)

    def receiver_connected(self, signal: str) -> None:
        """Run the hooks for a new receiver of ``signal``.

        :meth:`connect_notify`, then ``connectNotify`` if the class defines
        its own (code written before 2020). Called by :meth:`connect` and the
        global dispatcher.
        """
        self.connect_notify(signal)
        if type(self).connectNotify is not HardwareObject.connectNotify:
            self.connectNotify(signal)

    def connectNotify(self, signal: str) -> None:
        """Pre-2020 name of :meth:`connect_notify`; a subclass may define either."""
        if type(self).connect_notify is not HardwareObject.connect_notify:
            self.connect_notify(signal)

    def disconnectNotify(self, signal: str) -> None:
        """Pre-2020 name of :meth:`disconnect_notify`."""
        self.disconnect_notify(signal)

    def disconnect(
        self, sender: Any, signal: Any, slot: Callable[..., Any] | None = None
    ) -> None:
        """Undo :meth:`connect` (same argument forms); a no-op if not connected."""
        if slot is None:
            sender, signal, slot = self, sender, signal
        if sender is None:
            return
        signal = str(signal)
        if not isinstance(sender, SignalEmitter):
            from . import dispatcher

            dispatcher.disconnect(slot, signal, sender)
            return
        if sender.remove_signal_receiver(signal, slot):
            self._connections = [
                c
                for c in self._connections
                if not (c[0] is sender and c[1] == signal and c[2] == slot)
            ]
            if isinstance(sender, HardwareObject):
                sender.disconnect_notify(signal)
                if type(sender).disconnectNotify is not HardwareObject.disconnectNotify:
                    sender.disconnectNotify(signal)

    def connect_notify(self, signal: str) -> None:
        """Hook run when a receiver connects to ``signal``; re-emit state here.

        The base re-emits ``stateChanged`` with the current state.
        """
        if signal == "stateChanged":
            self._send("stateChanged", (self._state,))

    def disconnect_notify(self, signal: str) -> None:
        """Hook run when a receiver disconnects from ``signal`` (no-op)."""

    # -- state ----------------------------------------------------------------
    def get_state(self) -> HardwareObjectState:
        """Return the current state."""
        return self._state

    def reports_state(self) -> bool:
        """Return whether this object's state means something to a container.

        True for every subclass of :class:`HardwareObject` (unless it sets
        ``REPORTS_STATE = False``) and for any object whose state was set with
        :meth:`update_state`; false for a plain ``HardwareObject``, whose state
        nothing maintains. :class:`Equipment` aggregates only such objects.
        """
        return self.REPORTS_STATE or self._state_reported

    def update_state(self, state: HardwareObjectState | None = None) -> None:
        """Set the state; emit ``stateChanged(state)`` if it changed.

        :param state: the new state; ``None`` re-reads :meth:`get_state` (so a
            subclass that reads its hardware there updates from it; the base
            keeps its state).
        :raises ValueError: ``state`` is not a :class:`HardwareObjectState`.
        """
        if state is None:
            state = self.get_state()
        self._state_reported = True
        self._set_state(self._check_state(state))

    def get_specific_state(self) -> enum.Enum | None:
        """Return the class's own state (one of :attr:`SPECIFIC_STATES`), if any."""
        return self._specific_state

    def update_specific_state(self, state: enum.Enum | None = None) -> None:
        """Set the specific state; emit ``specificStateChanged(state)`` if it changed.

        :param state: a member of :attr:`SPECIFIC_STATES`; ``None`` re-reads
            :meth:`get_specific_state`.
        :raises ValueError: ``state`` is not a member of :attr:`SPECIFIC_STATES`.
        """
        if state is None:
            state = self.get_specific_state()
        if state == self._specific_state:
            return
        if not isinstance(state, self.SPECIFIC_STATES):
            raise ValueError(
                f"{self._node_name}: {state!r} is not one of "
                f"{self.SPECIFIC_STATES.__name__}"
            )
        self._specific_state = state
        self._send("specificStateChanged", (state,))

    def set_is_ready(self, ready: bool) -> None:
        """Set the state to ``READY``, or ``OFF`` if not ``ready`` (as mxcubecore)."""
        self.update_state(
            HardwareObjectState.READY if ready else HardwareObjectState.OFF
        )

    def setIsReady(self, ready: bool) -> None:
        """Pre-2020 name of :meth:`set_is_ready`."""
        self.set_is_ready(ready)

    def isReady(self) -> bool:
        """Pre-2020 name of :meth:`is_ready`."""
        return self.is_ready()

    def abort(self) -> None:
        """Stop what the object is doing at once; the base does nothing.

        Subclasses that move or acquire override it.
        """

    def stop(self) -> None:
        """Stop what the object is doing; the base calls :meth:`abort`."""
        self.abort()

    def clear_gevent(self) -> None:
        """Forget running work before the object is disconnected: state ``UNKNOWN``.

        Subclasses kill their greenlets here, then call ``super()``.
        """
        self.update_state(HardwareObjectState.UNKNOWN)

    def userName(self) -> str:
        """Return the ``username`` property, else the name."""
        username = self.get_property("username")
        return str(self._node_name) if username is None else str(username)

    clearGevent = clear_gevent

    def _check_state(self, state: Any) -> HardwareObjectState:
        if isinstance(state, HardwareObjectState):
            return state
        try:
            return HardwareObjectState(state)
        except ValueError:
            raise ValueError(
                f"{self._node_name}: {state!r} is not a HardwareObjectState"
            ) from None

    def _set_state(self, state: HardwareObjectState) -> None:
        """Store ``state`` and emit ``stateChanged`` if it changed."""
        if state is self._state:
            return
        self._state = state
        if state is HardwareObjectState.READY:
            self._ready_event.set()
        else:
            self._ready_event.clear()
        self._send("stateChanged", (state,))

    def is_ready(self) -> bool:
        """Return whether the state is ``READY``."""
        return self._state is HardwareObjectState.READY

    def wait_ready(self, timeout: float | None = None) -> None:
        """Wait until the state is ``READY``; cooperative in a greenlet.

        Safe from any thread and any greenlet except the hub itself.

        :param timeout: seconds; ``None`` waits for ever.
        :raises NotReadyTimeout: not ready within ``timeout`` (a
            :class:`~HardwareRepository.errors.Timeout` and, as mxcubecore
            raises, a ``RuntimeError``).
        """
        if not self._ready_event.wait(timeout):
            raise NotReadyTimeout(
                f"{self._node_name} not ready after {timeout} s "
                f"(state {self._state.name})"
            )

    def re_emit_values(self) -> None:
        """Emit the current values again (the base: ``stateChanged``)."""
        self._send("stateChanged", (self._state,))

    def force_emit_signals(self) -> None:
        """Emit the current values again (mxcubeqt calls it at start-up)."""
        self.re_emit_values()

    reEmitValues = re_emit_values

    def __getstate__(self) -> str:
        """Pickle a hardware object as its name in the repository."""
        return self._load_name

    def __setstate__(self, name: str) -> None:
        """Unpickle by taking the state of the repository's object of that name."""
        repository = _current.get_current()
        if repository is None:
            raise HardwareRepositoryError(
                f"cannot unpickle hardware object {name!r}: no repository"
            )
        obj = repository.get_hardware_object(name)
        self.__dict__.update(obj.__dict__)

    # -- configuration file -----------------------------------------------------
    def xml_source(self) -> str:
        """Return the text of the XML file the object was loaded from.

        :raises ConfigError: the object was not loaded from a file.
        """
        if not self.config_file:
            raise ConfigError(f"{self._node_name} was not loaded from a file")
        with open(self.config_file, encoding="utf-8") as handle:
            return handle.read()

    def rewrite_xml(self, xml: str | bytes) -> None:
        """Replace the object's XML file with ``xml`` (used on the next load).

        The text is checked (it must parse, safely) before the file is
        written, atomically.

        :raises ConfigError: not loaded from a file, or ``xml`` does not parse.
        """
        if not self.config_file:
            raise ConfigError(f"{self._node_name} was not loaded from a file")
        text = xml.decode("utf-8") if isinstance(xml, bytes) else str(xml)
        parse_bytes(text.encode("utf-8"), self.config_file)
        temporary = f"{self.config_file}.new"
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, self.config_file)

    def commit_changes(self) -> None:
        """Write the properties changed with ``set_property`` back to the file.

        Each changed leaf element of the object's root element gets the new
        text; a property the file does not have is appended. Then the file is
        rewritten as by :meth:`rewrite_xml`.

        :raises ConfigError: not loaded from a file.
        """
        if not self._changed_properties:
            return
        changes = {n: self._properties.get(n) for n in sorted(self._changed_properties)}
        self.rewrite_xml(
            update_properties(self.xml_source(), self.config_file, changes)
        )
        self._changed_properties.clear()

    xmlSource = xml_source
    rewriteXml = rewrite_xml
    commitChanges = commit_changes

    # -- mxcubeweb: exported methods ----------------------------------------------
    def _collect_exports(self) -> dict[str, list[str]]:
        """Find the exported methods: the ``exports`` property and ``__exported__``."""
        if self._exports is not None:
            return self._exports
        names: list[str] = []
        configured = self.get_property("exports")
        if configured:
            try:
                parsed = ast.literal_eval(str(configured).strip())
            except (ValueError, SyntaxError) as exc:
                raise ConfigError(
                    f"property exports={configured!r} is not a list of names",
                    file=self.config_file,
                    obj=self._node_name,
                ) from exc
            names.extend(str(n) for n in parsed)
        for attr in dir(type(self)):
            if getattr(getattr(type(self), attr, None), "__exported__", False):
                names.append(attr)
        self._exports = {}
        for attr in dict.fromkeys(names):
            method = getattr(self, attr, None)
            if not callable(method):
                log.error("%s: exported %r is not a method", self._node_name, attr)
                continue
            hints = typing.get_type_hints(method)
            self._exports[attr] = [n for n in hints if n != "return"]
        return self._exports

    def _build_models(self) -> None:
        import json

        from pydantic import Field, create_model

        exports = self._collect_exports()
        members: dict[str, Any] = {}
        for attr, arg_names in exports.items():
            hints = typing.get_type_hints(getattr(self, attr))
            fields: Any = {n: (hints[n], Field(alias=n)) for n in arg_names}
            model = create_model(attr, **fields)
            self._pydantic_models[attr] = model
            members[attr] = (model, Field(alias=attr))
            self._exported_attributes[attr] = {
                "display": True,
                "signature": arg_names,
                "schema": json.dumps(model.model_json_schema()),
            }
        self._pydantic_models["all"] = create_model(type(self).__name__, **members)

    @property
    def exported_attributes(self) -> dict[str, Any]:
        """The exported methods: ``{name: {"signature": [...], "schema": json}}``.

        Methods are exported by the ``exports`` property (a list of names) or
        by an ``__exported__`` attribute; their type hints give the schema
        (built with pydantic on first use).
        """
        if not self._pydantic_models and self._collect_exports():
            self._build_models()
        return self._exported_attributes

    @property
    def pydantic_model(self) -> dict[str, Any]:
        """The pydantic model of each exported method's arguments, and ``"all"``."""
        if not self._pydantic_models and self._collect_exports():
            self._build_models()
        return self._pydantic_models

    def execute_exported_command(self, cmd_name: str, args: dict[str, Any]) -> Any:
        """Call exported method ``cmd_name`` with keyword arguments ``args``.

        :raises AttributeError: ``cmd_name`` is not exported.
        """
        if cmd_name not in self._collect_exports():
            raise AttributeError(f"{self._node_name}: {cmd_name!r} is not exported")
        return getattr(self, cmd_name)(**args)


class Device(HardwareObject):
    """Legacy mxCuBE device: ``deviceReady`` / ``deviceNotReady`` signals."""

    #: mxCuBE's device readiness values (``Device.READY``)
    NOTREADY: ClassVar[int] = 0
    READY: ClassVar[int] = 1

    def set_is_ready(self, ready: bool) -> None:
        """Set READY (or UNKNOWN) and emit ``deviceReady`` / ``deviceNotReady``."""
        self.update_state(
            HardwareObjectState.READY if ready else HardwareObjectState.UNKNOWN
        )
        self._send("deviceReady" if ready else "deviceNotReady", ())

    def is_ready(self) -> bool:
        """Return whether the device is ready."""
        return super().is_ready()


def combine_states(states: Iterable[HardwareObjectState]) -> HardwareObjectState:
    """Return the state of a group whose members are in ``states``.

    The most serious state wins: ``FAULT`` if any member is in fault, else
    ``UNKNOWN`` if any is unknown, else ``BUSY`` if any is busy, else
    ``WARNING`` if any warns; then ``READY`` if all are ready, ``OFF`` if all
    are off, and ``WARNING`` for a mix of ready and off members. No member at
    all gives ``UNKNOWN``.
    """
    present = set(states)
    if not present:
        return HardwareObjectState.UNKNOWN
    for state in (
        HardwareObjectState.FAULT,
        HardwareObjectState.UNKNOWN,
        HardwareObjectState.BUSY,
        HardwareObjectState.WARNING,
    ):
        if state in present:
            return state
    if present == {HardwareObjectState.READY}:
        return HardwareObjectState.READY
    if present == {HardwareObjectState.OFF}:
        return HardwareObjectState.OFF
    return HardwareObjectState.WARNING


class DeviceContainer:
    """Lookups of the devices among an object's members (mxCuBE's mixin)."""

    def get_devices(self) -> list[Device]:
        """Return the member devices (none in the bare mixin)."""
        return []

    def get_device(self, device_name: str) -> Device | None:
        """Return the member device named ``device_name`` (its name or load name)."""
        for device in self.get_devices():
            if device_name in (device.name(), device.load_name):
                return device
        return None

    def get_device_by_role(self, role: str) -> Device | None:
        """Return the child with ``role`` if it is a :class:`Device`, else ``None``."""
        finder = getattr(self, "get_object_by_role", None)
        item = finder(role) if finder is not None else None
        return item if isinstance(item, Device) else None

    def getDevices(self) -> list[Device]:
        """Pre-2020 name of :meth:`get_devices`."""
        return self.get_devices()

    def getDevice(self, device_name: str) -> Device | None:
        """Pre-2020 name of :meth:`get_device`."""
        return self.get_device(device_name)

    def getDeviceByRole(self, role: str) -> Device | None:
        """Pre-2020 name of :meth:`get_device_by_role`."""
        return self.get_device_by_role(role)


class DeviceContainerNode(HardwareObjectNode, DeviceContainer):
    """A plain configuration node that is also a :class:`DeviceContainer`."""


class Equipment(DeviceContainer, HardwareObject):
    """A group of hardware objects whose state is derived from its members'.

    Members are the hardware objects directly inside the equipment: nested
    ``<device>``/``<equipment>``/``<procedure>`` objects and referenced objects
    (``href``/``hwrid``), also when they sit inside plain child nodes
    (``<motors><device role="phi" hwrid="/phi"/></motors>``). Members are not
    searched further: a member equipment aggregates its own members.

    The state is :func:`combine_states` of the members that
    :meth:`~HardwareObject.reports_state` (a plain ``HardwareObject`` has no
    state logic and is left out), with ``UNKNOWN`` for each reference whose
    target failed to load, and with the equipment's own state if one was set
    with :meth:`update_state` or :meth:`set_is_ready` (its own logic). So the
    equipment is ``READY`` when all its members are ready (mxCuBE's
    ``equipmentReady``), ``BUSY`` while one moves, ``FAULT`` when one fails.
    An equipment without members has only its own state (``UNKNOWN`` until
    set). Every change of readiness also emits ``equipmentReady`` or
    ``equipmentNotReady`` (mxCuBE's signals).

    The equipment follows its members' ``stateChanged`` from ``_init()`` on
    (the repository calls it after references are attached) and from
    :meth:`add_object`; it recomputes in the greenlet that emitted the
    member's signal (the hub thread). Hub thread only.
    """

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._own_state: HardwareObjectState | None = None
        self._announced_ready: bool | None = None

    def _init(self) -> None:
        """Follow every member's state, then compute the equipment's."""
        super()._init()
        for member in self.get_members():
            self._follow(member)
        self._recompute()

    def get_members(self) -> list[HardwareObject]:
        """Return the member hardware objects, in configuration order."""
        return self._collect()[0]

    def get_devices(self) -> list[Device]:
        """Return the members that are :class:`Device` instances.

        (Real instances, unlike mxCuBE's ``dir()``-based version.)
        """
        return [obj for obj in self.get_members() if isinstance(obj, Device)]

    def is_valid(self) -> bool:
        """Return ``True``: an equipment that loaded is valid (mxCuBE's hook)."""
        return True

    isValid = is_valid

    def _collect(self) -> tuple[list[HardwareObject], int]:
        """Return (members, number of references whose target failed)."""
        members: list[HardwareObject] = []
        missing = 0
        seen = {id(self)}
        pending: list[HardwareObjectNode] = [self]
        while pending:
            node = pending.pop(0)
            missing += node.missing_references()
            for item in node.child_nodes():
                if id(item) in seen:
                    continue
                seen.add(id(item))
                if isinstance(item, HardwareObject):
                    members.append(item)
                else:
                    pending.append(item)
        return members, missing

    def _follow(self, member: HardwareObject) -> None:
        if member is not self:
            self.connect(member, "stateChanged", self._member_state_changed)

    def add_object(
        self, name: str, hw_object: HardwareObjectNode | None, role: str | None = None
    ) -> None:
        """Add a child (see :meth:`HardwareObjectNode.add_object`) and follow it."""
        super().add_object(name, hw_object, role)
        if isinstance(hw_object, HardwareObject):
            self._follow(hw_object)

    def replace_object(self, role: str, hw_object: HardwareObjectNode | None) -> None:
        """Replace the child with ``role``, follow the new one, recompute."""
        super().replace_object(role, hw_object)
        if isinstance(hw_object, HardwareObject):
            self._follow(hw_object)
        self._recompute()

    def _member_state_changed(self, _state: HardwareObjectState) -> None:
        self._recompute()

    def update_state(self, state: HardwareObjectState | None = None) -> None:
        """Set the equipment's own state, combined with its members' states.

        :param state: the own state; ``None`` only recomputes.
        :raises ValueError: ``state`` is not a :class:`HardwareObjectState`.
        """
        if state is not None:
            self._own_state = self._check_state(state)
            self._state_reported = True
        self._recompute()

    def _recompute(self) -> None:
        members, missing = self._collect()
        states = [m.get_state() for m in members if m.reports_state()]
        states.extend([HardwareObjectState.UNKNOWN] * missing)
        if self._own_state is not None:
            states.append(self._own_state)
        self._set_state(combine_states(states))
        ready = self._state is HardwareObjectState.READY
        if ready != self._announced_ready:
            self._announced_ready = ready
            self._send("equipmentReady" if ready else "equipmentNotReady", ())

    def set_is_ready(self, ready: bool) -> None:
        """Set the own state to READY (or UNKNOWN); see :meth:`update_state`.

        ``set_is_ready(False)`` makes the equipment not ready whatever its
        members say; ``set_is_ready(True)`` leaves readiness to the members.
        ``equipmentReady`` / ``equipmentNotReady`` are emitted when readiness
        changes.
        """
        self.update_state(
            HardwareObjectState.READY if ready else HardwareObjectState.UNKNOWN
        )


class Procedure(HardwareObject):
    """Legacy mxCuBE procedure (a hardware object with commands)."""


class Null:
    """An object that accepts every call and attribute and does nothing.

    mxCuBE's stand-in for an absent collaborator: calls return the ``Null``
    itself, it is false in a boolean test.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        del args, kwargs

    def __call__(self, *args: Any, **kwargs: Any) -> Null:
        """Return this ``Null``, whatever the arguments."""
        return self

    def __bool__(self) -> bool:
        """Return ``False``: a ``Null`` stands for something absent."""
        return False

    def __getattr__(self, name: str) -> Null:
        """Return this ``Null`` for any attribute."""
        if name.startswith("__"):
            raise AttributeError(name)
        return self

    def __setattr__(self, name: str, value: Any) -> None:
        """Ignore the assignment."""

    def __delattr__(self, name: str) -> None:
        """Ignore the deletion."""

    def __repr__(self) -> str:
        """Return ``<Null>``."""
        return "<Null>"

    def __str__(self) -> str:
        """Return ``Null``."""
        return "Null"


#: mxcubecore's name of the hardware-object base (the mixin of YAML objects).
HardwareObjectMixin = HardwareObject
#: mxcubecore 2.x: YAML-configured objects are plain hardware objects.
HardwareObjectYaml = HardwareObject
