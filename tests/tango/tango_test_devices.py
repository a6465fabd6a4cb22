"""Tango device classes the Tango tests run in real device servers.

Each server runs in its own process (see
:mod:`HardwareRepository.testing.tango_servers`), so these classes must stay at
module level. Attributes are of three kinds:

* with change events pushed by the device itself (``set_change_event``);
* polled by the server without event criteria (``Unconfigured``): subscribing
  fails with ``API_EventPropertiesNotSet``;
* neither polled nor pushed (``Counter``, ``Pid``): subscribing fails with
  ``API_AttributePollingNotStarted``.
"""

from __future__ import annotations

import enum
import os
import time

import numpy
from tango import AttrQuality, AttrWriteType, DevState, Except
from tango.server import Device, attribute, command

__all__ = ["Mode", "ValuesDevice"]

PUSHED = ("Scalar", "Spectrum", "Image", "Text", "Mode", "Reading", "Sequence", "State")


class Mode(enum.IntEnum):
    """Values of the ``Mode`` enum attribute."""

    OFF = 0
    STANDBY = 1
    RUNNING = 2


class ValuesDevice(Device):
    """Attributes of every type, commands that succeed, fail or take long."""

    def init_device(self) -> None:
        super().init_device()
        self._scalar = 1.5
        self._spectrum = numpy.arange(5, dtype=numpy.float64)
        self._image = numpy.arange(12, dtype=numpy.uint16).reshape(3, 4)
        self._text = "hello"
        self._mode = Mode.STANDBY
        self._flag = False
        self._counter = 0
        self._reading = 0.0
        self._reading_quality = AttrQuality.ATTR_VALID
        self._sequence = 0
        for name in PUSHED:
            self.set_change_event(name, True, False)
        self.set_state(DevState.ON)

    def _push(self, name: str, value) -> None:
        self.push_change_event(name, value)

    # -- attributes with events pushed by the device ------------------------------
    @attribute(dtype=float, access=AttrWriteType.READ_WRITE, unit="mm", format="%6.3f")
    def Scalar(self):
        return self._scalar

    @Scalar.write
    def Scalar(self, value: float) -> None:
        self._scalar = value
        self._push("Scalar", value)

    @attribute(dtype=(float,), max_dim_x=4096, access=AttrWriteType.READ_WRITE)
    def Spectrum(self):
        return self._spectrum

    @Spectrum.write
    def Spectrum(self, value) -> None:
        self._spectrum = numpy.asarray(value, dtype=numpy.float64)
        self._push("Spectrum", self._spectrum)

    @attribute(
        dtype=((numpy.uint16,),),
        max_dim_x=256,
        max_dim_y=256,
        access=AttrWriteType.READ_WRITE,
    )
    def Image(self):
        return self._image

    @Image.write
    def Image(self, value) -> None:
        self._image = numpy.asarray(value, dtype=numpy.uint16)
        self._push("Image", self._image)

    @attribute(dtype=str, access=AttrWriteType.READ_WRITE)
    def Text(self):
        return self._text

    @Text.write
    def Text(self, value: str) -> None:
        self._text = value
        self._push("Text", value)

    @attribute(dtype=Mode, access=AttrWriteType.READ_WRITE)
    def Mode(self):
        return self._mode

    @Mode.write
    def Mode(self, value) -> None:
        self._mode = Mode(value)
        self._push("Mode", int(self._mode))

    @attribute(dtype=float)
    def Reading(self):
        return self._reading, time.time(), self._reading_quality

    @attribute(dtype=int)
    def Sequence(self):
        return self._sequence

    # -- attributes without events -------------------------------------------------
    @attribute(dtype=(numpy.uint8,), max_dim_x=64)
    def Bytes(self):
        """The text as UTF-8 bytes (``read_as_str`` gives the text back)."""
        return numpy.frombuffer(self._text.encode(), dtype=numpy.uint8)

    @attribute(dtype=bool, access=AttrWriteType.READ_WRITE)
    def Flag(self):
        return self._flag

    @Flag.write
    def Flag(self, value: bool) -> None:
        self._flag = value

    @attribute(dtype=int, access=AttrWriteType.READ_WRITE)
    def Counter(self):
        return self._counter

    @Counter.write
    def Counter(self, value: int) -> None:
        self._counter = value

    @attribute(dtype=int)
    def Pid(self):
        """The server's process id: a new value after every restart."""
        return os.getpid()

    @attribute(dtype=float, polling_period=200)
    def Unconfigured(self):
        """Polled by the server, but no change criteria: no change events."""
        return self._scalar

    @attribute(dtype=float)
    def Broken(self):
        Except.throw_exception(
            "TEST_ReadFailed", "this attribute always fails", "ValuesDevice.Broken"
        )

    # -- commands --------------------------------------------------------------------
    @command(dtype_in=str, dtype_out=str)
    def Echo(self, text: str) -> str:
        return text

    @command(dtype_in=(float,), dtype_out=float)
    def Sum(self, values) -> float:
        return float(numpy.sum(values))

    @command(dtype_in=(float,), dtype_out=(float,))
    def Double(self, values):
        return numpy.asarray(values) * 2

    @command
    def Nothing(self) -> None:
        """Return nothing: the client gets ``None`` on success."""

    @command
    def Fail(self) -> None:
        Except.throw_exception(
            "TEST_CommandFailed", "the Fail command always fails", "ValuesDevice.Fail"
        )

    @command(dtype_in=float, dtype_out=float)
    def Sleep(self, seconds: float) -> float:
        time.sleep(seconds)
        return seconds

    @command(dtype_in=str)
    def SetDeviceState(self, name: str) -> None:
        state = DevState.names[name]
        self.set_state(state)
        self.push_change_event("State", state)

    @command(dtype_in=(float,))
    def PushReading(self, value_and_quality) -> None:
        """Push ``Reading`` = value with quality ``AttrQuality(int)``."""
        value, quality = value_and_quality
        self._reading = value
        self._reading_quality = AttrQuality(int(quality))
        self.push_change_event("Reading", value, time.time(), self._reading_quality)

    @command(dtype_in=int)
    def PushSequence(self, count: int) -> None:
        """Push ``Sequence`` = 1, 2, ... ``count`` as fast as possible."""
        for value in range(1, count + 1):
            self._sequence = value
            self.push_change_event("Sequence", value)

    @command(dtype_in=int)
    def SetSequenceSilently(self, value: int) -> None:
        """Change ``Sequence`` without an event (as if Tango had lost it)."""
        self._sequence = value

    @command(dtype_in=(float,))
    def PushSequenceFor(self, rate_and_seconds) -> None:
        """Push ``Sequence`` = 1, 2, ... at ``rate`` Hz for ``seconds``."""
        rate, seconds = rate_and_seconds
        start = time.monotonic()
        count = round(rate * seconds)
        for value in range(1, count + 1):
            self._sequence = value
            self.push_change_event("Sequence", value)
            delay = start + value / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
