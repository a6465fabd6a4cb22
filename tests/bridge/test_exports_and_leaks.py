"""The public namespace is complete, and the leak detector detects leaks."""

from __future__ import annotations

import os
import threading

import gevent

import HardwareRepository.bridge as bridge
from HardwareRepository.testing import ResourceSnapshot, wait_for_no_leaks


def test_bridge_exports_every_public_name():
    for name in bridge.__all__:
        assert hasattr(bridge, name), name
    expected = {
        "HubTrigger",
        "Launcher",
        "AsyncResult",
        "Event",
        "Queue",
        "Lock",
        "RLock",
        "ThreadResource",
        "Thread",
        "Timeout",
    }
    assert expected <= set(bridge.__all__)


def test_leak_detector_reports_a_thread_a_greenlet_and_a_descriptor():
    before = ResourceSnapshot.take()
    release = threading.Event()
    t = threading.Thread(target=release.wait, name="leaky")
    t.start()
    g = gevent.spawn(gevent.sleep, 30)
    gevent.sleep(0)
    read_fd, write_fd = os.pipe()
    try:
        report = wait_for_no_leaks(before, timeout=0.1)
        assert len(report.threads) == 1
        assert report.greenlets == 1
        assert len(report.fds) == 2
        assert "leaked" in str(report)
    finally:
        release.set()
        t.join()
        g.kill()
        os.close(read_fd)
        os.close(write_fd)
    assert not wait_for_no_leaks(before, timeout=3)
