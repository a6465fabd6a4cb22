"""Shared fixtures: every test fails if it leaks threads, greenlets or descriptors."""

from __future__ import annotations

import faulthandler
import os
import sys

import pytest

from HardwareRepository.testing import ResourceSnapshot, wait_for_no_leaks

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
faulthandler.enable(file=sys.stderr, all_threads=True)

# Channel Access reads its address list once per process: every EPICS search of
# the test run (and of the hwr processes it starts) goes to the one test IOC on
# loopback (see the epics_ioc fixture), never to a network broadcast.
from HardwareRepository.demo.processes import free_port  # noqa: E402

EPICS_PREFIX = "HWRTEST:"
EPICS_IOC_PORT = free_port()
os.environ["EPICS_CA_ADDR_LIST"] = f"127.0.0.1:{EPICS_IOC_PORT}"
os.environ["EPICS_CA_AUTO_ADDR_LIST"] = "NO"


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


@pytest.fixture(scope="session")
def epics_ioc():
    """The test run's caproto IOC (loopback, the port in EPICS_CA_ADDR_LIST).

    Session-scoped: Channel Access keeps the address list it read first. Tests
    that kill it start it again on the same port. Also creates libca's context
    and its first circuit before any leak snapshot.
    """
    from HardwareRepository.Command.channel_access import load_pyepics
    from HardwareRepository.demo.processes import EpicsIocProcess

    ioc = EpicsIocProcess(EPICS_PREFIX, port=EPICS_IOC_PORT)
    ioc.start()
    try:
        epics = load_pyepics()
        assert epics.caget(EPICS_PREFIX + "m1.RBV", timeout=10) is not None
        yield ioc
    finally:
        ioc.close()


@pytest.fixture(scope="module")
def demo_md_server():
    """The demo's SIMULATED MD server on a free port, for one test module."""
    from HardwareRepository.demo.processes import MDServerProcess

    with MDServerProcess() as server:
        yield server


@pytest.fixture
def demo_config(tmp_path, demo_servers, demo_md_server, epics_ioc):
    """A copy of the demo configuration pointing at the test servers."""
    from HardwareRepository.demo.servers import copy_demo_configuration

    return copy_demo_configuration(
        tmp_path / "demo",
        demo_servers.port,
        md_port=demo_md_server.port,
        ioc_port=epics_ioc.port,
        epics_prefix=EPICS_PREFIX,
    )
