"""The comparison of polled values never raises (mxCuBE's killed its poller thread)."""

from __future__ import annotations

import math

import numpy
import pytest
from _poller_helpers import Recorder, Sequence, wait_delivered, wait_until

from HardwareRepository import Poller
from HardwareRepository.policies import values_equal


class RaisingEq:
    def __eq__(self, other):
        raise RuntimeError("cannot compare")

    __hash__ = object.__hash__


class ArrayEq:
    """An ``__eq__`` returning something without a truth value."""

    def __eq__(self, other):
        return numpy.array([True, False])

    __hash__ = object.__hash__


def a(*values, dtype=None):
    return numpy.array(values, dtype=dtype)


@pytest.mark.parametrize(
    ("old", "new", "equal"),
    [
        (a(1, 2, 3), a(1, 2, 3), True),
        (a(1, 2, 3), a(1, 2, 4), False),
        (a(1, 2, 3), a(1, 2), False),  # shape change (numpy >= 1.25 raises on ==)
        (numpy.zeros((2, 3)), numpy.zeros((2, 3)), True),  # 2-D
        (numpy.zeros((2, 3)), numpy.ones((2, 3)), False),
        (numpy.zeros((2, 3)), numpy.zeros((3, 2)), False),
        (numpy.zeros((2, 3)), numpy.zeros(6), False),
        (numpy.zeros((2, 2, 2)), numpy.zeros((2, 2, 2)), True),
        (a(1.0, math.nan), a(1.0, math.nan), True),  # NaN == NaN
        (a(1, 2, dtype=numpy.int32), a(1, 2, dtype=numpy.float64), False),  # dtype
        (a("x", "y"), a("x", "y"), True),
        (a("x", "y"), a("x", "z"), False),
        (a(1, None, dtype=object), a(1, None, dtype=object), True),
        (numpy.array(3.0), numpy.array(3.0), True),  # 0-d
        (a(1, 2), [1, 2], False),  # array vs list
        (a(1, 2), 1, False),
        (5, a(5), False),
        (math.nan, math.nan, True),
        (numpy.float32("nan"), numpy.float32("nan"), True),
        (1.0, 1.0, True),
        (1, 2, False),
        ("on", "on", True),
        ([1, [2, a(3.0, math.nan)]], [1, [2, a(3.0, math.nan)]], True),  # nested
        ([1, [2, a(3.0, 4.0)]], [1, [2, a(3.0, 5.0)]], False),
        ((1, 2), [1, 2], False),  # tuple vs list
        ({"x": a(1, 2)}, {"x": a(1, 2)}, True),
        ({"x": a(1, 2)}, {"x": a(1, 2, 3)}, False),
        ({"x": 1}, {"y": 1}, False),
        (RaisingEq(), RaisingEq(), False),  # __eq__ raises: changed
        (ArrayEq(), ArrayEq(), False),  # no truth value: changed
        (Poller.NotInitializedValue, 0, False),
        (Poller.NotInitializedValue, None, False),
        (Poller.NotInitializedValue, a(1), False),
        (None, None, True),
    ],
)
def test_values_equal(old, new, equal):
    assert values_equal(old, new) is equal


def test_identical_object_is_equal_even_if_eq_raises():
    value = RaisingEq()
    assert values_equal(value, value) is True


def test_self_referencing_list_does_not_raise():
    x: list = [1]
    x.append(x)
    y: list = [1]
    y.append(y)
    assert values_equal(x, y) in (True, False)


def test_a_poller_survives_arrays_of_changing_shape_and_dtype():
    values = [
        a(1, 2),
        a(1, 2),
        a(1, 2, 3),  # shape change
        numpy.zeros((2, 2)),  # 2-D
        numpy.zeros((2, 2)),
        a(math.nan, 1.0),
        a(math.nan, 1.0),  # NaN == NaN: unchanged
        a(1, 2, dtype=numpy.uint8),
        RaisingEq(),  # compared with an array
        "text",
    ]
    source = Sequence(values)
    rec = Recorder()
    p = Poller.poll(source.read, (), 2, rec.value, rec.error, True)
    rec.wait_values(7)
    wait_until(lambda: p.statistics().calls >= len(values) + 3, what="more calls")
    wait_delivered(p)
    p.stop()
    assert rec.errors == []
    expected = [values[i] for i in (0, 2, 3, 5, 7, 8, 9)]
    assert len(rec.values) == len(expected)
    for got, want in zip(rec.values, expected, strict=True):
        assert got is want
