"""The hardware repository: find, load, hold, reload and shut down objects.

Typical use, with or without Qt, with or without a display::

    from HardwareRepository import HardwareRepository as HWR
    HWR.init_hardware_repository("/cfg/site:/cfg/common")
    omega = HWR.get_hardware_repository().get_hardware_object("/eh1/diff-omega")

Names are file paths relative to a configuration directory without ``.xml``
(``"/eh1/diff-omega"``; ``"eh1/diff-omega"`` is the same). The first directory
holding the file wins, so site directories overlay shared ones.

Loading (in the owning thread: the one that called
:func:`init_hardware_repository`; calls from other threads are run there):
parse (constructors run) -> resolve references (targets loaded first; a cycle
is reported with its path) -> create commands and channels -> ``_init()`` and
``init()`` (nested objects first). One bad object never stops the others; a
failed object is remembered with its reason and ``get_hardware_object`` raises
it (until it is discarded or reloaded). Objects are held strongly until
:meth:`HardwareRepository.discard_hardware_object` or
:meth:`HardwareRepository.shutdown`.

mxCuBE's module contract is here too (see ``docs/mxcube.md``): ``beamline``
(the object built from ``beamline_config.yml`` by
:func:`init_hardware_repository`), :func:`load_from_yaml`,
:func:`add_hardware_objects_dirs`, :func:`set_user_file_directory`, the
pre-2020 camelCase names, and ``HardwareRepository()`` without arguments
returning the process-wide repository as the old singleton did.

Two faces for lookups of something absent (``get_hardware_object`` here,
``get_channel_object``/``get_command_object`` and ``connect(None, ...)`` on the
objects it loads): the *native* face raises (the default); the *mxcubecore*
face (``compatible=True``, the default after
:func:`HardwareRepository.compat.mxcubecore.install`) returns ``None``, logs
each miss once with file, line and object, and counts it in the load summary
(:meth:`HardwareRepository.missing_lookups`). ``strict=True`` is always the
native face.
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
import posixpath
import sys
import time
from collections.abc import Iterable
from typing import Any

import gevent

from . import _current
from ._config import Built, ClassResolver, build, parse_bytes, parse_file
from ._load_record import FAILED, OK, WARNING, LoadRecord
from ._signals import SignalEmitter
from .BaseHardwareObjects import (
    Device,
    Equipment,
    HardwareObject,
    HardwareObjectNode,
    Procedure,
)
from .bridge import Launcher
from .commands import lingering
from .errors import ConfigError, HardwareRepositoryError, Timeout

__all__ = [
    "BEAMLINE_CONFIG_FILE",
    "HardwareRepository",
    "LoadRecord",
    "add_hardware_objects_dirs",
    "beamline",
    "get_hardware_repository",
    "init_hardware_repository",
    "load_from_yaml",
    "set_compatible_default",
    "set_user_file_directory",
    "uninit_hardware_repository",
]

#: the YAML file :func:`init_hardware_repository` loads into :data:`beamline`
BEAMLINE_CONFIG_FILE = "beamline_config.yml"

#: the object built from ``beamline_config.yml`` (``HWR.beamline.energy``);
#: ``None`` until :func:`init_hardware_repository` found that file.
beamline: Any = None

log = logging.getLogger("HardwareRepository.repository")

CUSTOM_PATH_ENV = "CUSTOM_HARDWARE_OBJECTS_PATH"

#: seconds one file's objects may take to shut down when discarded
_OBJECT_SHUTDOWN_TIMEOUT = 5.0
#: seconds each object gets at shutdown even when the overall time is spent
_MIN_SHUTDOWN_SLICE = 0.05

# mxCuBE: an element without class= gets the base class its tag names.
_DEFAULT_CLASSES: dict[str, type[HardwareObject]] = {
    "device": Device,
    "equipment": Equipment,
    "procedure": Procedure,
}


def _normalise(name: str) -> str:
    return _normalise_text(str(name))


# The same names are normalised at every look-up; the result depends on the
# text only (a ConfigError raised for a bad name is not cached).
@functools.lru_cache(maxsize=4096)
def _normalise_text(name: str) -> str:
    name = name.strip()
    if name.endswith(".xml"):
        name = name[:-4]
    if not name.startswith("/"):
        name = "/" + name
    normal = posixpath.normpath(name)
    if normal.startswith("/..") or normal in ("/", "/."):
        raise ConfigError(f"{name!r} is not a hardware-object name")
    return normal


def _split_path(path: str | os.PathLike[str] | Iterable[Any]) -> list[str]:
    if isinstance(path, (str, os.PathLike)):
        parts = str(path).split(os.pathsep)
    else:
        parts = [str(p) for p in path]
    return [os.path.abspath(p) for p in parts if p]


# The lookup face of repositories created without compatible=...; switched
# by compat.mxcubecore.install() (and tests). Owning thread.
_compatible_default = False


def set_compatible_default(compatible: bool) -> bool:
    """Choose the lookup face of repositories created without ``compatible=``.

    :param compatible: ``True`` for the mxcubecore face (absent items give
        ``None``), ``False`` for the native face (they raise).
    :returns: the previous default.
    """
    global _compatible_default
    previous, _compatible_default = _compatible_default, bool(compatible)
    return previous


class _SingletonCall(type):
    """``HardwareRepository()`` with no argument returns the process-wide one.

    The pre-2020 package had a module function ``HardwareRepository()`` that
    returned the singleton; here the name is the class, so a call without
    any argument keeps that meaning.
    """

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if not args and not kwargs:
            return get_hardware_repository()
        return super().__call__(*args, **kwargs)


class HardwareRepository(SignalEmitter, metaclass=_SingletonCall):
    """Load and hold the hardware objects of a configuration path.

    Create it in the thread that runs the gevent hub owning the objects (the
    Qt thread in a GUI); :meth:`get_hardware_object` may be called from other
    threads (loading then runs in the owning thread and the caller waits).
    Other methods are for the owning thread.

    Signals (sender: the repository): ``hardwareObjectLoaded(name)``,
    ``hardwareObjectDiscarded(name)``.

    :param path: a directory, a list of them, or an ``os.pathsep``-separated
        string; the first directory holding a file wins.
    :param hardware_objects_dirs: extra directories searched for
        ``class=`` modules before the built-in ``HardwareObjects`` (then the
        ``CUSTOM_HARDWARE_OBJECTS_PATH`` environment variable's).
    :param strict: raise the first error or warning instead of recording it
        (and the native lookup face).
    :param compatible: the mxcubecore lookup face (see the module docstring);
        ``None`` takes the default of :func:`set_compatible_default`.
    :raises ValueError: ``strict`` and ``compatible`` both true.
    :raises ConfigError: a directory of ``path`` does not exist, or ``path``
        names none.

    Called with no argument at all, ``HardwareRepository()`` returns the
    process-wide repository (the pre-2020 singleton call).
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | Iterable[Any],
        *,
        hardware_objects_dirs: Iterable[str] = (),
        strict: bool = False,
        compatible: bool | None = None,
    ) -> None:
        self.path: list[str] = _split_path(path)
        missing = [d for d in self.path if not os.path.isdir(d)]
        if missing or not self.path:
            raise ConfigError(
                f"configuration directory {missing[0]!r} does not exist"
                if missing
                else f"no configuration directory in {path!r}"
            )
        self.strict = strict
        if compatible is None:
            compatible = _compatible_default and not strict
        if strict and compatible:
            raise ValueError("a repository is either strict or compatible")
        self.compatible = compatible
        self._missed_objects: set[str] = set()
        # module name -> its file's mtime when first used (reload_hardware_objects)
        self._module_times: dict[str, float | None] = {}
        # Objects built from YAML files, in load order (not in _objects:
        # they have no XML name); shut down before the XML objects.
        self._yaml_objects: list[HardwareObjectNode] = []
        custom = [d for d in os.environ.get(CUSTOM_PATH_ENV, "").split(os.pathsep) if d]
        self._classes = ClassResolver([*hardware_objects_dirs, *custom])
        self._launcher = Launcher()
        self._objects: dict[str, HardwareObject] = {}
        self._built: dict[str, Built] = {}
        self._aliases: dict[str, str] = {}
        self._failed: dict[str, ConfigError] = {}
        self._records: dict[str, LoadRecord] = {}
        self._loading: list[str] = []
        self._closed = False

    def __repr__(self) -> str:
        """Name the repository and its configuration path, for logs."""
        return f"<HardwareRepository {os.pathsep.join(self.path)}>"

    # -- what the YAML loader uses -------------------------------------------------
    def resolve_class(self, class_name: str) -> type:
        """Return the class ``class_name`` names (as ``class=`` in XML).

        A class of mxcubecore's library (``mxcubecore.HardwareObjects...``) is
        refused until :func:`HardwareRepository.compat.mxcubecore.install`
        was called: importing it would import mxcubecore's own core.

        :raises ConfigError: no such module or class, its module fails to
            import (the import's exception as cause), or an mxcubecore class
            without ``install()``.
        """
        if class_name.startswith("mxcubecore.") and not _mxcubecore_installed():
            raise ConfigError(
                f"class={class_name!r} is mxcubecore's: call "
                "HardwareRepository.compat.mxcubecore.install() before loading "
                "(importing it now would import mxcubecore's own core)"
            )
        return self._classes.resolve(class_name)

    def add_summary_row(self, record: LoadRecord) -> None:
        """Add a row (an object not loaded from XML) to the load summary."""
        self._records[f"yaml:{len(self._records)}:{record.name}"] = record

    def get_summary_row(self, name: str) -> LoadRecord | None:
        """Return the summary row of XML object ``name``, if it was attempted."""
        try:
            return self._records.get(_normalise(name))
        except ConfigError:
            return None

    def adopt(self, obj: HardwareObjectNode) -> None:
        """Hold ``obj`` (built elsewhere) and shut it down with the repository."""
        self._yaml_objects.append(obj)

    @property
    def launcher(self) -> Launcher:
        """Runs calls in the owning thread's hub (from any thread)."""
        return self._launcher

    @property
    def server_address(self) -> list[str]:
        """The configuration directories (mxCuBE's name; there is no server)."""
        return list(self.path)

    def connect(self) -> None:
        """Get ready to load (mxCuBE's call); nothing to do without a server."""

    def close(self) -> None:
        """Shut the repository down (mxCuBE's name for :meth:`shutdown`)."""
        self.shutdown()

    def require(self, names: Iterable[str]) -> None:
        """Load the objects ``names`` now (mxCuBE's prefetch); misses are recorded."""
        for name in names:
            self.get_hardware_object(name, optional=True)

    def find_in_repository(self, relative_path: str) -> str | None:
        """Return the absolute path of ``relative_path`` in the first directory with it.

        Any file or directory (``beamline_config.yml``, a data file), not
        only object files; ``None`` if no directory has it.
        """
        relative = str(relative_path).lstrip("/")
        for directory in self.path:
            candidate = os.path.join(directory, relative)
            if os.path.exists(candidate):
                return os.path.abspath(candidate)
        return None

    # -- configuration --------------------------------------------------------
    def add_hardware_objects_dirs(self, dirs: str | Iterable[str]) -> None:
        """Search ``dirs`` for ``class=`` modules before those known so far."""
        if isinstance(dirs, str):
            dirs = [d for d in dirs.split(os.pathsep) if d]
        self._classes.add_dirs(list(dirs))

    def find_file(self, name: str) -> str | None:
        """Return the file defining object ``name`` (first match), or ``None``."""
        relative = _normalise(name)[1:] + ".xml"
        for directory in self.path:
            candidate = os.path.join(directory, relative)
            if os.path.isfile(candidate):
                return candidate
        return None

    def names(self) -> list[str]:
        """Return the names of every object file in the path (first match wins)."""
        found: set[str] = set()
        for directory in self.path:
            for dirpath, _dirnames, filenames in os.walk(directory):
                # os.walk's dirpath starts with ``directory``: the relative
                # part is a slice (os.path.relpath costs more than the walk).
                rel_dir = os.path.relpath(dirpath, directory)
                prefix = "/" if rel_dir == os.curdir else f"/{rel_dir}/"
                if os.sep != "/":
                    prefix = prefix.replace(os.sep, "/")
                for filename in filenames:
                    if filename.endswith(".xml"):
                        found.add(prefix + filename[:-4])
        return sorted(found)

    # -- access ---------------------------------------------------------------
    def get_hardware_object(
        self, name: str, optional: bool = False
    ) -> HardwareObject | None:
        """Return the object ``name``, loading it (and its references) if needed.

        Safe from any thread: loading runs in the owning thread.

        :param optional: return ``None`` instead of raising if the object is
            missing or failed (the failure is still recorded and logged).
        :raises ConfigError: the object failed to load; the message names the
            file, the line and the object, and ``__cause__`` holds the original
            exception (an import error, the exception of ``init()``).
        :raises HardwareRepositoryError: the repository was shut down.
        """
        if self._closed:
            raise HardwareRepositoryError(f"{self!r} is shut down")
        if self.compatible and not optional:
            try:
                return self._lookup(name, optional=False)
            except ConfigError as exc:
                self._missed_object(str(name), exc)
                return None
        return self._lookup(name, optional)

    def _lookup(self, name: str, optional: bool) -> HardwareObject | None:
        """The native face of :meth:`get_hardware_object`."""
        try:
            key = _normalise(name)
        except ConfigError:
            if optional:
                return None
            raise
        obj = self._objects.get(key)
        if obj is not None:
            return obj
        if not self._launcher.bridge.in_hub_thread():
            return self._launcher.apply(self._lookup, name, optional)
        try:
            return self._get(key)
        except ConfigError:
            if optional:
                return None
            raise

    def _missed_object(self, name: str, error: ConfigError) -> None:
        """Log (once per name) and count an object lookup answered with ``None``."""
        if name in self._missed_objects:
            return
        self._missed_objects.add(name)
        message = f"{error} -> None (mxcubecore lookup)"
        log.error("%s", message)
        try:
            key = _normalise(name)
        except ConfigError:
            key = str(name)
        record = self._records.setdefault(key, LoadRecord(name=key, status=FAILED))
        record.missing_lookups.append(message)

    def _record_miss(self, name: str, message: str) -> None:
        record = self._records.get(name)
        if record is not None:
            record.missing_lookups.append(message)

    def missing_lookups(self) -> dict[str, list[str]]:
        """Return the lookups answered with ``None`` (mxcubecore face), by object.

        Each entry is one absent channel, command, sender or object asked for,
        with the file, line and object; ``hwr check`` prints them.
        """
        return {
            name: list(r.missing_lookups)
            for name, r in self._records.items()
            if r.missing_lookups
        }

    # -- mxCuBE's lookups by kind ---------------------------------------------
    def __getitem__(self, name: str) -> Any:
        """``repo["/eh1/omega"]``; ``"devices"``, ``"equipments"``, ``"procedures"``."""
        lists = {
            "devices": self.get_devices,
            "equipments": self.get_equipments,
            "procedures": self.get_procedures,
        }
        if name in lists:
            return lists[name]()
        return self.get_hardware_object(name)

    def get_equipment(self, name: str) -> HardwareObject | None:
        """Return the object ``name`` (see :meth:`get_hardware_object`)."""
        return self.get_hardware_object(name)

    def get_device(self, name: str) -> HardwareObject | None:
        """Return the object ``name`` (see :meth:`get_hardware_object`)."""
        return self.get_hardware_object(name)

    def get_procedure(self, name: str) -> HardwareObject | None:
        """Return the object ``name`` (see :meth:`get_hardware_object`)."""
        return self.get_hardware_object(name)

    def _loaded_of(self, kind: type) -> list[HardwareObject]:
        return [o for o in self._objects.values() if isinstance(o, kind)]

    def get_equipments(self) -> list[HardwareObject]:
        """Return the loaded :class:`Equipment` objects."""
        return self._loaded_of(Equipment)

    def get_devices(self) -> list[HardwareObject]:
        """Return the loaded :class:`Device` objects."""
        return self._loaded_of(Device)

    def get_procedures(self) -> list[HardwareObject]:
        """Return the loaded :class:`Procedure` objects."""
        return self._loaded_of(Procedure)

    def _is(self, name: str, kind: type) -> bool:
        try:
            return isinstance(self._objects.get(_normalise(name)), kind)
        except ConfigError:
            return False

    def is_device(self, name: str) -> bool:
        """Return whether ``name`` is loaded and a :class:`Device`."""
        return self._is(name, Device)

    def is_equipment(self, name: str) -> bool:
        """Return whether ``name`` is loaded and an :class:`Equipment`."""
        return self._is(name, Equipment)

    def is_procedure(self, name: str) -> bool:
        """Return whether ``name`` is loaded and a :class:`Procedure`."""
        return self._is(name, Procedure)

    def get_info(self, name: str) -> dict[str, Any]:
        """Return what mxCuBE's GUI shows about a loaded object; ``{}`` if not loaded.

        Keys: ``class``, ``python module`` (its file), ``is ready ?``,
        ``commands`` and ``channels`` (name -> type and source), and, here,
        ``file`` and ``status``.
        """
        try:
            obj = self._objects.get(_normalise(name))
        except ConfigError:
            return {}
        if obj is None:
            return {}
        module = sys.modules.get(type(obj).__module__)
        record = self._records.get(_normalise(name))
        return {
            "class": type(obj).__name__,
            "python module": getattr(module, "__file__", None),
            "is ready ?": str(obj.is_ready()),
            "commands": {
                c.name(): {"type": type(c).__name__, "source": c.source}
                for c in obj.get_commands()
            },
            "channels": {
                c.name(): {
                    "type": type(c).__name__,
                    "source": c.source,
                    "connected ?": "yes" if c.is_connected() else "no",
                }
                for c in obj.get_channels()
            },
            "file": record.file if record is not None else "",
            "status": record.status if record is not None else "",
        }

    def parse_xml(self, xml_string: str | bytes, name: str) -> HardwareObject | None:
        """Build, initialise and hold object ``name`` from an XML text.

        The text gets the same checks as a file; the object replaces any
        loaded under that name. Returns ``None`` (the failure recorded and
        logged) if it does not load, or raises in strict mode.

        :raises ConfigError: strict mode, the object failed.
        """
        key = _normalise(name)
        data = xml_string.encode("utf-8") if isinstance(xml_string, str) else xml_string
        if key in self._objects or key in self._failed:
            self.discard_hardware_object(key)
        record = LoadRecord(name=key, file="<xml string>")
        self._records[key] = record
        started = time.perf_counter()
        try:
            root_element = parse_bytes(data, f"<xml string for {key}>")
            record.class_name = root_element.get("class") or "HardwareObject"
            built = build(
                root_element, key, "<xml string>", self._make_object, HardwareObjectNode
            )
            self._loading.append(key)
            try:
                for ref in built.references:
                    self.get_hardware_object(ref.target, optional=True)
                self._finish_step(key, built, record)
            finally:
                self._loading.remove(key)
        except ConfigError as exc:
            self._fail(key, record, exc)
            if self.strict:
                raise
            return None
        finally:
            record.load_time = time.perf_counter() - started
        self._send("hardwareObjectLoaded", (key,))
        return self._objects[key]

    def reload_hardware_objects(self) -> list[str]:
        """Re-import the changed modules of loaded objects and reload those objects.

        A module is changed when its file is newer than when it was imported.
        Each object of such a class is reloaded as by
        :meth:`reload_hardware_object` (receivers carried over). Returns the
        names reloaded; a failure is recorded for that object and the others
        go on.
        """
        changed = sorted(
            name
            for name, seen in self._module_times.items()
            if _module_mtime(name) not in (None, seen)
        )
        reloaded: list[str] = []
        for module_name in changed:
            importlib.reload(sys.modules[module_name])
            self._module_times[module_name] = _module_mtime(module_name)
            self._classes.forget()
            for name, obj in list(self._objects.items()):
                if type(obj).__module__ == module_name:
                    try:
                        self.reload_hardware_object(name)
                        reloaded.append(name)
                    except ConfigError:
                        log.exception("reloading %s failed", name)
        return reloaded

    def update(self, name: str, updates: Iterable[tuple[str, Any]]) -> None:
        """Set properties of object ``name`` and write them to its file.

        :param updates: ``(property path or name, value)`` pairs; the last
            ``/`` part of a path is the property name.
        :raises ConfigError: the object is not loaded from a file.
        """
        obj = self.get_hardware_object(name)
        if obj is None:
            return
        for path, value in updates:
            obj.set_property(str(path).rsplit("/", 1)[-1], value)
        obj.commit_changes()

    def rewrite_xml(self, name: str, xml: str | bytes) -> None:
        """Replace the file of loaded object ``name`` (used on its next load)."""
        obj = self.get_hardware_object(name)
        if obj is not None:
            obj.rewrite_xml(xml)

    # -- pre-2020 names ----------------------------------------------------------
    getHardwareObject = get_hardware_object
    getEquipment = get_equipment
    getDevice = get_device
    getProcedure = get_procedure
    getEquipments = get_equipments
    getDevices = get_devices
    getProcedures = get_procedures
    isDevice = is_device
    isEquipment = is_equipment
    isProcedure = is_procedure
    getInfo = get_info
    parseXML = parse_xml
    findInRepository = find_in_repository
    requireHardwareObjects = require
    rewriteXml = rewrite_xml

    def has_hardware_object(self, name: str) -> bool:
        """Return whether ``name`` is loaded (successfully)."""
        return _normalise(name) in self._objects

    def is_loaded(self, name: str) -> bool:
        """Return whether ``name`` is loaded (successfully)."""
        return self.has_hardware_object(name)

    @property
    def hardware_objects(self) -> dict[str, HardwareObject]:
        """The loaded objects by name (a copy)."""
        return dict(self._objects)

    def load_all(self) -> list[LoadRecord]:
        """Load every object file of the path; return the summary rows.

        :raises ConfigError: in strict mode, the first problem.
        """
        for name in self.names():
            self.get_hardware_object(name, optional=not self.strict)
        return self.summary()

    # -- loading --------------------------------------------------------------
    def _get(self, name: str) -> HardwareObject:
        obj = self._objects.get(name)
        if obj is not None:
            return obj
        if name in self._aliases:
            return self._get(self._aliases[name])
        failed = self._failed.get(name)
        if failed is not None:
            raise failed
        if name in self._loading:
            start = self._loading.index(name)
            path = " -> ".join([*self._loading[start:], name])
            raise ConfigError(f"reference cycle: {path}", obj=self._loading[-1])
        self._load(name)
        return self._get(name)

    def _settled(self, name: str) -> bool:
        return name in self._objects or name in self._failed or name in self._aliases

    def _load(self, name: str) -> None:
        """Load ``name`` and the objects it references, dependencies first.

        Iterative depth-first walk (no recursion, so a chain of references of
        any length loads): an object is parsed when first met, and finished
        (references attached, items created, ``init()``) once every target it
        references is settled (loaded or failed).
        """
        # Each frame: [name, record, started, built or None, pending targets]
        stack: list[list[Any]] = []

        def push(target: str) -> None:
            record = LoadRecord(name=target)
            self._records[target] = record
            self._loading.append(target)
            stack.append([target, record, time.perf_counter(), None, None])

        push(name)
        try:
            while stack:
                frame = stack[-1]
                current, record, started, built, pending = frame
                try:
                    if built is None:
                        built = frame[3] = self._parse_step(current, record)
                        targets = [r.target for r in built.references]
                        if built.alias is not None:
                            targets = [built.alias]
                        pending = frame[4] = targets
                    while pending:
                        target = pending.pop(0)
                        if not self._settled(target) and target not in self._loading:
                            push(target)
                            break
                    else:
                        self._finish_step(current, built, record)
                        self._done(stack, record, started)
                except ConfigError as exc:
                    self._fail(current, record, exc)
                    self._done(stack, record, started)
                    if built is not None:
                        self._shutdown_built(current, built)
                    if self.strict:
                        raise
        finally:
            for frame in stack:  # left only when strict mode raised
                self._loading.remove(frame[0])

    def _done(self, stack: list[list[Any]], record: LoadRecord, started: float) -> None:
        frame = stack.pop()
        self._loading.remove(frame[0])
        record.load_time = time.perf_counter() - started
        if record.status != FAILED:
            if record.warnings:
                record.status = WARNING
            self._send("hardwareObjectLoaded", (record.name,))

    def _fail(self, name: str, record: LoadRecord, exc: ConfigError) -> None:
        error = exc
        if exc.obj is None or exc.file is None:
            error = ConfigError(
                exc.message,
                file=exc.file or record.file or None,
                line=exc.line,
                obj=exc.obj or name,
            )
            error.__cause__ = exc.__cause__
        record.status = FAILED
        record.errors.append(error)
        self._failed[name] = error
        log.error("%s", error, exc_info=_cause_traceback(error))

    def _problem(self, record: LoadRecord, warning: ConfigError) -> None:
        if self.strict:
            raise warning
        log.warning("%s", warning, exc_info=_cause_traceback(warning))
        record.warnings.append(warning)

    def _parse_step(self, name: str, record: LoadRecord) -> Built:
        file = self.find_file(name)
        if file is None:
            raise ConfigError(
                f"no file {name[1:]}.xml in {os.pathsep.join(self.path)}", obj=name
            )
        record.file = file
        root_element = parse_file(file)
        default = _DEFAULT_CLASSES.get(root_element.tag, HardwareObject)
        record.class_name = root_element.get("class") or default.__name__
        return build(root_element, name, file, self._make_object, HardwareObjectNode)

    def _finish_step(self, name: str, built: Built, record: LoadRecord) -> None:
        file = record.file
        if built.alias is not None:
            record.class_name = f"alias of {built.alias}"
            try:
                self._get(built.alias)
            except ConfigError as exc:
                raise ConfigError(
                    f"alias of {built.alias} failed: {exc}", file=file, obj=name
                ) from exc
            self._aliases[name] = built.alias
            return
        self._resolve_references(name, file, built, record)
        for warning in built.warnings:
            self._problem(record, warning)
        for obj in built.objects:
            obj.set_lookup_face(
                self.compatible, functools.partial(self._record_miss, name)
            )
            for error in obj.create_declared_items():
                self._problem(record, error)
        for obj in built.objects:
            try:
                obj.run_init_steps()
            except Exception as exc:
                raise ConfigError(
                    f"{type(obj).__name__}.init() of {obj.name()} raised {exc!r}",
                    file=file,
                    line=obj.config_line,
                    obj=name,
                ) from exc
        self._objects[name] = built.root
        self._built[name] = built
        for obj in built.objects:
            module_name = type(obj).__module__
            if module_name not in self._module_times:
                self._module_times[module_name] = _module_mtime(module_name)

    def _make_object(
        self, class_name: str | None, obj_name: str, tag: str = "object"
    ) -> HardwareObjectNode:
        if class_name is None:
            return _DEFAULT_CLASSES.get(tag, HardwareObject)(obj_name)
        cls = self.resolve_class(class_name)
        # A bare HardwareObjectNode has no channels, commands or init(): as a
        # class= it broke load_all() (issue 17); a YAML ConfiguredObject is a
        # node too.
        if not issubclass(cls, HardwareObject):
            hint = (
                " (a YAML-configured object: name it in a .yml file)"
                if issubclass(cls, HardwareObjectNode)
                else ""
            )
            raise ConfigError(
                f"class={class_name!r} resolves to {cls!r}, not a HardwareObject{hint}"
            )
        try:
            return cls(obj_name)
        except Exception as exc:
            raise ConfigError(f"{class_name}({obj_name!r}) raised {exc!r}") from exc

    def _resolve_references(
        self, name: str, file: str, built: Built, record: LoadRecord
    ) -> None:
        for ref in built.references:
            role = ref.role or ref.tag
            if ref.target in self._loading:
                start = self._loading.index(ref.target)
                path = " -> ".join([*self._loading[start:], ref.target])
                raise ConfigError(
                    f"reference cycle: {path} (role {role!r})",
                    file=file,
                    line=ref.line,
                    obj=name,
                )
            try:
                target = self._get(ref.target)
            except ConfigError as exc:
                missing = (
                    ref.target not in self._records
                    or not self._records[ref.target].file
                )
                what = "does not exist" if missing else "failed to load"
                self._problem(
                    record,
                    ConfigError(
                        f"reference role {role!r} of {name} -> {ref.target} {what}: "
                        f"{exc}",
                        file=file,
                        line=ref.line,
                        obj=name,
                    ),
                )
                ref.owner.add_object(ref.tag, None, None)
                continue
            ref.owner.add_object(ref.tag, target, ref.role)

    # -- discard, reload ------------------------------------------------------
    def discard_hardware_object(self, name: str) -> None:
        """Forget ``name``: shut it down, drop it and its failure record.

        Objects that referenced it keep their reference to the old instance
        (use :meth:`reload_hardware_object` to replace it everywhere). Emits
        ``hardwareObjectDiscarded(name)``. Owning thread.
        """
        key = _normalise(name)
        built = self._built.pop(key, None)
        self._objects.pop(key, None)
        self._failed.pop(key, None)
        self._aliases.pop(key, None)
        self._records.pop(key, None)
        if built is not None:
            self._shutdown_built(key, built)
        self._send("hardwareObjectDiscarded", (key,))

    def reload_hardware_object(self, name: str) -> HardwareObject:
        """Load ``name`` again from its file and put it in place of the old one.

        Receivers connected to the old object's signals (other than its own
        methods) are connected to the new one, whose ``connect_notify`` is then
        called for each signal so it can re-emit its values; objects and
        nodes of every loaded file that referenced the old instance (also
        inside plain child nodes) get the new one under the same role, before
        those signals are re-emitted. Receivers connected to the old object's
        commands and channels are not carried over (those items are closed).
        Owning thread.

        :raises ConfigError: the new load failed (the old object is already
            shut down; the failure is recorded as for any load).
        """
        key = _normalise(name)
        old = self._objects.get(key)
        table = old.receivers_snapshot() if old is not None else {}
        self.discard_hardware_object(key)
        new = self._get(key)
        if old is None:
            return new
        # References first, so that receivers re-notified below (an Equipment
        # recomputing its state) already see the new instance.
        for node in self._all_nodes():
            if node is not new:
                node.replace_references(old, new)
        for signal, receivers in table.items():
            for receiver in receivers:
                func = receiver.get()
                if func is None or getattr(func, "__self__", None) is old:
                    continue
                new.add_signal_receiver(signal, func, receiver.weak is not None)
            new.connect_notify(signal)
        return new

    def _all_nodes(self) -> list[HardwareObjectNode]:
        """Every object and plain node of every loaded file (each once)."""
        nodes: list[HardwareObjectNode] = []
        seen: set[int] = set()
        for built in self._built.values():
            pending: list[HardwareObjectNode] = list(built.objects)
            while pending:
                node = pending.pop()
                if id(node) in seen:
                    continue
                seen.add(id(node))
                nodes.append(node)
                pending.extend(
                    child
                    for child in node.child_nodes()
                    if not isinstance(child, HardwareObject)
                )
        return nodes

    # -- summary --------------------------------------------------------------
    def summary(self) -> list[LoadRecord]:
        """Return one row per object loaded or attempted, in load order."""
        return list(self._records.values())

    def summary_data(self) -> list[dict[str, Any]]:
        """Return the summary as plain dictionaries (see :meth:`LoadRecord.as_dict`)."""
        return [r.as_dict() for r in self._records.values()]

    def summary_text(self) -> str:
        """Return the summary as a text table.

        Columns: object, class, file, load time (ms), status, error.
        """
        rows = [("object", "class", "file", "ms", "status", "error")]
        for r in self._records.values():
            file = os.path.basename(r.file) if r.file else "-"
            rows.append(
                (
                    r.name,
                    r.class_name or "-",
                    file,
                    f"{r.load_time * 1000:.1f}",
                    r.status,
                    r.error.replace("\n", " "),
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(5)]
        lines = []
        for row in rows:
            cells = [row[i].ljust(widths[i]) for i in range(5)]
            lines.append("  ".join([*cells, row[5]]).rstrip())
        return "\n".join(lines)

    def print_report(self) -> None:
        """Log the summary table at INFO level."""
        log.info("hardware objects:\n%s", self.summary_text())

    hasHardwareObject = has_hardware_object
    isHardwareObjectLoaded = is_loaded
    discardHardwareObject = discard_hardware_object
    reloadHardwareObject = reload_hardware_object
    reloadHardwareObjects = reload_hardware_objects
    printReport = print_report

    # -- shutdown -------------------------------------------------------------
    def _shutdown_built(
        self, name: str, built: Built, deadline: float | None = None
    ) -> list[str]:
        """Shut down the objects of one file, each within the time left.

        :param deadline: ``time.monotonic()`` by which to be done; default
            :data:`_OBJECT_SHUTDOWN_TIMEOUT` from now. An object whose
            ``shutdown()`` waits (cooperatively) past it is interrupted; each
            object gets at least :data:`_MIN_SHUTDOWN_SLICE` seconds.
        :returns: the problems met (also logged).
        """
        if deadline is None:
            deadline = time.monotonic() + _OBJECT_SHUTDOWN_TIMEOUT
        problems: list[str] = []
        for obj in built.objects:
            allowed = max(_MIN_SHUTDOWN_SLICE, deadline - time.monotonic())
            overrun = Timeout(
                f"shutdown of {obj.name()} ({name}) did not finish in {allowed:.3g} s"
            )
            try:
                with gevent.Timeout(allowed, overrun):
                    obj.shutdown()
            except Timeout as exc:
                if exc is not overrun:
                    raise
                log.error("%s", exc)
                problems.append(str(exc))
            except Exception as exc:
                log.exception("shutdown of %s (%s) failed", obj.name(), name)
                problems.append(f"shutdown of {obj.name()} ({name}) failed: {exc!r}")
        return problems

    def shutdown(self, timeout: float = 5.0) -> list[str]:
        """Stop everything: objects' channels, subscriptions and commands, pollers.

        Objects are shut down in reverse load order (``HardwareObject.shutdown``
        closes their commands and channels); an object's ``shutdown()`` still
        waiting when the time is spent is interrupted (``Timeout`` at its
        cooperative wait) and reported; each object gets at least 0.05 s. A
        call that blocks the thread without yielding cannot be interrupted.
        Then the pollers and the Poller's threads are stopped (the repository
        shuts down the process's polling service), then greenlets started on behalf
        of other threads are killed. Owning thread. Idempotent.

        :param timeout: seconds allowed for the whole shutdown; a step that
            overruns it is reported.
        :returns: the problems met (also logged), empty if all went well.
        """
        if self._closed:
            log.info("shutdown: already shut down; nothing to do")
            return []
        self._closed = True
        deadline = time.monotonic() + timeout
        problems: list[str] = []
        for node in reversed(self._yaml_objects):
            if isinstance(node, HardwareObject):
                try:
                    node.shutdown()
                except Exception as exc:
                    log.exception("shutdown of %s failed", node.name)
                    problems.append(f"shutdown of {node.name} failed: {exc!r}")
        self._yaml_objects.clear()
        for name in reversed(list(self._built)):
            problems.extend(self._shutdown_built(name, self._built[name], deadline))
        self._built.clear()
        self._objects.clear()
        problems.extend(lingering(max(0.0, deadline - time.monotonic())))
        remaining = max(0.0, deadline - time.monotonic())
        problems.extend(_stop_pollers(remaining))
        self._launcher.kill_all(timeout=max(0.0, deadline - time.monotonic()))
        if time.monotonic() > deadline:
            problems.append(f"shutdown took longer than {timeout} s")
        for problem in problems:
            log.warning("shutdown: %s", problem)
        self._clear_receivers()
        return problems


def _mxcubecore_installed() -> bool:
    """Whether ``compat.mxcubecore.install()`` is in effect (without importing it)."""
    compat = sys.modules.get("HardwareRepository.compat.mxcubecore")
    return compat is not None and bool(compat.installed())


def _module_mtime(module_name: str) -> float | None:
    """Return the mtime of a loaded module's file, ``None`` if it has none."""
    file = getattr(sys.modules.get(module_name), "__file__", None)
    if not file or not os.path.exists(file):
        return None
    return os.path.getmtime(file)


def _cause_traceback(error: BaseException) -> BaseException | None:
    """Return what ``exc_info=`` needs to log the traceback behind ``error``.

    ``exc_info=True`` outside an ``except`` block logs ``NoneType: None``;
    passing the cause logs its own traceback (issue 17).
    """
    return error.__cause__


def _stop_pollers(timeout: float) -> list[str]:
    """Stop every poller and the Poller's threads (the polling service).

    Pollers are process-wide (:func:`HardwareRepository.Poller.shutdown`), so
    this also stops pollers started outside the repository's objects. The
    service is imported here, not with this module: a repository whose
    objects never poll does not pay for it.
    """
    from ._polling import polling_service

    try:
        ended = polling_service().shutdown(timeout)
    except Exception as exc:
        log.exception("stopping the pollers failed")
        return [f"stopping the pollers failed: {exc!r}"]
    if not ended:
        return [f"poller threads still running after {timeout:.3g} s"]
    return []


# -- YAML configuration --------------------------------------------------------
def _set_beamline(obj: HardwareObjectNode) -> None:
    global beamline
    beamline = obj


def load_from_yaml(
    configuration_file: str,
    role: str,
    _container: HardwareObjectNode | None = None,
    _table: list[LoadRecord] | None = None,
) -> HardwareObjectNode | None:
    """Load the object of a YAML file and, in order, the objects it names.

    See :meth:`YamlLoader.load <HardwareRepository._yaml_loading.YamlLoader.load>`;
    loading ``beamline_config.yml`` (no container) sets :data:`beamline`
    before the beamline's ``_init()``, so objects can reach it while loading.

    :raises ConfigError: the top file is missing, not valid YAML, names no
        class, or its class fails (the message names file and line).
    :raises HardwareRepositoryError: no repository (call
        :func:`init_hardware_repository` first).
    """
    from ._yaml_loading import YamlLoader  # only repositories with YAML files pay

    loader = YamlLoader(get_hardware_repository(), on_top=_set_beamline)
    return loader.load(configuration_file, role, _container, _table)


# -- the process-wide repository ----------------------------------------------
_instance: HardwareRepository | None = None

# Directories given to add_hardware_objects_dirs before a repository exists.
_pending_dirs: list[str] = []


def init_hardware_repository(
    path: str | os.PathLike[str] | Iterable[Any],
    *,
    hardware_objects_dirs: Iterable[str] = (),
    strict: bool = False,
    compatible: bool | None = None,
) -> HardwareRepository:
    """Create the process-wide repository (shutting down a previous one).

    Then, as mxcubecore does, if the path holds ``beamline_config.yml``, load
    it into :data:`beamline` and call the beamline's ``_hwr_init_done()``. A
    beamline file that fails is logged and recorded (strict mode raises);
    the repository is usable all the same.

    Call it in the thread that owns the hardware objects. See
    :class:`HardwareRepository` for the parameters; directories given to
    :func:`add_hardware_objects_dirs` before are searched first.

    :raises ConfigError: strict mode, the beamline file failed.
    """
    global _instance, beamline
    if _instance is not None:
        _instance.shutdown()
    beamline = None
    _instance = HardwareRepository(
        path,
        hardware_objects_dirs=[*_pending_dirs, *hardware_objects_dirs],
        strict=strict,
        compatible=compatible,
    )
    _current.set_current(_instance)
    if _instance.find_in_repository(BEAMLINE_CONFIG_FILE) is not None:
        try:
            load_from_yaml(BEAMLINE_CONFIG_FILE, role="beamline")
        except ConfigError:
            if strict:
                raise
            beamline = None
        else:
            _init_done(_instance, beamline)
    return _instance


def _init_done(repository: HardwareRepository, obj: Any) -> None:
    """Call the beamline's ``_hwr_init_done()``; a failure is recorded, not fatal."""
    init_done = getattr(obj, "_hwr_init_done", None)
    if init_done is None:
        return
    try:
        init_done()
    except Exception as exc:
        error = ConfigError(
            f"{type(obj).__name__}._hwr_init_done() raised {exc!r}",
            file=getattr(obj, "config_file", None),
            obj="beamline",
        )
        log.error("%s", error, exc_info=exc)
        if repository.strict:
            raise error from exc
        for record in repository.summary():
            if record.role == "beamline":
                record.warnings.append(error)
                if record.status == OK:
                    record.status = WARNING


def get_hardware_repository() -> HardwareRepository:
    """Return the process-wide repository.

    :raises HardwareRepositoryError: :func:`init_hardware_repository` was not
        called (or the repository was uninitialised).
    """
    if _instance is None:
        raise HardwareRepositoryError(
            "no hardware repository: call init_hardware_repository(path) first"
        )
    return _instance


def uninit_hardware_repository(timeout: float = 5.0) -> None:
    """Shut down and forget the process-wide repository and :data:`beamline`."""
    global _instance, beamline
    instance, _instance = _instance, None
    beamline = None
    _current.set_current(None)
    if instance is not None:
        instance.shutdown(timeout)


def add_hardware_objects_dirs(dirs: str | Iterable[str]) -> None:
    """Search ``dirs`` for hardware-object classes first (mxCuBE's call).

    Applies to the process-wide repository and to the next one created by
    :func:`init_hardware_repository` (mxcubeqt calls it before). Directories
    that do not exist are ignored.
    """
    if isinstance(dirs, str):
        dirs = [d for d in dirs.split(os.pathsep) if d]
    existing = [os.path.abspath(d) for d in dirs if os.path.isdir(d)]
    for directory in existing:
        if directory not in _pending_dirs:
            _pending_dirs.append(directory)
    if _instance is not None:
        _instance.add_hardware_objects_dirs(existing)


def set_user_file_directory(user_file_directory: str) -> None:
    """Set the directory where hardware objects keep user files."""
    HardwareObjectNode.set_user_file_directory(user_file_directory)


def setHardwareRepositoryServer(path: str) -> HardwareRepository:
    """Pre-2020 start-up call: the configuration path (there is no server)."""
    return init_hardware_repository(path)


getHardwareRepository = get_hardware_repository  # noqa: N816 (pre-2020 name)
addHardwareObjectsDirs = add_hardware_objects_dirs  # noqa: N816 (pre-2020 name)
setUserFileDirectory = set_user_file_directory  # noqa: N816 (pre-2020 name)
loadFromYaml = load_from_yaml  # noqa: N816 (pre-2020 name)
