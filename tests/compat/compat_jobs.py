"""Module-level functions for WorkerProcess tests (they must be picklable)."""

from __future__ import annotations

import os

COUNTER = {"n": 0}


def getpid() -> int:
    return os.getpid()


def multiply(a: int, b: int) -> int:
    return a * b


def next_count() -> int:
    COUNTER["n"] += 1
    return COUNTER["n"]
