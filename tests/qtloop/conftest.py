"""Fixtures for the Qt loop tests: a QtHub installed for one test, then removed.

The whole suite runs in one process whose main thread already has a plain
gevent hub (created by the session fixture in tests/conftest.py) that other
tests keep using. Each test here puts that hub aside (without destroying it),
installs a QtHub, and at the end destroys the QtHub and puts the plain hub back,
so the tests before and after see the same hub and bridge as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from HardwareRepository.qtloop import QtHub, _gevent_uv, install, uninstall


@pytest.fixture(autouse=True, scope="session")
def libuv_default_loop() -> None:
    """Let libuv create its process-wide default loop before any leak snapshot.

    gevent's libuv loop compares itself with ``uv_default_loop()`` when created,
    which makes libuv open its default loop (an epoll, an eventfd, an io_uring
    and two pipes) once per process. That is not a leak of the test that
    happens to be first.
    """
    _gevent_uv.EmbeddableLoop(default=False).destroy()


@pytest.fixture
def plain_hub_aside() -> Iterator[None]:
    """Leave the calling thread without a hub for the test; restore it after."""
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
def run_app(qapp) -> Callable[..., None]:
    """Run ``qapp.exec_()`` with ``start()`` called from its first iteration.

    The test's code must call ``qapp.quit()``; a watchdog quits after
    ``timeout`` seconds and fails the test.
    """
    from qtpy import QtCore

    def run(start: Callable[[], None], timeout: float = 20.0) -> None:
        expired = []

        def watchdog() -> None:
            expired.append(True)
            qapp.quit()

        guard = QtCore.QTimer()
        guard.setSingleShot(True)
        guard.timeout.connect(watchdog)
        guard.start(int(timeout * 1000))
        QtCore.QTimer.singleShot(0, start)
        qapp.exec_()
        guard.stop()
        assert not expired, f"the application did not quit within {timeout} s"

    return run
