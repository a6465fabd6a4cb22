"""The one "no value yet" marker."""

from __future__ import annotations

from typing import Any

__all__ = ["NOT_INITIALIZED"]


class _NotInitialized:
    """The value of a channel that has not received one yet."""

    _instance: _NotInitialized | None = None

    def __new__(cls) -> _NotInitialized:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NOT_INITIALIZED"

    def __bool__(self) -> bool:
        return False


NOT_INITIALIZED: Any = _NotInitialized()
"""Marker for "no value yet" (distinct from a ``None`` value)."""
