"""One row of a repository's load summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError

__all__ = ["FAILED", "OK", "WARNING", "LoadRecord"]

OK, WARNING, FAILED = "ok", "warning", "failed"


@dataclass
class LoadRecord:
    """One row of the load summary.

    :param load_time: seconds, including the objects it references that were
        loaded on its behalf.
    :param status: ``"ok"``, ``"warning"`` (loaded, with problems) or
        ``"failed"`` (not available).
    :param role: the role a YAML container gave the object (``"energy"``).
    :param missing_lookups: lookups of absent items answered with ``None``
        (mxcubecore face), one message each.
    """

    name: str
    class_name: str = ""
    file: str = ""
    load_time: float = 0.0
    status: str = OK
    errors: list[ConfigError] = field(default_factory=list)
    warnings: list[ConfigError] = field(default_factory=list)
    role: str = ""
    missing_lookups: list[str] = field(default_factory=list)

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
            "role": self.role,
            "missing_lookups": list(self.missing_lookups),
        }
