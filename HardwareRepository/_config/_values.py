"""Convert XML text and attribute values: ``None``, int, float, bool, else str.

No ``eval``: the text is matched against the literal forms only. Surrounding
white space is ignored for the conversion; a value that stays a string is
returned stripped. Names (tags, ``name=`` attributes) are never converted.
"""

from __future__ import annotations

import functools

__all__ = ["convert_value"]

_LITERALS: dict[str, bool | None] = {"None": None, "True": True, "False": False}


def convert_value(text: str | None) -> bool | int | float | str | None:
    """Return ``text`` as ``None``, bool, int, float or the stripped string.

    ``"None"`` -> ``None``; ``"True"``/``"False"`` -> bool; what :class:`int`
    accepts in base 10 (``"12"``, ``"-3"``, ``"007"``) -> int; what
    :class:`float` accepts (``"1e-3"``, ``"nan"``, ``"inf"``) -> float; anything
    else -> the stripped string. ``None`` stays ``None``; blank text gives ``""``.
    The same rules as mxCuBE's, minus its ``eval``. Any thread.
    """
    return _convert(text)


# Configurations repeat the same few texts (types, flags, units) thousands of
# times; every result is immutable, so equal texts may share it.
@functools.lru_cache(maxsize=4096)
def _convert(text: str | None) -> bool | int | float | str | None:
    if text is None:
        return None
    stripped = text.strip()
    if stripped in _LITERALS:
        return _LITERALS[stripped]
    if not stripped:
        return ""
    first = stripped[0]
    if first.isdigit() or first in "+-.":
        try:
            return int(stripped)
        except ValueError:
            pass
        try:
            return float(stripped)
        except ValueError:
            return stripped
    if stripped.lower() in ("nan", "inf", "infinity"):
        return float(stripped)
    return stripped
