"""The configuration node: properties, children, roles (the base of every object).

:class:`HardwareObjectNode` is re-exported by
:mod:`HardwareRepository.BaseHardwareObjects`, mxCuBE's import path; it lives
here so that :mod:`HardwareRepository._configured` (which needs pydantic and
is imported on first use) can build on it without an import cycle.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from types import MappingProxyType
from typing import Any, ClassVar

from . import _current
from ._config import convert_value
from .errors import ConfigError, HardwareRepositoryError

__all__ = ["HardwareObjectNode"]

log = logging.getLogger("HardwareRepository.objects")


class _CallableName(str):
    """An object's name: a string that also answers ``name()``.

    mxcubecore 2.x reads ``obj.name`` as a string; older code (and this
    package) calls ``obj.name()``. Both give the same text.
    """

    __slots__ = ()

    def __call__(self) -> str:
        """Return the name as a plain string."""
        return str(self)


class HardwareObjectNode:
    """One element of a configuration: properties, child nodes and roles.

    Properties come from leaf elements; a repeated leaf element gives a list.
    Children come from nested elements and references; ``node["tag"]`` returns
    the child with that tag, or a list when the tag is repeated. Not
    thread-safe: configure and read it in the owning hub thread.

    :param name: the node's name (the object name for a root object, the tag
        for a nested node).
    """

    #: set by :func:`HardwareRepository.HardwareRepository.set_user_file_directory`
    user_file_directory: ClassVar[str] = ""

    def __init__(self, name: str) -> None:
        self._node_name = name
        self._load_name = name
        self._hwobj_container: HardwareObjectNode | None = None
        self._config: Any = None
        self._pending_references: list[tuple[str, str, str | None]] = []
        self._changed_properties: set[str] = set()
        self._properties: dict[str, Any] = {}
        self._objects: dict[str, list[HardwareObjectNode | None]] = {}
        self._objects_order: list[tuple[str, HardwareObjectNode]] = []
        self._roles: dict[str, HardwareObjectNode] = {}
        self._xml_path = ""
        #: configuration file and line this node was read from, if any
        self.config_file: str | None = None
        self.config_line: int | None = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._node_name}>"

    @property
    def name(self) -> _CallableName:
        """The node's name (``/eh1/diff-omega`` for a root object).

        A string that may also be called: ``obj.name`` and ``obj.name()`` are
        the same text (mxcubecore 2.x and older code).
        """
        return _CallableName(self._node_name)

    @name.setter
    def name(self, name: str) -> None:
        self._node_name = str(name)

    def set_name(self, name: str) -> None:
        """Rename the node."""
        self._node_name = name

    @property
    def load_name(self) -> str:
        """The name the object was loaded under (its file name, ``/eh1/omega``)."""
        return self._load_name

    @property
    def id(self) -> str:
        """The dotted role path from the beamline object (``"diffractometer.phi"``).

        ``""`` for the beamline itself and for an object no YAML container
        attached; then the load name is the way to name it.
        """
        roles: list[str] = []
        node: HardwareObjectNode = self
        while node._hwobj_container is not None:
            container = node._hwobj_container
            role = next(
                (r for r, o in container.objects_by_role.items() if o is node), None
            )
            roles.append(role or node._node_name)
            node = container
        return ".".join(reversed(roles))

    @property
    def hwobj_container(self) -> HardwareObjectNode | None:
        """The object that holds this one under a role in YAML, else ``None``."""
        return self._hwobj_container

    @property
    def objects_by_role(self) -> MappingProxyType[str, HardwareObjectNode]:
        """The children with a role, by role (a read-only view)."""
        return MappingProxyType(self._roles)

    @property
    def config(self) -> Any:
        """The configuration: a YAML object's pydantic ``HOConfig``, or the properties.

        Without a model, a read-only view of the properties
        (``obj.config.velocity``).
        """
        if self._config is not None:
            return self._config
        return _PropertiesView(self._node_name, self._properties)

    def get_by_id(self, dotted_id: str) -> HardwareObjectNode | None:
        """Return the object at role path ``dotted_id`` (``"diffractometer.phi"``)."""
        node: HardwareObjectNode | None = self
        for role in dotted_id.split("."):
            if node is None:
                return None
            node = node.get_object_by_role(role)
        return node

    def _get_id_dict(self) -> dict[str, HardwareObjectNode]:
        """Return every object under this one by its dotted role path.

        mxcubecore's ``Beamline._hwr_init_done`` calls it (a name its own core
        no longer has).
        """
        found: dict[str, HardwareObjectNode] = {}
        pending = list(self._roles.items())
        while pending:
            path, node = pending.pop(0)
            if path in found or node is self:
                continue
            found[path] = node
            pending.extend((f"{path}.{r}", o) for r, o in node.objects_by_role.items())
        return found

    def apply_configuration(
        self,
        values: dict[str, Any],
        *,
        file: str | None = None,
        line: int | None = None,
        load_name: str | None = None,
    ) -> None:
        """Take a configuration read from YAML: a pydantic model, and properties.

        If the class declares an ``HOConfig`` model (mxcubecore's
        :class:`ConfiguredObject`), ``values`` are validated into it (then
        ``obj.config``); in any case each value becomes a property.

        :param file: the file it came from (for messages and ``xml_source``).
        :param line: the line of the object in that file.
        :param load_name: the name it is known by (``/beamline_config``).
        :raises ConfigError: ``values`` do not fit ``HOConfig`` (naming the
            file, the line and the field).
        """
        model = getattr(type(self), "HOConfig", None)
        if model is not None and hasattr(model, "model_validate"):
            try:
                self._config = model.model_validate(values)
            except Exception as exc:
                raise ConfigError(
                    f"configuration does not fit {type(self).__name__}.HOConfig: {exc}",
                    file=file,
                    line=line,
                ) from exc
        self._properties.update(values)
        self.config_file, self.config_line = file, line
        if load_name is not None:
            self._load_name = load_name

    def _init(self) -> None:
        """First lifecycle hook (YAML: before contained objects load); no-op here."""

    def init(self) -> None:
        """Last lifecycle hook (after contained objects); no-op on a plain node."""

    def force_emit_signals(self) -> None:
        """Emit the current values again: a plain node has none (mxcubeqt's call)."""

    def set_container(self, container: HardwareObjectNode | None) -> None:
        """Make this node belong to ``container`` (see :attr:`id`)."""
        self._hwobj_container = container

    def attach(self, role: str, obj: HardwareObjectNode) -> None:
        """Hold ``obj`` under ``role`` (``self.<role>``, ``get_object_by_role``).

        ``obj`` belongs to this container (for its dotted ``id``) unless it
        already belongs to another one.
        """
        self.replace_object(role, obj)
        if obj.hwobj_container is None:
            obj.set_container(self)

    @staticmethod
    def set_user_file_directory(user_file_directory: str) -> None:
        """Set the directory where objects keep user files (all objects)."""
        HardwareObjectNode.user_file_directory = user_file_directory

    def print_log(
        self, log_type: str = "HWR", level: str = "debug", msg: str = ""
    ) -> None:
        """Log ``msg`` on logger ``log_type`` at ``level`` (mxCuBE's helper)."""
        method = getattr(logging.getLogger(log_type), level, None)
        if callable(method):
            method(msg)

    # -- properties -----------------------------------------------------------
    def get_property(self, name: str, default: Any = None) -> Any:
        """Return the property ``name``, or ``default`` if it is absent."""
        return self._properties.get(name, default)

    def set_property(self, name: str, value: Any) -> None:
        """Set property ``name``; a string is converted (None/int/float/bool/str).

        The change is written to the file by :meth:`HardwareObject.commit_changes`.
        """
        if isinstance(value, str):
            value = convert_value(value)
        self._properties[str(name)] = value
        self._changed_properties.add(str(name))

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
        for _, obj in self._objects_order:
            yield obj

    def __len__(self) -> int:
        return len(self._objects_order)

    def __bool__(self) -> bool:
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
        for child in self.child_nodes():
            if isinstance(child, HardwareObjectNode) and child is not self:
                found = _find_role(child, key, {id(self)})
                if found is not None:
                    return found
        return None

    def get_roles(self) -> list[str]:
        """Return the roles of the direct children."""
        return list(self._roles)

    def child_nodes(self) -> list[HardwareObjectNode]:
        """Return the children in configuration order (references included).

        A reference whose target failed to load has no child here (see
        :meth:`missing_references`).
        """
        return [child for _tag, child in self._objects_order]

    def missing_references(self) -> int:
        """Return how many references of this node have no object (target failed)."""
        return sum(
            1 for items in self._objects.values() for item in items if item is None
        )

    def replace_references(
        self, old: HardwareObjectNode, new: HardwareObjectNode
    ) -> None:
        """Put ``new`` in place of the child ``old`` everywhere in this node.

        Under each role (through :meth:`replace_object`), under its tag and in
        the configuration order. The repository's reload calls it on every
        node that may refer to the replaced object. Owning thread.
        """
        for role in self.get_roles():
            if self._roles[role] is old:
                self.replace_object(role, new)
        for items in self._objects.values():  # references without a role
            items[:] = [new if item is old else item for item in items]
        self._objects_order = [
            (tag, new if child is old else child) for tag, child in self._objects_order
        ]

    @property
    def has_pending_references(self) -> bool:
        """Whether :meth:`add_reference` declared children not yet resolved."""
        return bool(self._pending_references)

    def add_reference(self, name: str, reference: str, role: str | None = None) -> None:
        """Declare a child ``name`` that is the object ``reference`` (``/eh1/phi``).

        Resolved (loaded and attached, with ``role``) by
        :meth:`resolve_references`; the XML loader resolves the references of
        the files it reads itself.
        """
        self._pending_references.append((name, reference, role))

    def resolve_references(self) -> None:
        """Load and attach the references declared with :meth:`add_reference`.

        Uses the process-wide repository; a reference that does not load is
        logged and left out (mxCuBE's behaviour). Children are resolved too.

        :raises HardwareRepositoryError: there is no process-wide repository.
        """
        repository = _current.get_current()
        pending, self._pending_references = self._pending_references, []
        if pending and repository is None:
            raise HardwareRepositoryError(
                f"{self._node_name}: cannot resolve references without a "
                "repository (call init_hardware_repository first)"
            )
        for name, reference, role in pending:
            target = repository.get_hardware_object(reference, optional=True)
            if target is None:
                log.error(
                    "%s: reference %r (role %r) did not load",
                    self._node_name,
                    reference,
                    role,
                )
                continue
            self.add_object(name, target, role)
        for _tag, child in list(self._objects_order):
            if child.has_pending_references:
                child.resolve_references()

    def set_path(self, path: str) -> None:
        """Record the XPath-like location of the node in its file."""
        self._xml_path = path

    def get_xml_path(self) -> str:
        """Return the XPath-like location of the node in its file."""
        return self._xml_path

    getObjectByRole = get_object_by_role
    getObjects = get_objects
    hasObject = has_object
    objectsNames = objects_names
    getRoles = get_roles
    setPath = set_path
    getXMLPath = get_xml_path
    setUserFileDirectory = set_user_file_directory
    addReference = add_reference
    resolveReferences = resolve_references
    printLog = print_log


def _find_role(
    node: HardwareObjectNode, key: str, seen: set[int]
) -> HardwareObjectNode | None:
    """Return the object with role ``key`` at or under ``node``, depth-first."""
    if id(node) in seen:
        return None
    seen.add(id(node))
    found = node.objects_by_role.get(key)
    if found is not None:
        return found
    for child in node.child_nodes():
        found = _find_role(child, key, seen)
        if found is not None:
            return found
    return None


class _PropertyList(list):
    """A property given several times in XML (a list marked as such)."""


class _PropertiesView:
    """Attribute access to a node's properties (``obj.config.velocity``).

    :param node_name: names the node in messages.
    :param properties: the node's own property table (read live, never written).
    """

    __slots__ = ("_node_name", "_properties")

    def __init__(self, node_name: str, properties: dict[str, Any]) -> None:
        self._node_name = node_name
        self._properties = properties

    def __getattr__(self, name: str) -> Any:
        props = self._properties
        if name in props:
            return props[name]
        raise AttributeError(f"{self._node_name}: no configured property {name!r}")

    def model_dump(self) -> dict[str, Any]:
        """Return the properties as a dictionary (pydantic's name)."""
        return dict(self._properties)


_ABSENT: Any = object()
