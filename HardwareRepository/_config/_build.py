"""Turn a parsed XML element tree into hardware objects (no repository logic).

Grammar (see ``docs/xml-format.md``):

* the root element, any tag, optional ``class=`` -> the object;
* ``href=`` / ``hwrid=`` on any element -> a reference (resolved by the
  repository), with its ``role=``;
* ``<command>`` / ``<channel>`` with a ``type`` (attribute or ``<type>``
  child) -> a declared command or channel of the enclosing object;
* nested ``<device>`` / ``<equipment>`` / ``<procedure>`` -> child objects
  (``class=`` optional);
* any other element with child elements -> a child node;
* a leaf element -> a property (converted; repeated -> list).
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from ..errors import ConfigError
from ._values import convert_value

__all__ = ["Built", "Reference", "build", "resolve_reference"]

OBJECT_TAGS = frozenset({"device", "equipment", "procedure"})
ITEM_TAGS = frozenset({"command", "channel"})


@dataclass
class Reference:
    """One ``href``/``hwrid`` element, to be resolved by the repository."""

    owner: Any
    role: str | None
    target: str
    tag: str
    line: int | None


@dataclass
class Built:
    """What one file produced."""

    root: Any
    #: every hardware object of the file, nested ones first, the root last
    objects: list[Any] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    #: ``<hwr_import href=...>``: the name this file is an alias of
    alias: str | None = None
    #: problems that do not stop the load (a duplicate item name...)
    warnings: list[ConfigError] = field(default_factory=list)
    # (id of the owner, tag, item name) -> line of its first declaration
    item_lines: dict[tuple[int, str, str], int | None] = field(default_factory=dict)


def resolve_reference(href: str, current: str) -> str:
    """Return the object name that ``href`` designates from object ``current``.

    ``/x`` is absolute, ``x`` means ``/x``. ``./x`` is taken relative to the
    directory of ``current`` and ``../x`` relative to ``current`` itself, so
    from ``/sub/child`` both give ``/sub/x`` (mxCuBE's behaviour, kept so that
    existing files keep their meaning).

    :raises ConfigError: the result leaves the configuration root.
    """
    href = href.strip()
    if href.startswith("./") or href.startswith("../"):
        base = posixpath.dirname(current)
        rest = href[2:] if href.startswith("./") else href[3:]
        target = posixpath.join(base or "/", rest)
    elif href.startswith("/"):
        target = href
    else:
        target = "/" + href
    normal = posixpath.normpath(target)
    if normal.startswith("/..") or normal in ("/", "/."):
        raise ConfigError(f"reference {href!r} does not name an object")
    if normal.endswith(".xml"):
        normal = normal[:-4]
    return normal


def _item_from_element(
    element: etree._Element, obj_name: str, file: str
) -> tuple[dict[str, Any], str]:
    """Return (attributes, text) of a short- or long-notation command/channel."""
    attrs: dict[str, Any] = {}
    for key, value in element.attrib.items():
        attrs[key] = value if key == "name" else convert_value(value)
    text = (element.text or "").strip()
    arguments: list[dict[str, Any]] = []
    for child in element:
        if not isinstance(child.tag, str):
            continue
        if child.tag == "argument":
            arguments.append(_argument(child))
        elif child.tag == "name":
            attrs["name"] = (child.text or "").strip()
        elif child.tag == "toexecute":
            text = (child.text or "").strip()
        elif len(child) == 0:
            attrs[child.tag] = convert_value(child.text)
        else:
            raise ConfigError(
                f"unexpected element <{child.tag}> inside <{element.tag}>",
                file=file,
                line=child.sourceline,
                obj=obj_name,
            )
    if arguments:
        attrs["arguments"] = arguments
    return attrs, text


def _argument(element: etree._Element) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    items: list[Any] = []
    for child in element:
        if not isinstance(child.tag, str):
            continue
        if child.tag in ("comboitems", "items"):
            for item in child:
                if isinstance(item.tag, str):
                    item_name = item.findtext("name")
                    item_value = item.findtext("value")
                    if item_name is None and item_value is None:
                        label = (item.text or "").strip()
                        items.append((label, convert_value(label)))
                    else:
                        items.append(
                            ((item_name or "").strip(), convert_value(item_value))
                        )
        else:
            fields[child.tag] = (child.text or "").strip()
    return {
        "argName": fields.get("name", ""),
        "argType": fields.get("type", "str"),
        "combo_items": items or None,
        "onchange": fields.get("onchange") or None,
        "valuefrom": fields.get("valuefrom") or None,
    }


def _is_item(element: etree._Element) -> bool:
    return "type" in element.attrib or element.find("type") is not None


def build(
    root_element: etree._Element,
    name: str,
    file: str,
    make_object: Callable[[str | None, str, str], Any],
    make_node: Callable[[str], Any],
) -> Built:
    """Create the objects of one file.

    :param make_object: ``(class_name or None, object_name, tag) ->
        HardwareObject``; without a class the tag picks the default class
        (``device`` -> ``Device``...); raises :class:`ConfigError` for an
        unknown class.
    :param make_node: ``tag -> HardwareObjectNode`` for plain nested nodes.
    :raises ConfigError: naming ``file``, the line and the object.
    """
    tag = root_element.tag
    if tag == "hwr_import":
        href = root_element.get("href") or root_element.get("hwrid")
        if not href:
            raise ConfigError("<hwr_import> without href=", file=file, line=1, obj=name)
        return Built(root=None, alias=_resolve(href, name, file, root_element))
    root = _instantiate(make_object, root_element, name, file, name)
    built = Built(root=root)
    _walk(root_element, root, root, name, file, built, make_object, make_node)
    built.objects.append(root)
    return built


def _resolve(href: str, name: str, file: str, element: etree._Element) -> str:
    try:
        return resolve_reference(href, name)
    except ConfigError as exc:
        raise ConfigError(
            exc.message, file=file, line=element.sourceline, obj=name
        ) from None


def _instantiate(
    make_object: Callable[[str | None, str, str], Any],
    element: etree._Element,
    obj_name: str,
    file: str,
    root_name: str,
) -> Any:
    class_name = element.get("class")
    try:
        obj = make_object(
            class_name.strip() if class_name else None, obj_name, element.tag
        )
    except ConfigError as exc:
        raise ConfigError(
            exc.message, file=file, line=element.sourceline, obj=root_name
        ) from exc.__cause__
    obj.config_file = file
    obj.config_line = element.sourceline
    return obj


def _walk(
    element: etree._Element,
    node: Any,
    owner: Any,
    name: str,
    file: str,
    built: Built,
    make_object: Callable[[str | None, str, str], Any],
    make_node: Callable[[str], Any],
) -> None:
    """Attach the children of ``element`` to ``node``; ``owner`` holds items."""
    for child in element:
        tag = child.tag
        if not isinstance(tag, str):
            continue
        href = child.get("href") or child.get("hwrid")
        role = child.get("role")
        if href is not None:
            target = _resolve(href, name, file, child)
            built.references.append(
                Reference(node, role, target, tag, child.sourceline)
            )
        elif tag in ITEM_TAGS and _is_item(child):
            attrs, text = _item_from_element(child, name, file)
            line = child.sourceline
            key = (id(owner), tag, str(attrs.get("name")))
            if key in built.item_lines:
                built.warnings.append(
                    ConfigError(
                        f"duplicate {tag} name {key[2]!r} (first declared on line "
                        f"{built.item_lines[key]}): this one is ignored",
                        file=file,
                        line=line,
                        obj=name,
                    )
                )
                continue
            built.item_lines[key] = line
            adder = owner.add_channel if tag == "channel" else owner.add_command
            adder(attrs, text, add_now=False, line=line)
        elif tag in OBJECT_TAGS:
            child_name = child.get("name") or tag
            obj = _instantiate(make_object, child, child_name, file, name)
            _walk(child, obj, obj, name, file, built, make_object, make_node)
            built.objects.append(obj)
            node.add_object(tag, obj, role)
        elif len(child):
            sub = make_node(tag)
            sub.config_file = file
            sub.config_line = child.sourceline
            _walk(child, sub, owner, name, file, built, make_object, make_node)
            node.add_object(tag, sub, role)
        else:
            node._add_property(tag, convert_value(child.text))  # noqa: SLF001 (the loader fills the node it built)
