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
makes it raise, for tests).
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any, ClassVar

from ._config import convert_value
from ._signals import SignalEmitter, raise_receiver_errors, set_raise_receiver_errors
from .bridge import Event
from .CommandContainer import CommandContainer
from .errors import Timeout

__all__ = [
    "Device",
    "Equipment",
    "HardwareObject",
    "HardwareObjectNode",
    "HardwareObjectState",
    "Procedure",
    "combine_states",
    "raise_receiver_errors",
    "set_raise_receiver_errors",
]

log = logging.getLogger("HardwareRepository.objects")


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


class HardwareObjectNode:
    """One element of a configuration: properties, child nodes and roles.

    Properties come from leaf elements; a repeated leaf element gives a list.
    Children come from nested elements and references; ``node["tag"]`` returns
    the child with that tag, or a list when the tag is repeated. Not
    thread-safe: configure and read it in the owning hub thread.

    :param name: the node's name (the object name for a root object, the tag
        for a nested node).
    """

    def __init__(self, name: str) -> None:
        self._node_name = name
        self._properties: dict[str, Any] = {}
        self._objects: dict[str, list[HardwareObjectNode | None]] = {}
        self._objects_order: list[tuple[str, HardwareObjectNode]] = []
        self._roles: dict[str, HardwareObjectNode] = {}
        self._xml_path = ""
        #: configuration file and line this node was read from, if any
        self.config_file: str | None = None
        self.config_line: int | None = None

    def __repr__(self) -> str:
        """Name the class and the node, for logs."""
        return f"<{type(self).__name__} {self._node_name}>"

    def name(self) -> str:
        """Return the node's name (``/eh1/diff-omega`` for a root object)."""
        return self._node_name

    def set_name(self, name: str) -> None:
        """Rename the node."""
        self._node_name = name

    # -- properties -----------------------------------------------------------
    def get_property(self, name: str, default: Any = None) -> Any:
        """Return the property ``name``, or ``default`` if it is absent."""
        return self._properties.get(name, default)

    def set_property(self, name: str, value: Any) -> None:
        """Set property ``name``; a string is converted (None/int/float/bool/str)."""
        if isinstance(value, str):
            value = convert_value(value)
        self._properties[str(name)] = value

    def _add_property(self, name: str, value: Any) -> None:
        """Add a value from the XML; a second value with the same name makes a list."""
        current = self._properties.get(name, _ABSENT)
        if current is _ABSENT:
            self._properties[name] = value
        elif isinstance(current, _PropertyList):
            current.append(value)
        else:
            self._properties[name] = _PropertyList([current, value])

    def get_properties(self) -> dict[str, Any]:
        """Return a copy of all properties."""
        return dict(self._properties)

    def has_property(self, name: str) -> bool:
        """Return whether property ``name`` is set."""
        return name in self._properties

    getProperty = get_property
    setProperty = set_property
    getProperties = get_properties

    def __getattr__(self, attr: str) -> Any:
        """Return the XML property ``attr`` (mxCuBE's ``node.attr``)."""
        if attr.startswith("__"):
            raise AttributeError(attr)
        props = self.__dict__.get("_properties")
        if props is not None and attr in props:
            return props[attr]
        raise AttributeError(
            f"{type(self).__name__} {self.__dict__.get('_node_name')!r} has no "
            f"attribute or property {attr!r}"
        )

    # -- children and roles ---------------------------------------------------
    def add_object(
        self, name: str, hw_object: HardwareObjectNode | None, role: str | None = None
    ) -> None:
        """Add a child under tag ``name``, optionally with a ``role``."""
        self._objects.setdefault(name, []).append(hw_object)
        if hw_object is not None:
            self._objects_order.append((name, hw_object))
            if role:
                self._roles[str(role).lower()] = hw_object

    def replace_object(self, role: str, hw_object: HardwareObjectNode | None) -> None:
        """Put ``hw_object`` in place of the child with ``role``."""
        key = role.lower()
        old = self._roles.get(key)
        if hw_object is None:
            self._roles.pop(key, None)
        else:
            self._roles[key] = hw_object
        if old is None:
            return
        for items in self._objects.values():
            for i, item in enumerate(items):
                if item is old:
                    items[i] = hw_object
        order: list[tuple[str, HardwareObjectNode]] = []
        for tag, obj in self._objects_order:
            if obj is not old:
                order.append((tag, obj))
            elif hw_object is not None:
                order.append((tag, hw_object))
        self._objects_order = order

    def __getitem__(self, key: str | int) -> Any:
        """Return the child of role ``key`` (a list if several), or child ``key``."""
        if isinstance(key, int):
            return self._objects_order[key][1]
        items = [obj for obj in self._objects.get(key, ()) if obj is not None]
        if not items:
            raise KeyError(f"{self._node_name}: no child object {key!r}")
        return items[0] if len(items) == 1 else items

    def get_objects(self, tag: str) -> Iterator[HardwareObjectNode]:
        """Yield the children with tag ``tag``."""
        for obj in self._objects.get(tag, ()):
            if obj is not None:
                yield obj

    def has_object(self, tag: str) -> bool:
        """Return whether a child with tag ``tag`` exists."""
        return any(obj is not None for obj in self._objects.get(tag, ()))

    def objects_names(self) -> list[str]:
        """Return the children's names, in configuration order."""
        return [obj.name() for _, obj in self._objects_order]

    def __iter__(self) -> Iterator[HardwareObjectNode]:
        """Iterate over the child objects, in configuration order."""
        for _, obj in self._objects_order:
            yield obj

    def __len__(self) -> int:
        """Return how many child objects there are."""
        return len(self._objects_order)

    def __bool__(self) -> bool:
        """Return ``True``: a node is truthy even without children."""
        return True

    def get_object_by_role(self, role: str) -> HardwareObjectNode | None:
        """Return the child with ``role`` (case-insensitive), searching depth-first.

        :returns: ``None`` if no child has that role (a reference whose target
            failed to load is reported at load time and has no role here).
        """
        key = role.lower()
        found = self._roles.get(key)
        if found is not None:
            return found
        for _, child in self._objects_order:
            if isinstance(child, HardwareObjectNode) and child is not self:
                found = child._find_role(key, {id(self)})
                if found is not None:
                    return found
        return None

    def _find_role(self, key: str, seen: set[int]) -> HardwareObjectNode | None:
        if id(self) in seen:
            return None
        seen.add(id(self))
        found = self._roles.get(key)
        if found is not None:
            return found
        for _, child in self._objects_order:
            found = child._find_role(key, seen)
            if found is not None:
                return found
        return None

    def get_roles(self) -> list[str]:
        """Return the roles of the direct children."""
        return list(self._roles)

    getObjectByRole = get_object_by_role
    getObjects = get_objects
    hasObject = has_object

    def set_path(self, path: str) -> None:
        """Record the XPath-like location of the node in its file."""
        self._xml_path = path

    def get_xml_path(self) -> str:
        """Return the XPath-like location of the node in its file."""
        return self._xml_path


class _PropertyList(list):
    """A property given several times in XML (a list marked as such)."""


_ABSENT: Any = object()


class HardwareObject(HardwareObjectNode, CommandContainer, SignalEmitter):
    """A hardware object: a node with commands, channels, signals and a state.

    Subclasses read their configuration in :meth:`init` (properties, roles,
    commands and channels are all in place by then). Hub thread only, except
    where a method says otherwise.

    :param name: the object name (``/eh1/diff-omega``) or, nested, its tag.
    """

    STATES = HardwareObjectState
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
        # (sender, signal, slot) made through self.connect(); used by discard
        # and reload to undo them.
        self._connections: list[tuple[Any, str, Callable[..., Any]]] = []

    def _where(self) -> tuple[str | None, str | None]:
        return self.config_file, self._node_name

    # -- lifecycle ------------------------------------------------------------
    def _init(self) -> None:
        """First initialisation step (before :meth:`init`); sets ``UNKNOWN``."""
        self._state = HardwareObjectState.UNKNOWN

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
            remove = getattr(sender, "_remove_receiver", None)
            if remove is not None:
                remove(signal, slot)
        self._connections.clear()

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
        raise AttributeError(
            f"{type(self).__name__} {self.__dict__.get('_node_name')!r} has no "
            f"attribute, command or property {attr!r}"
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
        ``connect_notify(signal)`` is called afterwards, so objects can re-emit
        their current value to the new receiver.

        :param weak: hold a bound-method slot weakly (default); other callables
            are always held strongly until disconnected.
        :raises TypeError: the sender cannot emit signals or ``slot`` is not
            callable.
        """
        if slot is None:
            sender, signal, slot = self, sender, signal
        add = getattr(sender, "_add_receiver", None)
        if add is None:
            raise TypeError(f"{sender!r} cannot emit signals (connecting {signal!r})")
        signal = str(signal)
        if add(signal, slot, weak):
            if sender is not self:
                self._connections.append((sender, signal, slot))
            if isinstance(sender, HardwareObject):
                sender.connect_notify(signal)
            elif hasattr(sender, "connect_notify"):  # a command or channel
                sender.connect_notify(signal, slot)

    def disconnect(
        self, sender: Any, signal: Any, slot: Callable[..., Any] | None = None
    ) -> None:
        """Undo :meth:`connect` (same argument forms); a no-op if not connected."""
        if slot is None:
            sender, signal, slot = self, sender, signal
        remove = getattr(sender, "_remove_receiver", None)
        if remove is None:
            raise TypeError(f"{sender!r} cannot emit signals")
        signal = str(signal)
        if remove(signal, slot):
            self._connections = [
                c
                for c in self._connections
                if not (c[0] is sender and c[1] == signal and c[2] == slot)
            ]
            if isinstance(sender, HardwareObject):
                sender.disconnect_notify(signal)

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

        :param state: the new state; ``None`` re-emits nothing and keeps it.
        :raises ValueError: ``state`` is not a :class:`HardwareObjectState`.
        """
        if state is None:
            return
        self._state_reported = True
        self._set_state(self._check_state(state))

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
        :raises Timeout: not ready within ``timeout``.
        """
        if not self._ready_event.wait(timeout):
            raise Timeout(
                f"{self._node_name} not ready after {timeout} s "
                f"(state {self._state.name})"
            )

    def re_emit_values(self) -> None:
        """Emit the current values again (the base: ``stateChanged``)."""
        self._send("stateChanged", (self._state,))

    force_emit_signals = re_emit_values

    def __getstate__(self) -> str:
        """Pickle a hardware object as its name in the repository."""
        return self._node_name

    def __setstate__(self, name: str) -> None:
        """Unpickle by taking the state of the repository's object of that name."""
        from .HardwareRepository import get_hardware_repository

        obj = get_hardware_repository().get_hardware_object(name)
        self.__dict__.update(obj.__dict__)


class Device(HardwareObject):
    """Legacy mxCuBE device: ``deviceReady`` / ``deviceNotReady`` signals."""

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


class Equipment(HardwareObject):
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

    def _collect(self) -> tuple[list[HardwareObject], int]:
        """Return (members, number of references whose target failed)."""
        members: list[HardwareObject] = []
        missing = 0
        seen = {id(self)}
        pending: list[HardwareObjectNode] = [self]
        while pending:
            node = pending.pop(0)
            missing += sum(
                1 for items in node._objects.values() for item in items if item is None
            )
            for _tag, item in node._objects_order:
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
