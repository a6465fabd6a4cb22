"""Fixtures of the GUI tests: demo Tango servers on a free port, a QtHub, windows.

The suite runs in one process whose main thread already has a plain gevent hub
(tests/conftest.py). Each test puts it aside, installs a QtHub on pytest-qt's
application and removes it at the end (as tests/qtloop does), so hardware
objects, their signals and the window all live in the Qt thread.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from HardwareRepository.demo.servers import copy_demo_configuration
from HardwareRepository.HardwareRepository import HardwareRepository


@pytest.fixture(autouse=True, scope="session")
def _libuv_default_loop_first(libuv_default_loop) -> None:
    """The window tests create libuv loops: open libuv's default one first."""


@pytest.fixture
def config_copy(demo_md_server, epics_ioc) -> Callable[..., Path]:
    """Return :func:`copy_demo_configuration` bound to the test MD server and IOC.

    (Test modules cannot import conftest.)
    """
    return functools.partial(
        copy_demo_configuration,
        md_port=demo_md_server.port,
        ioc_port=epics_ioc.port,
        epics_prefix=epics_ioc.prefix,
    )


@pytest.fixture
def simulated_sources() -> Iterator[None]:
    """The demo's SIMULATED TINE server and Taco device (as `hwr demo` runs them)."""
    from HardwareRepository.demo.simulated import SimulatedSources

    with SimulatedSources():
        yield


@pytest.fixture
def open_window(
    qt_hub: object, simulated_sources: None, qtbot
) -> Iterator[Callable[..., object]]:
    """Load a configuration and show a BeamlineWindow on it.

    ``open_window(path)`` returns ``(window, repository)``. The demo's
    simulated TINE/Taco sources run meanwhile. At teardown every
    window is closed (which detaches it from the objects) and its repository
    shut down, before the QtHub goes.
    """
    from HardwareRepository.gui import BeamlineWindow

    opened: list[tuple[BeamlineWindow, HardwareRepository]] = []

    def open_(path: Path) -> tuple[BeamlineWindow, HardwareRepository]:
        repository = HardwareRepository(str(path))
        repository.load_all()
        window = BeamlineWindow.from_repository(repository)
        opened.append((window, repository))
        window.resize(1400, 900)
        window.show()
        qtbot.waitExposed(window)
        return window, repository

    yield open_
    for window, repository in reversed(opened):
        window.close()
        window.deleteLater()
        assert repository.shutdown(timeout=10) == []


@pytest.fixture
def slot_errors(caplog: pytest.LogCaptureFixture) -> Callable[[], list[str]]:
    """Return a function listing errors raised by signal receivers (panel slots)."""
    caplog.set_level(logging.ERROR, logger="HardwareRepository.signals")

    def errors() -> list[str]:
        return [
            record.getMessage()
            for record in caplog.records
            if record.name == "HardwareRepository.signals"
        ]

    return errors
