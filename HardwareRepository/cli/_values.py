"""Parse command-line values and names; format values for the terminal."""

from __future__ import annotations

import ast
from typing import Any

import numpy

__all__ = ["format_value", "parse_value", "split_target"]


def parse_value(text: str) -> Any:
    """Turn a command-line word into a Python value, never evaluating code.

    Python literals (``1.5``, ``True``, ``[1, 2]``, ``'text'``) become those
    values; anything else stays the string it is.
    """
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text


def split_target(target: str, known_object: Any) -> tuple[str, str | None]:
    """Split ``OBJECT[.item]`` into the object name and the item name.

    Object names may contain dots (file names), so the longest prefix that
    ``known_object(name)`` accepts wins.
    """
    if known_object(target):
        return target, None
    head, dot, tail = target.rpartition(".")
    if dot and head:
        return head, tail
    return target, None


def format_value(value: Any, width: int = 60) -> str:
    """Return a short one-line rendering (arrays as shape and a few items)."""
    if isinstance(value, numpy.ndarray):
        if value.size <= 6:
            text = numpy.array2string(value, separator=", ")
        else:
            text = f"array{value.shape} {value.dtype} [{value.flat[0]!r}, ...]"
    elif isinstance(value, float):
        text = f"{value:.6g}"
    else:
        text = str(getattr(value, "name", None) or value)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."
