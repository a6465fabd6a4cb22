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
"""

from __future__ import annotations

import logging
import os
import posixpath
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import gevent

from ._config import Built, ClassResolver, build, parse_file
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
    "HardwareRepository",
    "LoadRecord",
    "get_hardware_repository",
    "init_hardware_repository",
    "uninit_hardware_repository",
]

log = logging.getLogger("HardwareRepository.repository")

CUSTOM_PATH_ENV = "CUSTOM_HARDWARE_OBJECTS_PATH"

OK, WARNING, FAILED = "ok", "warning", "failed"

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


@dataclass
class LoadRecord:
    """One row of the load summary.

    :param load_time: seconds, including the objects it references that were
        loaded on its behalf.
    :param status: ``"ok"``, ``"warning"`` (loaded, with problems) or
        ``"failed"`` (not available).
    """

    name: str
    class_name: str = ""
    file: str = ""
    load_time: float = 0.0
    status: str = OK
    errors: list[ConfigError] = field(default_factory=list)
    warnings: list[ConfigError] = field(default_factory=list)

    @property
    def error(self) -> str:
        """The first error (or warning) message, ``""`` if none."""
        problems = self.errors or self.warnings
        return str(problems[0]) if problems else ""

    def as_dict(self) -> dict[str, Any]:
        """Return the row as plain data."""
        return {
            "object": self.name,
            "class": self.class_name,
            "file": self.file,
            "load_time": self.load_time,
            "status": self.status,
            "error": self.error,
            "errors": [str(e) for e in self.errors],
            "warnings": [str(w) for w in self.warnings],
        }


def _normalise(name: str) -> str:
    name = str(name).strip()
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


class HardwareRepository(SignalEmitter):
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
    :param strict: raise the first error or warning instead of recording it.
    :raises ConfigError: a directory of ``path`` does not exist, or ``path``
        names none.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | Iterable[Any],
        *,
        hardware_objects_dirs: Iterable[str] = (),
        strict: bool = False,
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
                for filename in filenames:
                    if filename.endswith(".xml"):
                        rel = os.path.relpath(
                            os.path.join(dirpath, filename), directory
                        )
                        found.add("/" + rel[:-4].replace(os.sep, "/"))
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
            return self._launcher.apply(
                self.get_hardware_object, name, optional=optional
            )
        try:
            return self._get(key)
        except ConfigError:
            if optional:
                return None
            raise

    getHardwareObject = get_hardware_object

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
            for error in obj._add_channels_and_commands():
                self._problem(record, error)
        for obj in built.objects:
            try:
                obj._init()
                obj.init()
            except Exception as exc:
                raise ConfigError(
                    f"{type(obj).__name__}.init() of {obj.name()} raised {exc!r}",
                    file=file,
                    line=obj.config_line,
                    obj=name,
                ) from exc
        self._objects[name] = built.root
        self._built[name] = built

    def _make_object(
        self, class_name: str | None, obj_name: str, tag: str = "object"
    ) -> HardwareObjectNode:
        if class_name is None:
            return _DEFAULT_CLASSES.get(tag, HardwareObject)(obj_name)
        cls = self._classes.resolve(class_name)
        # A bare HardwareObjectNode has no channels, commands or init(): as a
        # class= it broke load_all() (issue 17).
        if not issubclass(cls, HardwareObject):
            raise ConfigError(
                f"class={class_name!r} resolves to {cls!r}, not a HardwareObject"
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
        table = dict(old._signal_table or {}) if old is not None else {}
        self.discard_hardware_object(key)
        new = self._get(key)
        if old is None:
            return new
        # References first, so that receivers re-notified below (an Equipment
        # recomputing its state) already see the new instance.
        for node in self._all_nodes():
            if node is new:
                continue
            for role in node.get_roles():
                if node._roles[role] is old:
                    node.replace_object(role, new)
            for items in node._objects.values():  # references without a role
                items[:] = [new if item is old else item for item in items]
            node._objects_order = [
                (tag, new if child is old else child)
                for tag, child in node._objects_order
            ]
            if isinstance(node, HardwareObject):
                node._connections = [
                    (new if sender is old else sender, sig, slot)
                    for sender, sig, slot in node._connections
                ]
        for signal, receivers in table.items():
            for receiver in receivers:
                func = receiver.get()
                if func is None or getattr(func, "__self__", None) is old:
                    continue
                new._add_receiver(signal, func, receiver.strong is None)
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
                    for _tag, child in node._objects_order
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


# -- the process-wide repository ----------------------------------------------
_instance: HardwareRepository | None = None


def init_hardware_repository(
    path: str | os.PathLike[str] | Iterable[Any],
    *,
    hardware_objects_dirs: Iterable[str] = (),
    strict: bool = False,
) -> HardwareRepository:
    """Create the process-wide repository (shutting down a previous one).

    Call it in the thread that owns the hardware objects. See
    :class:`HardwareRepository` for the parameters.
    """
    global _instance
    if _instance is not None:
        _instance.shutdown()
    _instance = HardwareRepository(
        path, hardware_objects_dirs=hardware_objects_dirs, strict=strict
    )
    return _instance


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
    """Shut down and forget the process-wide repository (tests, re-init)."""
    global _instance
    instance, _instance = _instance, None
    if instance is not None:
        instance.shutdown(timeout)
