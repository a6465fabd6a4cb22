"""Read a YAML object configuration (``beamline_config.yml`` and the files it names).

Two layouts are accepted, as mxcubecore wrote them over the years::

    class: mxcubecore.HardwareObjects.Beamline.Beamline     # 2.x
    objects: !!omap                 # or a plain mapping; order is load order
      - session: session.xml
      - energy: energy.yml
    configuration: {tunable_wavelength: true}

    _initialise_class: {class: HardwareObjects.Beamline.Beamline}   # before
    _objects: !!omap
      - energy: energy.xml
    tunable_wavelength: true        # the other top-level keys: configuration

The text is read with PyYAML's *safe* loader: only plain data (mappings,
lists, strings, numbers, booleans, dates); a tag that would build a Python
object (``!!python/object/apply:os.system``) is refused. Every error names the
file and the line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from ..errors import ConfigError

__all__ = ["YamlConfig", "YamlEntry", "read_yaml_config"]


@dataclass
class YamlEntry:
    """One ``role: file`` entry of ``objects``."""

    role: str
    file: str
    line: int


@dataclass
class YamlConfig:
    """A YAML object configuration, read and checked.

    :param class_name: the dotted class path (``class`` or
        ``_initialise_class.class``).
    :param init_kwargs: the other keys of ``_initialise_class`` (old layout),
        passed to the constructor.
    :param configuration: the configuration values.
    :param objects: the contained objects, in load order.
    """

    file: str
    class_name: str
    class_line: int
    init_kwargs: dict[str, Any] = field(default_factory=dict)
    configuration: dict[str, Any] = field(default_factory=dict)
    objects: list[YamlEntry] = field(default_factory=list)


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _pairs(node: yaml.Node, file: str) -> list[tuple[yaml.Node, yaml.Node]]:
    """Return the (key, value) nodes of a mapping or of an ``!!omap`` sequence."""
    if isinstance(node, yaml.MappingNode):
        return list(node.value)
    if isinstance(node, yaml.SequenceNode):
        pairs: list[tuple[yaml.Node, yaml.Node]] = []
        for item in node.value:
            if not isinstance(item, yaml.MappingNode) or len(item.value) != 1:
                raise ConfigError(
                    "objects: each list item must be one 'role: file' pair",
                    file=file,
                    line=_line(item),
                )
            pairs.append(item.value[0])
        return pairs
    raise ConfigError(
        "objects must map roles to files (a mapping or an !!omap list)",
        file=file,
        line=_line(node),
    )


def _entries(node: yaml.Node, file: str) -> list[YamlEntry]:
    entries: list[YamlEntry] = []
    seen: dict[str, int] = {}
    for key, value in _pairs(node, file):
        if not isinstance(key, yaml.ScalarNode) or not isinstance(
            value, yaml.ScalarNode
        ):
            raise ConfigError(
                "objects: each entry must be 'role: file.xml' or 'role: file.yml'",
                file=file,
                line=_line(key),
            )
        role = str(key.value)
        if role in seen:
            raise ConfigError(
                f"objects: role {role!r} given twice (first at line {seen[role]})",
                file=file,
                line=_line(key),
            )
        seen[role] = _line(key)
        entries.append(YamlEntry(role=role, file=str(value.value), line=_line(key)))
    return entries


def _load(text: str, file: str) -> tuple[yaml.Node | None, Any]:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        if isinstance(exc, yaml.constructor.ConstructorError):
            problem += " (only plain data is read: safe loader)"
        raise ConfigError(f"YAML: {problem}", file=file, line=line) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"YAML: {exc}", file=file) from None
    finally:
        loader.dispose()
    return node, data


def read_yaml_config(path: str) -> YamlConfig:
    """Read and check the YAML object configuration in ``path``.

    :raises ConfigError: unreadable file, YAML syntax error, a tag that is not
        plain data, no class, or a malformed ``objects`` map; the message
        names the file and the line.
    """
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", file=path) from None
    node, data = _load(text, path)
    if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode):
        line = _line(node) if node is not None else None
        raise ConfigError("expected a mapping at the top", file=path, line=line)
    nodes = {
        str(k.value): (k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode)
    }

    init_kwargs: dict[str, Any] = {}
    if "_initialise_class" in data:
        initialise = data.pop("_initialise_class")
        key_node = nodes["_initialise_class"][0]
        if not isinstance(initialise, dict) or "class" not in initialise:
            raise ConfigError(
                "_initialise_class must be a mapping with a 'class' key",
                file=path,
                line=_line(key_node),
            )
        init_kwargs = dict(initialise)
        class_name = init_kwargs.pop("class")
        class_line = _line(key_node)
        objects_key = "_objects"
    elif "class" in data:
        class_name = data.pop("class")
        class_line = _line(nodes["class"][0])
        objects_key = "objects"
    else:
        raise ConfigError(
            "no 'class' (or '_initialise_class') key: which class is this object?",
            file=path,
            line=_line(node),
        )
    if not isinstance(class_name, str) or not class_name:
        raise ConfigError(
            f"class must be a dotted class path, not {class_name!r}",
            file=path,
            line=class_line,
        )
    objects: list[YamlEntry] = []
    for key in ("_objects", "objects"):
        if key in data:
            if key != objects_key:
                raise ConfigError(
                    f"{key!r} does not go with this layout (use {objects_key!r})",
                    file=path,
                    line=_line(nodes[key][0]),
                )
            data.pop(key)
            objects = _entries(nodes[key][1], path)
    if objects_key == "objects":
        configuration = data.pop("configuration", None) or {}
        if not isinstance(configuration, dict):
            raise ConfigError(
                "configuration must be a mapping",
                file=path,
                line=_line(nodes["configuration"][0]),
            )
        if data:
            extra = sorted(str(k) for k in data)
            raise ConfigError(
                f"unknown top-level keys {extra} (configuration values go "
                "under 'configuration:')",
                file=path,
                line=_line(nodes[extra[0]][0]) if extra[0] in nodes else None,
            )
    else:
        configuration = data
    return YamlConfig(
        file=path,
        class_name=class_name,
        class_line=class_line,
        init_kwargs=init_kwargs,
        configuration={str(k): v for k, v in configuration.items()},
        objects=objects,
    )
