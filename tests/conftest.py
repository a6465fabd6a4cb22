"""Shared fixtures: every test fails if it leaks threads, greenlets or descriptors."""

from __future__ import annotations

import faulthandler
import os
import sys

import pytest

from HardwareRepository.testing import ResourceSnapshot, wait_for_no_leaks

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
faulthandler.enable(file=sys.stderr, all_threads=True)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "allow_leaks(reason): the test may leave threads/greenlets/fds behind "
        "(only for resources owned by a third-party library; say which)",
    )


@pytest.fixture(autouse=True, scope="session")
def main_thread_hub():
    """Create the main thread's hub and bridge once; they live with the process."""
    from HardwareRepository.bridge import get_bridge

    return get_bridge()


@pytest.fixture(autouse=True)
def no_leaks(request: pytest.FixtureRequest):
    """Fail a test that leaves threads, running greenlets or descriptors behind."""
    marker = request.node.get_closest_marker("allow_leaks")
    before = ResourceSnapshot.take()
    yield
    if marker is not None:
        return
    report = wait_for_no_leaks(before)
    if report:
        pytest.fail(f"{request.node.nodeid}: {report}", pytrace=False)
