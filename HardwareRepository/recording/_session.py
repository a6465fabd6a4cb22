"""One :class:`ChannelRecorder` per recording: :class:`SessionRecorder`."""

from __future__ import annotations

import enum
import logging
import os
from collections.abc import Callable, Iterable
from typing import Any

from ..bridge import Launcher
from ._nexus import RecordingError
from ._recorder import ChannelRecorder
from ._subscriber import Mode, SubscriberState

__all__ = ["SessionRecorder", "SessionState"]

log = logging.getLogger("HardwareRepository.recording")


class SessionState(enum.Enum):
    """The states of a :class:`SessionRecorder`."""

    INIT = "INIT"
    ON = "ON"
    RUNNING = "RUNNING"
    OFF = "OFF"
    FAULT = "FAULT"


class SessionRecorder:
    """Start one :class:`ChannelRecorder` per recording and follow their states.

    States: INIT (created), ON (started, no recording running), RUNNING (at
    least one recording is ON), OFF (stopped), FAULT (the last recording that
    ended failed; :attr:`reason` says why; the next recording clears it).

    Create and drive it in the thread that owns the hardware objects.
    Listeners added with :meth:`add_state_listener` are called in that thread
    whenever the state or a recording's state may have changed.

    Args:
        repository: where the objects are (default: the application's).
        mode: the recorders' mode, ``"parallel"`` or ``"concurrent"``.
        keep: how many ended recordings :attr:`recordings` keeps.
        options: keyword arguments for every :class:`ChannelRecorder`
            (``swmr``, ``min_free_bytes``, ...).
    """

    def __init__(
        self,
        repository: Any = None,
        *,
        mode: Mode = "parallel",
        keep: int = 200,
        **options: Any,
    ) -> None:
        self.repository = repository
        self.mode: Mode = mode
        self.keep = keep
        self.options = options
        self._state = SessionState.INIT
        self._reason = ""
        self._listeners: list[Callable[[], None]] = []
        self._launcher = Launcher()
        #: the recordings, oldest first (at most ``keep`` ended ones)
        self.recordings: list[ChannelRecorder] = []

    def __repr__(self) -> str:
        return f"<SessionRecorder {self.state.name}, {len(self.recordings)} recordings>"

    # -- state ---------------------------------------------------------------
    @property
    def state(self) -> SessionState:
        """The session's state (RUNNING while a recording is ON)."""
        if self._state is SessionState.ON:
            if any(rec.state is SubscriberState.ON for rec in self.recordings):
                return SessionState.RUNNING
            last = self.recordings[-1] if self.recordings else None
            if last is not None and last.state is SubscriberState.FAULT:
                return SessionState.FAULT
        return self._state

    @property
    def reason(self) -> str:
        """Why the session is in FAULT (``""`` otherwise)."""
        if self.state is SessionState.FAULT and self.recordings:
            return f"{self.recordings[-1].path}: {self.recordings[-1].reason}"
        return self._reason

    def status(self) -> str:
        """Return one line per recording: file, state, samples, warnings."""
        lines = [
            f"session {self.state.name}" + (f": {self.reason}" if self.reason else "")
        ]
        for rec in self.recordings[-10:]:
            info = rec.info()
            samples = sum(c["written"] for c in info["channels"].values())
            lines.append(
                f"{rec.path}: {info['state']}, {samples} samples, "
                f"{len(info['warnings'])} warnings"
                + (f", {info['reason']}" if info["reason"] else "")
            )
        return "\n".join(lines)

    @property
    def current(self) -> ChannelRecorder | None:
        """The most recent recording, running or not (``None`` before the first)."""
        return self.recordings[-1] if self.recordings else None

    def add_state_listener(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` (owning thread) after every possible state change."""
        self._listeners.append(callback)

    def _notify(self) -> None:
        for callback in list(self._listeners):
            try:
                callback()
            except Exception:
                log.exception("session state listener %r failed", callback)

    # -- control -------------------------------------------------------------
    def start(self) -> None:
        """Accept recordings: INIT -> ON."""
        if self._state is SessionState.INIT:
            self._state = SessionState.ON
            self._notify()

    def stop(self, timeout: float | None = 10.0) -> None:
        """Stop every running recording (their files are closed), then OFF.

        Raises:
            Timeout: a recording did not end within ``timeout`` seconds.
        """
        try:
            for rec in self.recordings:
                if not rec.done():
                    rec.stop(wait=True, timeout=timeout)
        finally:
            self._state = SessionState.OFF
            self._launcher.kill_all()
            self._notify()

    def start_recording(
        self, channels: Iterable[str | tuple[str, Any]], path: str | os.PathLike[str]
    ) -> ChannelRecorder:
        """Start a new recording of ``channels`` into ``path`` and return it.

        Raises:
            RecordingError: the session is not started, or the recording could
                not start (no channel opened, not enough disk space).
            FileExistsError: the file exists.
        """
        if self._state is not SessionState.ON:
            raise RecordingError(
                f"the recording session is {self._state.name}: start it first"
            )
        recorder = ChannelRecorder(
            channels, path, self.mode, self.repository, **self.options
        )
        self.recordings.append(recorder)
        self._trim()
        try:
            recorder.start(wait=True)
        finally:
            self._notify()
        self._launcher.apply_async(self._follow, recorder)
        return recorder

    def _follow(self, recorder: ChannelRecorder) -> None:
        recorder.join()
        self._notify()

    def _trim(self) -> None:
        ended = [rec for rec in self.recordings if rec.done()]
        for rec in ended[: max(0, len(ended) - self.keep)]:
            self.recordings.remove(rec)

    def _find(self, path: str | os.PathLike[str] | None) -> list[ChannelRecorder]:
        running = [rec for rec in self.recordings if not rec.done()]
        if path is None:
            return running
        wanted = os.path.abspath(os.fspath(path))
        return [rec for rec in running if rec.path == wanted]

    def stop_recording(
        self, path: str | os.PathLike[str] | None = None, timeout: float | None = 10.0
    ) -> list[ChannelRecorder]:
        """Stop the running recording into ``path`` (default: every running one).

        Returns:
            The recordings stopped (their files are closed).

        Raises:
            Timeout: a recording did not end within ``timeout`` seconds.
        """
        stopped = self._find(path)
        for rec in stopped:
            rec.stop(wait=True, timeout=timeout)
        self._notify()
        return stopped

    def kill_recording(
        self, path: str | os.PathLike[str] | None = None, timeout: float | None = 10.0
    ) -> list[ChannelRecorder]:
        """Kill the running recording into ``path`` (default: every one): FAULT.

        Returns:
            The recordings killed (their files are closed, status FAILED).
        """
        killed = self._find(path)
        for rec in killed:
            rec.kill(wait=True, timeout=timeout)
        self._notify()
        return killed
