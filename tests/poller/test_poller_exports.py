"""The public module exports the seed's names and nothing missing."""

from __future__ import annotations

from HardwareRepository import Poller


def test_public_names_exist_and_are_documented():
    expected = {
        "poll",
        "Poller",
        "get_poller",
        "NotInitializedValue",
        "PollerStatistics",
        "stop_all",
        "shutdown",
        "configure",
        "pool_threads",
    }
    assert set(Poller.__all__) == expected
    for name in expected:
        obj = getattr(Poller, name)
        if callable(obj) and name != "NotInitializedValue":
            assert obj.__doc__, f"{name} has no docstring"
    for method in (
        "stop",
        "restart",
        "get_polling_period",
        "set_polling_period",
        "get_id",
        "statistics",
    ):
        assert getattr(Poller.Poller, method).__doc__, method


def test_not_initialized_value_is_a_singleton():
    assert type(Poller.NotInitializedValue)() is Poller.NotInitializedValue
    assert repr(Poller.NotInitializedValue) == "NotInitializedValue"
    assert Poller.NotInitializedValue != 0
