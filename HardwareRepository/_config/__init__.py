"""XML configuration: a safe lxml parser and the value conversion rules."""

from ._build import Built, Reference, build, resolve_reference
from ._classes import ClassResolver
from ._parser import parse_bytes, parse_file
from ._values import convert_value

__all__ = [
    "Built",
    "ClassResolver",
    "Reference",
    "build",
    "convert_value",
    "parse_bytes",
    "parse_file",
    "resolve_reference",
]
