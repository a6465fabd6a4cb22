"""Parse one hardware-object XML file safely, keeping line numbers.

The lxml parser resolves no entities, loads no DTD, never touches the network
and refuses huge trees. A file that declares a DOCTYPE or uses entity
references is rejected with the line of the offence: hardware-object files
never need them, and an unexpanded entity would silently lose text.
"""

from __future__ import annotations

from lxml import etree

from ..errors import ConfigError

__all__ = ["parse_bytes", "parse_file"]


def _make_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_bytes(data: bytes, file: str) -> etree._Element:
    """Parse ``data`` (the content of ``file``) and return the root element.

    :raises ConfigError: not well-formed, a DOCTYPE, or an entity reference;
        the message names ``file`` and the line.
    """
    try:
        root = etree.fromstring(data, _make_parser())
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno else None
        raise ConfigError(f"malformed XML: {exc.msg}", file=file, line=line) from None
    tree = root.getroottree()
    if tree.docinfo.doctype:
        at = data.find(b"<!DOCTYPE")
        raise ConfigError(
            "DOCTYPE declarations are not allowed (no DTD is loaded and no entity "
            "is expanded)",
            file=file,
            line=data.count(b"\n", 0, at) + 1 if at >= 0 else None,
        )
    for node in root.iter(etree.Entity):
        raise ConfigError(
            f"entity reference {node.text} is not allowed (entities are never "
            "expanded)",
            file=file,
            line=node.sourceline,
        )
    return root


def parse_file(path: str) -> etree._Element:
    """Read and parse the file at ``path``; see :func:`parse_bytes`.

    :raises ConfigError: the file cannot be read or is not acceptable XML.
    """
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise ConfigError(f"cannot read file: {exc.strerror}", file=path) from exc
    return parse_bytes(data, path)
