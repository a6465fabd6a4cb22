"""XML configuration: a safe lxml parser and the value conversion rules.

YAML files (``beamline_config.yml``) are read by :mod:`.yaml_files`, imported
on its own so that PyYAML is loaded only when YAML is used.
"""

from ._build import Built, Reference, build, resolve_reference
from ._classes import ClassResolver
from ._parser import parse_bytes, parse_file
from ._rewrite import update_properties
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
    "update_properties",
]
