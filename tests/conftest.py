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


# -- shared by the Qt-loop, GUI and command-line tests ----------------------------
@pytest.fixture(scope="session")
def libuv_default_loop() -> None:
    """Let libuv open its process-wide default loop before any leak snapshot.

    gevent's libuv loop compares itself with ``uv_default_loop()`` when created,
    which makes libuv open its default loop (an epoll, an eventfd, an io_uring
    and two pipes) once per process. That is not a leak of the test that
    happens to be first.
    """
    from HardwareRepository.qtloop import _gevent_uv

    _gevent_uv.EmbeddableLoop(default=False).destroy()


@pytest.fixture
def plain_hub_aside():
    """Leave the main thread without a gevent hub for the test; restore it after.

    The suite's plain hub (:func:`main_thread_hub`) is put aside, not destroyed,
    so the tests after see the same hub and bridge as before.
    """
    from HardwareRepository.qtloop import _gevent_uv

    previous = _gevent_uv.get_hub_if_exists()
    _gevent_uv.set_hub(None)
    try:
        yield
    finally:
        _gevent_uv.set_hub(previous)


@pytest.fixture
def qt_hub(qapp, libuv_default_loop, plain_hub_aside):
    """A QtHub driven by pytest-qt's application, removed after the test."""
    from HardwareRepository.qtloop import install, uninstall

    hub = install(qapp)
    try:
        yield hub
    finally:
        uninstall()


@pytest.fixture(scope="module")
def demo_servers():
    """The demo beamline's Tango servers on a free port, for one test module.

    Also creates cppTango's process-wide event consumer (threads and
    descriptors that live as long as the process) before the first test's leak
    snapshot, by subscribing once.
    """
    import tango

    from HardwareRepository.demo.servers import start_demo_servers
    from HardwareRepository.testing.tango_servers import find_free_port

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


@pytest.fixture
def demo_config(tmp_path, demo_servers):
    """A copy of the demo configuration pointing at :func:`demo_servers`."""
    from HardwareRepository.demo.servers import copy_demo_configuration

    return copy_demo_configuration(tmp_path / "demo", demo_servers.port)
