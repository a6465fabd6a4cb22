"""Build objects from YAML files (``beamline_config.yml``) for a repository.

The file format is read by :mod:`HardwareRepository._config.yaml_files`; this
module makes the objects, loads what they name (XML objects through the
repository, YAML files recursively), attaches them by role and records each
file in the repository's load summary.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from ._load_record import FAILED, OK, WARNING, LoadRecord
from .BaseHardwareObjects import HardwareObject, HardwareObjectNode
from .errors import ConfigError

if TYPE_CHECKING:
    from ._config.yaml_files import YamlEntry

__all__ = ["YamlLoader"]

log = logging.getLogger("HardwareRepository.repository")


class _Repository(Protocol):
    """What the loader needs of a repository."""

    path: list[str]
    strict: bool
    compatible: bool

    def find_in_repository(self, relative_path: str) -> str | None: ...
    def resolve_class(self, class_name: str) -> type: ...
    def get_hardware_object(self, name: str, optional: bool = False) -> Any: ...
    def add_summary_row(self, record: LoadRecord) -> None: ...
    def get_summary_row(self, name: str) -> LoadRecord | None: ...
    def adopt(self, obj: HardwareObjectNode) -> None: ...


class YamlLoader:
    """Load YAML-configured objects into one repository (its owning thread).

    :param repository: where files, classes and XML objects come from, and
        where the summary rows go.
    :param on_top: called with the top object (no container) as soon as it
        exists, before its ``_init()`` (the module sets ``HWR.beamline``).
    """

    def __init__(
        self,
        repository: _Repository,
        on_top: Callable[[HardwareObjectNode], None] | None = None,
    ) -> None:
        self._repository = repository
        self._on_top = on_top

    def load(
        self,
        configuration_file: str,
        role: str,
        container: HardwareObjectNode | None = None,
        table: list[LoadRecord] | None = None,
    ) -> HardwareObjectNode | None:
        """Load the object of a YAML file and, in order, the objects it names.

        The class is instantiated as ``cls(name=role)``; its configuration is
        stored (:meth:`HardwareObjectNode.apply_configuration`); ``_init()``
        runs; then each ``objects`` entry loads in order -- an ``.xml`` file as
        the hardware object of that name, a ``.yml`` file the same way,
        recursively -- and is attached under its role; then ``init()``.

        One bad entry never stops the others: a missing file, a class that
        fails to import, an object that fails, a role the container class
        does not declare (attached all the same) are recorded in the summary
        with file and line, and logged. A problem with the top file raises.

        :param container: the object this one belongs to; ``None`` for the top.
        :param table: the rows of this load (internal, for the summary table).
        :returns: the object, or ``None`` if a nested file failed.
        :raises ConfigError: the top file failed (or any, in strict mode).
        """
        from ._config.yaml_files import read_yaml_config  # PyYAML only when used

        repository = self._repository
        top = container is None
        rows: list[LoadRecord] = [] if table is None else table
        started = time.perf_counter()
        record = LoadRecord(name=role, role=role, file=str(configuration_file))
        rows.append(record)
        repository.add_summary_row(record)
        path = repository.find_in_repository(configuration_file)
        try:
            if path is None:
                raise ConfigError(
                    f"no file {configuration_file} in "
                    f"{os.pathsep.join(repository.path)}",
                    obj=role,
                )
            record.file = path
            config = read_yaml_config(path)
            record.class_name = config.class_name
            cls = repository.resolve_class(config.class_name)
            try:
                obj = cls(name=role, **config.init_kwargs)
            except Exception as exc:
                raise ConfigError(
                    f"{config.class_name}(name={role!r}) raised {exc!r}",
                    file=path,
                    line=config.class_line,
                    obj=role,
                ) from exc
            if not isinstance(obj, HardwareObjectNode):
                raise ConfigError(
                    f"class {config.class_name} is not a hardware object",
                    file=path,
                    line=config.class_line,
                )
            repository.adopt(obj)
            load_name = "/" + os.path.splitext(str(configuration_file))[0].lstrip("/")
            obj.apply_configuration(
                config.configuration,
                file=path,
                line=config.class_line,
                load_name=load_name,
            )
            if isinstance(obj, HardwareObject):
                obj.set_lookup_face(repository.compatible)
            if container is not None:
                obj.set_container(container)  # its role is given once it loaded
            elif self._on_top is not None:
                self._on_top(obj)
            obj._init()
            for entry in config.objects:
                self._load_entry(obj, entry, path, record, rows)
            obj.init()
        except ConfigError as exc:
            error = (
                exc
                if exc.obj
                else ConfigError(exc.message, file=exc.file, line=exc.line, obj=role)
            )
            error.__cause__ = exc.__cause__
            self._failed(record, error)
            if top or repository.strict:
                raise error
            return None
        except Exception as exc:
            error = ConfigError(
                f"{record.class_name} of role {role!r}: _init() or init() raised "
                f"{exc!r}",
                file=path,
                obj=role,
            )
            error.__cause__ = exc
            self._failed(record, error)
            if top or repository.strict:
                raise error from exc
            return None
        finally:
            record.load_time = time.perf_counter() - started
        if record.warnings and record.status == OK:
            record.status = WARNING
        if top:
            log.info("beamline_config:\n%s", summary_table(rows))
        return obj

    @staticmethod
    def _failed(record: LoadRecord, error: ConfigError) -> None:
        record.status = FAILED
        record.errors.append(error)
        log.error("%s", error, exc_info=error.__cause__)

    def _load_entry(
        self,
        container: HardwareObjectNode,
        entry: YamlEntry,
        referrer: str,
        record: LoadRecord,
        rows: list[LoadRecord],
    ) -> None:
        """Load one ``role: file`` entry of a YAML file and attach it."""
        repository = self._repository

        def problem(message: str, cause: BaseException | None = None) -> None:
            error = ConfigError(
                message, file=referrer, line=entry.line, obj=record.role
            )
            error.__cause__ = cause
            if repository.strict:
                raise error
            record.warnings.append(error)
            log.warning("%s", error)

        stem, extension = os.path.splitext(entry.file)
        child: HardwareObjectNode | None
        if extension in (".yml", ".yaml"):
            child = self.load(entry.file, entry.role, container, rows)
            if child is None:
                problem(f"role {entry.role!r}: {entry.file} did not load (see its row)")
                return
        elif extension == ".xml":
            try:
                child = repository.get_hardware_object(stem, optional=False)
            except ConfigError as exc:
                problem(f"role {entry.role!r}: {entry.file}: {exc}", exc)
                return
            if child is None:  # compatible face: already logged and counted
                problem(f"role {entry.role!r}: {entry.file} did not load")
                return
            xml_record = repository.get_summary_row(stem)
            if xml_record is not None:
                xml_record.role = entry.role
        else:
            problem(f"role {entry.role!r}: {entry.file!r} is neither .xml nor .yml")
            return
        if not _knows_role(container, entry.role):
            problem(
                f"No such role {entry.role!r} in class {type(container).__name__} "
                "(attached all the same)"
            )
        container.attach(entry.role, child)


def _knows_role(container: HardwareObjectNode, role: str) -> bool:
    """Whether the container's class declares ``role`` (a property or ROLES)."""
    declared = getattr(type(container), "ROLES", None)
    if declared is not None and role in declared:
        return True
    return isinstance(getattr(type(container), role, None), property)


def summary_table(rows: list[LoadRecord]) -> str:
    """Return mxCuBE's YAML load table: role, class, file, ms, comment."""
    table = [("role", "class", "file", "ms", "comment")]
    for r in rows:
        table.append(
            (
                r.role,
                r.class_name or "-",
                os.path.basename(r.file),
                f"{r.load_time * 1000:.1f}",
                r.error.replace("\n", " "),
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    return "\n".join(
        "  ".join([*(row[i].ljust(widths[i]) for i in range(4)), row[4]]).rstrip()
        for row in table
    )
