"""Fixtures for the repository tests: repositories that are always shut down."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator

import pytest

from HardwareRepository.Command import register_type, unregister_type
from HardwareRepository.HardwareRepository import HardwareRepository

HERE = os.path.dirname(os.path.abspath(__file__))
HWOBJECTS = os.path.join(HERE, "hwobjects")
BAD = os.path.join(HERE, "bad")
EXAMPLE = os.path.join(
    os.path.dirname(os.path.dirname(HERE)), "configuration", "example"
)


@pytest.fixture(autouse=True)
def _restore_sys_path() -> Iterator[None]:
    saved = list(sys.path)
    yield
    sys.path[:] = saved


@pytest.fixture
def make_repo() -> Iterator[Callable[..., HardwareRepository]]:
    """Return a factory of repositories; all are shut down after the test."""
    made: list[HardwareRepository] = []

    def factory(path, **kwargs) -> HardwareRepository:
        kwargs.setdefault("hardware_objects_dirs", [HWOBJECTS])
        repo = HardwareRepository(path, **kwargs)
        made.append(repo)
        return repo

    yield factory
    for repo in made:
        assert repo.shutdown(timeout=5.0) == []


@pytest.fixture
def brokenlib_type() -> Iterator[None]:
    """Register type ``brokenlib``, whose module fails to import."""
    register_type("brokenlib", "brokenlib_backend")
    yield
    unregister_type("brokenlib")


@pytest.fixture
def write() -> Callable[[object, str, str], str]:
    """Return ``write(directory, name, text)``: create a file, return its path."""

    def write_file(directory: object, name: str, text: str) -> str:
        path = os.path.join(str(directory), name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            handle.write(text)
        return path

    return write_file
