"""The Tango device the green-proxy tests talk to, in a real device server.

The server runs in its own process (see
:mod:`HardwareRepository.testing.tango_servers`), so the class stays at module
level.
"""

from __future__ import annotations

import time

import numpy
from tango import AttrWriteType, DevState, Except
from tango.server import Device, attribute, command

__all__ = ["WAVE_LENGTH", "GreenTestDevice"]

WAVE_LENGTH = 256


class GreenTestDevice(Device):
    """A spectrum, a writable scalar, a pushed counter and slow or failing commands."""

    def init_device(self) -> None:
        super().init_device()
        self._level = 1.0
        self._count = 0
        self.set_change_event("Count", True, False)
        self.set_state(DevState.ON)
        self.set_status("all good")

    @attribute(dtype=(float,), max_dim_x=4096)
    def wave(self):
        """A sine over ``WAVE_LENGTH`` points."""
        return numpy.sin(numpy.linspace(0, 2 * numpy.pi, WAVE_LENGTH))

    @attribute(dtype=float, access=AttrWriteType.READ_WRITE, unit="mm")
    def Level(self):
        return self._level

    @Level.write
    def Level(self, value: float) -> None:
        self._level = value

    @attribute(dtype=int)
    def Count(self):
        return self._count

    @command(dtype_in=str, dtype_out=str)
    def Echo(self, text: str) -> str:
        return text

    @command(dtype_in=float, dtype_out=float)
    def Sleep(self, seconds: float) -> float:
        time.sleep(seconds)
        return seconds

    @command
    def Fail(self) -> None:
        Except.throw_exception(
            "TEST_CommandFailed", "Fail always fails", "GreenTestDevice.Fail"
        )

    @command(dtype_in=int)
    def PushCount(self, count: int) -> None:
        """Push ``Count`` + 1 ... ``Count`` + ``count``, as fast as possible."""
        for _ in range(count):
            self._count += 1
            self.push_change_event("Count", self._count)
