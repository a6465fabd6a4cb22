"""The channel recorder as a Tango device: any Tango client starts and stops recordings.

The device loads a hardware-object configuration (property ``Configuration``)
in a thread of its own (a :class:`~HardwareRepository.bridge.Thread` owning
the hardware objects and a :class:`SessionRecorder`); Tango's request threads
hand their calls to it. State and Status are computed when read; their
changes are pushed as change events by another thread, so that a command
never waits for an event to be sent.

Interface:

* State/Status: INIT (loading), ON (idle), RUNNING (a recording runs), OFF
  (shut down), FAULT (the last recording failed; Status says why).
* ``StartRecording([path, channel, ...])``: record the channels
  (``"/object.channel"``) into a new file ``path``.
* ``StopRecording()``: stop every running recording (files are closed).
* ``KillRecording()``: stop at once, dropping what is queued (status FAILED).
* Attributes: ``CurrentFile``, ``RecordedChannels`` and ``SampleCounts`` (same
  order), ``Warnings``, ``RecordingState``.

Run it without a Tango database with ``python -m HardwareRepository.recording``
(see :mod:`HardwareRepository.recording.__main__`).
"""

from __future__ import annotations

import logging
from typing import Any

from tango import DevState, Except
from tango.server import Device, attribute, command, device_property

from ..bridge import Queue, Thread
from ._session import SessionRecorder, SessionState

__all__ = ["ChannelRecorderDevice"]

log = logging.getLogger("HardwareRepository.recording")

_TANGO_STATES = {
    SessionState.INIT: DevState.INIT,
    SessionState.ON: DevState.ON,
    SessionState.RUNNING: DevState.RUNNING,
    SessionState.OFF: DevState.OFF,
    SessionState.FAULT: DevState.FAULT,
}
_CALL_TIMEOUT = 60.0  # s, for a command handed to the owning thread


class ChannelRecorderDevice(Device):
    """Record hardware-object channels to NeXus files on request."""

    Configuration = device_property(
        dtype=str, doc="the hardware-object configuration path (directories, ':')"
    )
    Mode = device_property(
        dtype=str, default_value="parallel", doc="'parallel' or 'concurrent'"
    )
    MinFreeMegabytes = device_property(
        dtype=float, default_value=200.0, doc="no recording below this much space"
    )

    def init_device(self) -> None:
        """Load the configuration in the owning thread and start the session."""
        super().init_device()
        self.set_state(DevState.INIT)
        self.set_status("loading the configuration")
        self.set_change_event("State", True, False)
        self.set_change_event("Status", True, False)
        self._session: SessionRecorder | None = None
        self._repository: Any = None
        self._published: Queue[tuple[DevState, str] | None] = Queue()
        self._publisher = Thread(self._publish_loop, name="recorder-events")
        self._publisher.start()
        self._owner = Thread(name="recorder-owner")
        self._owner.start()
        try:
            self._owner.apply(self._setup, timeout=_CALL_TIMEOUT)
        except Exception as exc:
            log.exception("the recorder could not load %s", self.Configuration)
            self._show(DevState.FAULT, f"cannot load {self.Configuration!r}: {exc}")

    def _setup(self) -> None:
        from ..HardwareRepository import init_hardware_repository

        if not self.Configuration:
            raise ValueError("the device property Configuration is not set")
        self._repository = init_hardware_repository(self.Configuration)
        session = SessionRecorder(
            self._repository,
            mode=self.Mode,
            min_free_bytes=int(self.MinFreeMegabytes * 1e6),
        )
        self._session = session
        session.add_state_listener(self._on_session_change)
        session.start()

    def delete_device(self) -> None:
        """Stop every recording (closing the files) and release the objects."""
        try:
            self._owner.apply(self._teardown, timeout=_CALL_TIMEOUT)
        except Exception:
            log.exception("stopping the recorder failed")
        finally:
            self._owner.stop(timeout=10)
            self._published.put(None)
            self._publisher.join(10)
            super().delete_device()

    def _teardown(self) -> None:
        from ..HardwareRepository import uninit_hardware_repository

        if self._session is not None:
            self._session.stop()
        if self._repository is not None:
            uninit_hardware_repository()

    # -- state and events ------------------------------------------------------
    def dev_state(self) -> DevState:
        """Return the session's state, current when the client asks."""
        session = self._session
        return self.get_state() if session is None else _TANGO_STATES[session.state]

    def dev_status(self) -> str:
        """Return the session's status: one line per recent recording."""
        session = self._session
        return self.get_status() if session is None else session.status()

    def _on_session_change(self) -> None:
        # Owning thread: compute now, publish from the publisher thread.
        session = self._session
        if session is None:
            return
        state = session.state
        text = session.status()
        self._published.put((_TANGO_STATES[state], text))

    def _publish_loop(self) -> None:
        while True:
            item = self._published.get()
            if item is None:
                return
            try:
                self._show(*item)
            except Exception:
                log.exception("publishing the recorder's state failed")

    def _show(self, state: DevState, status: str) -> None:
        self.set_state(state)
        self.set_status(status)
        self.push_change_event("State", state)
        self.push_change_event("Status", status)

    def _call(self, func: Any, *args: Any) -> Any:
        """Run ``func(*args)`` in the owning thread; turn errors into DevFailed."""
        if self._session is None:
            Except.throw_exception(
                "RecorderNotReady",
                f"the recorder is not ready: {self.get_status()}",
                "ChannelRecorderDevice",
            )
        try:
            return self._owner.apply(func, *args, timeout=_CALL_TIMEOUT)
        except Exception as exc:
            Except.throw_exception(
                type(exc).__name__,
                " ".join(str(exc).split()) or type(exc).__name__,
                "ChannelRecorderDevice",
            )

    # -- commands --------------------------------------------------------------
    @command(
        dtype_in=(str,),
        doc_in="the file path, then the channels ('/object.channel')",
        dtype_out=str,
        doc_out="the file recorded into",
    )
    def StartRecording(self, argin: list[str]) -> str:
        """Start recording channels into a new file."""
        if len(argin) < 2:
            Except.throw_exception(
                "BadArguments",
                "give the file path, then at least one channel",
                "ChannelRecorderDevice.StartRecording",
            )
        path, *channels = argin
        return str(self._call(self._start, channels, path))

    def _start(self, channels: list[str], path: str) -> str:
        assert self._session is not None  # checked by _call
        return self._session.start_recording(channels, path).path

    @command(dtype_out=int, doc_out="how many recordings were stopped")
    def StopRecording(self) -> int:
        """Stop every running recording; their files are closed."""
        return int(self._call(lambda: len(self._require().stop_recording())))

    @command(dtype_out=int, doc_out="how many recordings were killed")
    def KillRecording(self) -> int:
        """Stop every running recording at once, dropping queued samples."""
        return int(self._call(lambda: len(self._require().kill_recording())))

    def _require(self) -> SessionRecorder:
        assert self._session is not None  # checked by _call
        return self._session

    # -- attributes ------------------------------------------------------------
    def _current_info(self) -> dict[str, Any] | None:
        session = self._session
        current = session.current if session is not None else None
        return None if current is None else current.info()

    @attribute(dtype=str, doc="the file of the latest recording ('' before one)")
    def CurrentFile(self) -> str:
        """Return the file of the latest recording."""
        info = self._current_info()
        return "" if info is None else str(info["path"])

    @attribute(dtype=str, doc="the latest recording's state (INIT/ON/OFF/FAULT)")
    def RecordingState(self) -> str:
        """Return the latest recording's state."""
        info = self._current_info()
        return "" if info is None else str(info["state"])

    @attribute(
        dtype=(str,), max_dim_x=10000, doc="the channels of the latest recording"
    )
    def RecordedChannels(self) -> list[str]:
        """Return the channels recorded by the latest recording."""
        info = self._current_info()
        return [] if info is None else list(info["channels"])

    @attribute(
        dtype=(int,), max_dim_x=10000, doc="samples written per channel (same order)"
    )
    def SampleCounts(self) -> list[int]:
        """Return the samples written per channel of the latest recording."""
        info = self._current_info()
        if info is None:
            return []
        return [int(c["written"]) for c in info["channels"].values()]

    @attribute(dtype=(str,), max_dim_x=10000, doc="the latest recording's warnings")
    def Warnings(self) -> list[str]:
        """Return the latest recording's warnings."""
        info = self._current_info()
        return [] if info is None else [str(w) for w in info["warnings"]]
