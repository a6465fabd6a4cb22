"""PolledCache: per-key periods, one thread for all hardware access, write-through."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from HardwareRepository.bridge import Event
from HardwareRepository.errors import BridgeClosedError
from HardwareRepository.toolkit import PolledCache


class FakeDevice:
    """A simulated register bank that records which thread touches it."""

    def __init__(self) -> None:
        self.registers = {"a": 1, "b": 2, "c": 3}
        self.reads: Counter[str] = Counter()
        self.threads: set[int] = set()
        self.read_enough = Event()
        self.fail = False

    def read(self, key: str) -> int:
        self.threads.add(threading.get_ident())
        if self.fail:
            raise OSError(f"timeout reading {key}")
        self.reads[key] += 1
        if self.reads["a"] >= 10:
            self.read_enough.set()
        return self.registers[key]

    def write(self, key: str, value: int) -> str:
        self.threads.add(threading.get_ident())
        self.registers[key] = value
        return f"wrote {key}"


def test_keys_are_polled_at_their_own_period_in_one_thread():
    device = FakeDevice()
    cache = PolledCache(device.read, device.write, period=10.0)
    try:
        cache.add("a", period=0.01)
        cache.add("b")  # the default 10 s period: read once now
        assert device.read_enough.wait(10)
        assert cache["a"] == 1
        assert cache.get("b") == 2
        assert device.reads["b"] == 1
        assert len(device.threads) == 1
        assert threading.get_ident() not in device.threads
        assert cache.timestamp("a") > 0
        assert cache.snapshot() == {"a": 1, "b": 2}
    finally:
        cache.stop(timeout=10)


def test_writes_go_through_the_polling_thread_and_update_the_cache():
    device = FakeDevice()
    with PolledCache(device.read, device.write, period=10.0, keys=["a"]) as cache:
        assert cache.set("a", 42, timeout=10) == "wrote a"
        assert device.registers["a"] == 42
        assert cache["a"] == 42
        cache["c"] = 7  # an unknown key is added
        assert cache["c"] == 7
        assert "c" in cache
        assert len(device.threads) == 1


def test_keep_write_result_stores_what_write_returned():
    device = FakeDevice()
    with PolledCache(device.read, device.write, keep_write_result=True) as cache:
        cache.add("b", period=60.0)
        assert cache.get("b", refresh=True, timeout=10) == 2
        cache["b"] = 5  # kept until the next poll, a minute later
        assert cache["b"] == "wrote b"


def test_refresh_reads_now_and_raises_read_errors():
    device = FakeDevice()
    with PolledCache(device.read, period=10.0, keys=["a"]) as cache:
        device.registers["a"] = 99
        assert cache.get("a", refresh=True, timeout=10) == 99
        assert cache["a"] == 99
        device.fail = True
        with pytest.raises(OSError, match="timeout reading a"):
            cache.get("a", refresh=True, timeout=10)
        with pytest.raises(TypeError, match="no write"):
            cache["a"] = 1


def test_a_failed_poll_keeps_the_old_value_and_records_the_error(caplog):
    device = FakeDevice()
    with PolledCache(device.read, period=0.01, keys=["a"]) as cache:
        assert cache.get("a", refresh=True, timeout=10) == 1
        device.fail = True
        failed = Event()
        while not failed.wait(0.01):  # poll the cache state, not the device
            if cache.error("a") is not None:
                failed.set()
        assert isinstance(cache.error("a"), OSError)
        assert cache["a"] == 1
    assert any("read failed" in r.getMessage() and r.exc_info for r in caplog.records)


def test_unknown_and_unread_keys():
    device = FakeDevice()
    cache = PolledCache(device.read, start=False)
    cache.add("a", initial=0)
    cache.add("b")
    assert cache["a"] == 0
    with pytest.raises(KeyError, match="not been read"):
        cache["b"]
    with pytest.raises(KeyError, match="not polled"):
        cache["zz"]
    assert cache.get("b", None) is None
    with pytest.raises(BridgeClosedError):
        cache.get("a", refresh=True)
    cache.remove("b")
    assert cache.keys() == ["a"]


def test_stop_and_start_again():
    device = FakeDevice()
    cache = PolledCache(device.read, period=0.01, keys=["a"])
    assert device.read_enough.wait(10)
    cache.stop(timeout=10)
    assert not cache.running
    reads = device.reads["a"]
    device.read_enough.clear()
    device.reads["a"] = 0
    cache.start()
    try:
        assert device.read_enough.wait(10)
        assert reads >= 10
    finally:
        cache.stop(timeout=10)
