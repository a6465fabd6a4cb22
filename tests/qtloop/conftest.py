"""Fixtures for the Qt loop tests: a QtHub installed for one test, then removed.

The whole suite runs in one process whose main thread already has a plain
gevent hub (created by the session fixture in tests/conftest.py) that other
tests keep using. Each test here puts that hub aside (without destroying it),
installs a QtHub, and at the end destroys the QtHub and puts the plain hub back
(``qt_hub`` in tests/conftest.py), so the tests before and after see the same
hub and bridge as before.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest


@pytest.fixture(autouse=True, scope="session")
def _libuv_default_loop_first(libuv_default_loop) -> None:
    """Every test here may create libuv loops: open libuv's default one first."""


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
