"""Fixtures of the GUI tests: demo Tango servers on a free port, a QtHub, windows.

The suite runs in one process whose main thread already has a plain gevent hub
(tests/conftest.py). Each test puts it aside, installs a QtHub on pytest-qt's
application and removes it at the end (as tests/qtloop does), so hardware
objects, their signals and the window all live in the Qt thread.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from HardwareRepository.demo.servers import start_demo_servers
from HardwareRepository.HardwareRepository import HardwareRepository
from HardwareRepository.qtloop import QtHub, _gevent_uv, install, uninstall
from HardwareRepository.testing.tango_servers import TangoServerProcess, find_free_port

DEMO_CONFIG = Path(__file__).resolve().parents[2] / "configuration" / "demo"
DEMO_PORT_TEXT = "18777"


@pytest.fixture(autouse=True, scope="session")
def libuv_default_loop() -> None:
    """Let libuv open its process-wide default loop before any leak snapshot.

    (Created once per process by the first gevent libuv loop; see
    tests/qtloop/conftest.py.)
    """
    _gevent_uv.EmbeddableLoop(default=False).destroy()


@pytest.fixture(scope="module")
def demo_servers() -> Iterator[TangoServerProcess]:
    """The demo beamline's Tango servers on a free port, for the whole module.

    Also creates cppTango's process-wide event consumer (threads and
    descriptors owned by cppTango that live as long as the process) before the
    first test's leak snapshot, by subscribing once.
    """
    import tango

    server = start_demo_servers(port=find_free_port())
    try:
        proxy = tango.DeviceProxy(server.device_url("demo/machine/info"))
        event_id = proxy.subscribe_event(
            "Current", tango.EventType.CHANGE_EVENT, lambda event: None
        )
        proxy.unsubscribe_event(event_id)
        del proxy
        yield server
    finally:
        server.stop()


def copy_demo_config(
    target: Path, port: int, ports: dict[str, int] | None = None
) -> Path:
    """Copy configuration/demo to ``target`` with the Tango port replaced.

    :param ports: per-file ports (``{"safety-shutter.xml": 1234}``) overriding
        ``port``.
    """
    shutil.copytree(DEMO_CONFIG, target)
    for path in target.glob("*.xml"):
        chosen = (ports or {}).get(path.name, port)
        path.write_text(path.read_text().replace(DEMO_PORT_TEXT, str(chosen)))
    return target


@pytest.fixture
def config_copy() -> Callable[..., Path]:
    """Return :func:`copy_demo_config` (test modules cannot import conftest)."""
    return copy_demo_config


@pytest.fixture
def demo_config(tmp_path: Path, demo_servers: TangoServerProcess) -> Path:
    """A copy of the demo configuration pointing at the running test servers."""
    return copy_demo_config(tmp_path / "demo", demo_servers.port)


@pytest.fixture
def plain_hub_aside() -> Iterator[None]:
    """Leave the main thread without a hub for the test; restore it after."""
    previous = _gevent_uv.get_hub_if_exists()
    _gevent_uv.set_hub(None)
    try:
        yield
    finally:
        _gevent_uv.set_hub(previous)


@pytest.fixture
def qt_hub(qapp, plain_hub_aside) -> Iterator[QtHub]:
    """A QtHub driven by pytest-qt's application, removed after the test."""
    hub = install(qapp)
    try:
        yield hub
    finally:
        uninstall()


@pytest.fixture
def simulated_sources() -> Iterator[None]:
    """The demo's SIMULATED TINE server and Taco device (as `hwr demo` runs them)."""
    from HardwareRepository.demo.simulated import SimulatedSources

    with SimulatedSources():
        yield


@pytest.fixture
def open_window(
    qt_hub: QtHub, simulated_sources: None, qtbot
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
