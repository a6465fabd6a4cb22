"""Module-level functions for WorkerProcess tests (they must be picklable)."""

from __future__ import annotations

import os
import time

COUNTER = {"n": 0}


def getpid() -> int:
    return os.getpid()


def multiply(a: int, b: int) -> int:
    return a * b


def next_count() -> int:
    COUNTER["n"] += 1
    return COUNTER["n"]


def sleep_then_getpid(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


class Calculator:
    """An executor: its methods are the targets, named by strings."""

    def __init__(self, offset: int = 0) -> None:
        self.offset = offset

    def add(self, a: int, b: int) -> int:
        return a + b + self.offset

    def where(self) -> int:
        return os.getpid()


class Processor:
    """An executor with ``process``: a target sent without args is its argument."""

    def process(self, item: object) -> str:
        return f"processed {item!r} in {os.getpid()}"
