"""install()/uninstall() rules: idempotence, replacing a plain hub, misuse."""

from __future__ import annotations

import gevent
import pytest

from HardwareRepository.bridge import BridgeClosedError, get_bridge
from HardwareRepository.errors import HardwareRepositoryError, InvalidThreadUseError
from HardwareRepository.qtloop import QtHub, install, installed_hub, uninstall

pytestmark = pytest.mark.qt


def test_install_is_idempotent_and_gevent_uses_the_qt_hub(qt_hub, qapp):
    assert install(qapp) is qt_hub
    assert gevent.get_hub() is qt_hub
    assert installed_hub() is qt_hub
    assert get_bridge().hub is qt_hub


def test_install_replaces_an_idle_plain_hub_and_closes_its_bridge(
    qapp, plain_hub_aside
):
    plain = gevent.get_hub()
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
    plain = gevent.get_hub()
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


def test_uninstall_leaves_a_fresh_plain_hub_possible(qapp, plain_hub_aside):
    hub = install(qapp)
    gevent.sleep(0.01)
    uninstall()
    assert installed_hub() is None
    assert hub.loop is None
    fresh = gevent.get_hub()
    try:
        assert not isinstance(fresh, QtHub)
        gevent.sleep(0.001)
    finally:
        fresh.destroy(destroy_loop=True)
