"""hwr's timestamps never go backwards, whatever the system clock does (#18)."""

from __future__ import annotations

import time

from HardwareRepository.cli._common import WallClock


def test_stamps_follow_the_monotonic_clock_when_the_wall_clock_steps_back(
    monkeypatch,
):
    clock = WallClock()
    first = clock.now()
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() - 3600.0)
    later = [clock.now() for _ in range(100)]
    assert all(b >= a for a, b in zip([first, *later], later, strict=False))
    assert later[-1] - first < 60.0  # an hour's step back never shows
    stamp = clock.stamp()
    assert len(stamp) == len("12:34:56.789")
    assert stamp[2] == stamp[5] == ":"
