"""Module-level functions for ProcessWorker tests (they must be picklable)."""

from __future__ import annotations

import os

STATE: dict[str, object] = {}


def getpid() -> int:
    return os.getpid()


def add(a: int, b: int = 0) -> int:
    return a + b


def fail(message: str) -> None:
    raise ValueError(message)


def crash() -> None:
    os._exit(3)


def open_library() -> None:
    STATE["library"] = "open"


def library_state() -> object:
    return STATE.get("library")


def unpicklable_result() -> object:
    return lambda: None
