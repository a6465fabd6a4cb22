"""Write changed properties back into a hardware-object XML text.

Comments and layout of the rest of the file are kept. The text is parsed with
the same safety settings as :mod:`._parser` (no entities, no DTD, no network).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lxml import etree

from ._parser import parse_bytes

__all__ = ["update_properties"]


def update_properties(text: str, file: str | None, changes: Mapping[str, Any]) -> str:
    """Return ``text`` with the root's leaf elements ``changes`` set.

    A property the root element has as a leaf child gets the new text (the
    first such child); one it lacks is appended as a new child element.

    :raises ConfigError: ``text`` does not parse (naming ``file`` and line).
    """
    data = text.encode("utf-8")
    parse_bytes(data, file or "<xml>")  # the safety checks, with line numbers
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    root = etree.fromstring(data, parser)
    for name, value in changes.items():
        element = next(
            (
                c
                for c in root
                if isinstance(c.tag, str) and c.tag == name and len(c) == 0
            ),
            None,
        )
        if element is None:
            element = etree.SubElement(root, name)
        element.text = "None" if value is None else str(value)
    return etree.tostring(root, encoding="unicode")
