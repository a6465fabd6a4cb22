"""Fixtures for these tests."""

from __future__ import annotations

from multiprocessing import resource_tracker

import pytest


@pytest.fixture(autouse=True, scope="session")
def multiprocessing_resource_tracker():
    """Start the standard library's resource tracker before any leak snapshot.

    The first "spawn" child of a process starts this process-wide helper (a
    child process plus one pipe kept open for the life of the process); it is
    owned by ``multiprocessing``, not by the code under test.
    """
    resource_tracker.ensure_running()
