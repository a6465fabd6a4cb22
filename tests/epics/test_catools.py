"""compat.cothread.catools against the caproto IOC: each documented behaviour."""

from __future__ import annotations

import threading
import time

import gevent
import gevent.event
import numpy
import pytest
from epics_helpers import PREFIX, wait_until

from HardwareRepository.compat.cothread import Timedout
from HardwareRepository.compat.cothread.catools import (
    ECA_DISCONN,
    ECA_TIMEOUT,
    FORMAT_CTRL,
    FORMAT_TIME,
    ca_array,
    ca_float,
    ca_nothing,
    ca_str,
    caget,
    cainfo,
    camonitor,
    caput,
    connect,
)

VELO = PREFIX + "m1.VELO"
MISSING = PREFIX + "not_there"


@pytest.fixture
def subscriptions(epics_ioc):
    made: list = []
    yield made
    for subscription in made:
        subscription.close()


def put_in_thread(pv: str, values: list[float]) -> threading.Thread:
    """Write ``values`` one by one from a plain thread with pyepics itself."""
    import epics

    def run() -> None:
        for value in values:
            epics.caput(pv, value, wait=True)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_caget_one_and_many_with_augmented_values(epics_ioc):
    value = caget(VELO)
    assert isinstance(value, ca_float)
    assert value == 2.0
    assert value.name == VELO
    assert value.ok
    values = caget([VELO, PREFIX + "message", PREFIX + "wave"])
    assert [type(v) for v in values] == [ca_float, ca_str, ca_array]
    assert values[1] == "hello from caproto"
    assert isinstance(values[2], numpy.ndarray)
    assert len(values[2]) == 16
    timed = caget(VELO, format=FORMAT_TIME)
    assert timed.timestamp > 1e9
    assert timed.severity == 0
    assert timed.datetime.year >= 2024
    assert caget(PREFIX + "m1.DMOV", datatype=float) == 1.0
    assert hasattr(caget(VELO, format=FORMAT_CTRL), "precision")


def test_caget_failures_raise_or_give_falsy_ca_nothing(epics_ioc):
    with pytest.raises(Timedout, match="not_there"):
        caget(MISSING, timeout=0.3)
    nothing = caget(MISSING, timeout=0.3, throw=False)
    assert isinstance(nothing, ca_nothing)
    assert not nothing
    assert not nothing.ok
    assert nothing.errorcode == ECA_TIMEOUT
    mixed = caget([VELO, MISSING], timeout=(time.time() + 0.3,), throw=False)
    assert mixed[0] == 2.0
    assert not mixed[1]


def test_caput_single_list_repeat_and_wait(epics_ioc):
    assert caput(VELO, 3.0)
    assert caget(VELO) == 3.0
    results = caput([VELO, PREFIX + "message"], [2.0, "two"], wait=True)
    assert all(results)
    assert caget([VELO, PREFIX + "message"]) == [2.0, "two"]
    caput([PREFIX + "m1.HLM", PREFIX + "m1.HLM"], 10.0, repeat_value=True)
    start = caget(PREFIX + "m1.RBV")
    assert caput(PREFIX + "m1.VAL", start + 0.5, wait=True, timeout=10)
    assert caget(PREFIX + "m1.DMOV") == 1
    assert caget(PREFIX + "m1.RBV") == pytest.approx(start + 0.5)
    failed = caput(MISSING, 1.0, timeout=0.3, throw=False)
    assert not failed
    assert failed.errorcode == ECA_TIMEOUT
    with pytest.raises(ValueError, match="2 PVs but 3 values"):
        caput([VELO, VELO], [1, 2, 3])
    caput(PREFIX + "message", "hello from caproto", wait=True)


def test_caput_callback_runs_in_the_monitor_greenlet(epics_ioc):
    done: list = []
    caput(VELO, 2.0, callback=done.append)
    wait_until(lambda: done, what="put callback")
    assert done[0].ok
    assert done[0].name == VELO


def test_camonitor_single_and_list_in_order_in_one_greenlet(subscriptions):
    single: list = []
    greenlets: set = set()

    def on_single(value):
        single.append(float(value))
        greenlets.add(gevent.getcurrent())

    listed: list = []

    def on_list(value, index):
        listed.append((index, value.name))
        greenlets.add(gevent.getcurrent())

    subscriptions.append(camonitor(VELO, on_single, all_updates=True))
    subscriptions.extend(camonitor([VELO, PREFIX + "message"], on_list))
    wait_until(lambda: single and len(listed) >= 2, what="initial values")
    assert sorted(listed[:2]) == [(0, VELO), (1, PREFIX + "message")]
    writer = put_in_thread(VELO, [2.1, 2.2, 2.3, 2.4])
    writer.join(10)
    wait_until(lambda: single[-1] == 2.4, what="last update")
    assert single == [2.0, 2.1, 2.2, 2.3, 2.4]
    assert len(greenlets) == 1
    assert gevent.getcurrent() not in greenlets
    caput(VELO, 2.0, wait=True)


def test_merged_updates_carry_an_update_count(subscriptions):
    seen: list[tuple[float, int]] = []
    release = gevent.event.Event()

    def slow(value):
        seen.append((float(value), value.update_count))
        if len(seen) == 1:
            release.wait(10)  # keep the monitor greenlet busy

    subscriptions.append(camonitor(VELO, slow))
    wait_until(lambda: seen, what="initial value")
    values = [3.0 + i / 10 for i in range(1, 11)]
    put_in_thread(VELO, values).join(10)
    gevent.sleep(0.3)  # let Channel Access deliver everything while blocked
    release.set()
    wait_until(lambda: seen[-1][0] == values[-1], what="merged update")
    assert len(seen) < len(values) + 1
    assert sum(count for _, count in seen[1:]) == len(values)
    assert seen[-1][1] > 1
    caput(VELO, 2.0, wait=True)


def test_connect_timeout_reports_even_without_notify_disconnect(subscriptions):
    received: list = []
    subscriptions.append(camonitor(MISSING, received.append, connect_timeout=0.3))
    wait_until(lambda: received, what="timeout report")
    assert isinstance(received[0], ca_nothing)
    assert received[0].errorcode == ECA_TIMEOUT
    assert not received[0]


def test_notify_disconnect_delivers_ca_nothing(subscriptions, epics_ioc):
    received: list = []
    subscriptions.append(camonitor(VELO, received.append, notify_disconnect=True))
    wait_until(lambda: received, what="initial value")
    epics_ioc.kill()
    wait_until(lambda: isinstance(received[-1], ca_nothing), what="disconnect")
    assert received[-1].errorcode == ECA_DISCONN
    epics_ioc.start()
    wait_until(lambda: received[-1].ok, timeout=20, what="value after reconnect")


def test_connect_and_cainfo(epics_ioc):
    assert connect(VELO)
    info = cainfo(VELO)
    assert info.ok
    assert info.state == 2
    assert info.read
    assert info.write
    assert "connected" in str(info)
    results = connect([VELO, MISSING], timeout=0.3, throw=False)
    assert results[0]
    assert not results[1]
    assert connect(MISSING, wait=False)
