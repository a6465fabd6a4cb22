"""install()/uninstall() rules: idempotence, replacing a plain hub, misuse."""

from __future__ import annotations

import gevent
import pytest

from HardwareRepository.bridge import BridgeClosedError, get_bridge
from HardwareRepository.errors import HardwareRepositoryError, InvalidThreadUseError
from HardwareRepository.qtloop import (
    QtHub,
    _gevent_uv,
    install,
    installed_hub,
    uninstall,
)

pytestmark = pytest.mark.qt


def _plain_hub() -> _gevent_uv.Hub:
    """A plain hub for this thread, on a private loop.

    Not on libev's default loop: the hub put aside by the fixture uses that
    one, and destroying it here would break the rest of the suite.
    """
    hub = _gevent_uv.Hub(default=False)
    _gevent_uv.set_hub(hub)
    return hub


def test_install_is_idempotent_and_gevent_uses_the_qt_hub(qt_hub, qapp):
    assert install(qapp) is qt_hub
    assert gevent.get_hub() is qt_hub
    assert installed_hub() is qt_hub
    assert get_bridge().hub is qt_hub


def test_install_replaces_an_idle_plain_hub_and_closes_its_bridge(
    qapp, plain_hub_aside
):
    plain = _plain_hub()
    old_bridge = get_bridge()
    hub = install(qapp)
    try:
        assert isinstance(hub, QtHub)
        assert hub is not plain
        assert plain.loop is None, "the plain hub was not destroyed"
        assert old_bridge.closed
        with pytest.raises(BridgeClosedError):
            old_bridge.post(print)
        assert get_bridge() is not old_bridge
    finally:
        uninstall()


def test_install_refuses_a_plain_hub_with_running_greenlets(qapp, plain_hub_aside):
    plain = _plain_hub()
    sleeper = gevent.spawn(gevent.sleep, 30)
    gevent.sleep(0)
    try:
        with pytest.raises(HardwareRepositoryError, match="before anything spawns"):
            install(qapp)
        assert gevent.get_hub() is plain
    finally:
        sleeper.kill()
        plain.destroy(destroy_loop=True)


def test_install_and_uninstall_refuse_to_run_inside_a_greenlet(qt_hub, qapp):
    with pytest.raises(InvalidThreadUseError):
        gevent.spawn(install, qapp).get(timeout=10)
    with pytest.raises(InvalidThreadUseError):
        gevent.spawn(uninstall).get(timeout=10)


def test_uninstall_destroys_the_hub_and_leaves_the_thread_without_one(
    qapp, plain_hub_aside
):
    hub = install(qapp)
    gevent.sleep(0.01)
    uninstall()
    assert installed_hub() is None
    assert _gevent_uv.get_hub_if_exists() is None
    assert hub.loop is None
    assert hub.dead
