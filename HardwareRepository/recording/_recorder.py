"""Record hardware-object channels to a NeXus file: :class:`ChannelRecorder`."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from typing import Any

import gevent

from ..bridge import AsyncResult
from ._channels import ResolvedChannel, control_system_units, resolve_channels
from ._nexus import (
    ChannelLayout,
    DiskSpaceError,
    NexusLogFile,
    RecordingError,
    check_free_space,
)
from ._subscriber import Mode, Subscriber, SubscriberState

__all__ = ["ChannelRecorder"]

# the kinds of the events queued for the file
_VALUE = 0
_CONNECTION = 1
_UNITS = 2
_WARNING = 3

#: no recording starts below this much free space (bytes)
MIN_FREE_BYTES = 200 * 1000**2
#: a warning is recorded below this much free space (bytes)
WARN_FREE_BYTES = 1000**3
#: seconds to wait for a units request still running when the recording stops
_UNITS_TIMEOUT = 5.0
#: the longest time between two flushes (seconds)
MAX_FLUSH_INTERVAL = 0.5


class ChannelRecorder(Subscriber):
    """Record channels of hardware objects to one NeXus file.

    Every ``update`` of each channel becomes a sample of its ``NXlog`` (value,
    time, quality); every connection change is recorded too, so a gap shows
    where a channel was disconnected. The layout is described in
    ``docs/recording.md``.

    Create, start, stop and kill it in the thread that owns the hardware
    objects (their hub thread). The file is written by the consumer: a
    separate thread in ``"parallel"`` mode (HDF5 writes release the GIL), or
    a greenlet of the owning thread in ``"concurrent"`` mode. Samples are
    flushed at least every ``flush_interval`` seconds, so a reader sees them
    while the recording goes on. The file is opened with HDF5 file locking:
    a reader opens it with ``locking=False`` (or ``swmr=True`` when the
    recorder runs with ``swmr=True``).

    A channel that cannot be opened (unknown object or channel, an object
    that failed to load) is a warning (:attr:`warnings`, and in the file); the
    others are recorded.

    Args:
        channels: ``"/object.channel"`` names as ``hwr`` writes them, or
            ``(name, channel_object)`` pairs.
        path: the file to create (its directory must exist).
        mode: ``"parallel"`` or ``"concurrent"`` (see :class:`Subscriber`).
        repository: where the objects are; default: the application's
            repository (``HardwareRepository.get_hardware_repository()``).
        swmr: write in HDF5 single-writer/multiple-reader mode.
        overwrite: replace an existing file (default: refuse).
        min_free_bytes: refuse to start, and stop in FAULT while recording,
            below this much free space where the file is.
        flush_interval: seconds between flushes (at most 0.5).
        maxsize: the queue bound in events (see :class:`Subscriber`).
        units: units per channel name, overriding what the objects say
            (motor positions take their object's unit).
        title: the NeXus entry's title.

    Raises:
        ValueError: ``flush_interval`` is not in (0, 0.5], or no channel is
            given.
    """

    def __init__(
        self,
        channels: Iterable[str | tuple[str, Any]],
        path: str | os.PathLike[str],
        mode: Mode = "parallel",
        repository: Any = None,
        *,
        swmr: bool = False,
        overwrite: bool = False,
        min_free_bytes: int = MIN_FREE_BYTES,
        flush_interval: float = MAX_FLUSH_INTERVAL,
        maxsize: int = 1_000_000,
        units: Mapping[str, str] | None = None,
        title: str = "",
    ) -> None:
        if not 0 < flush_interval <= MAX_FLUSH_INTERVAL:
            raise ValueError(
                f"flush_interval must be in (0, {MAX_FLUSH_INTERVAL}] s, "
                f"not {flush_interval!r}"
            )
        self.path = os.path.abspath(os.fspath(path))
        super().__init__(
            mode=mode,
            maxsize=maxsize,
            tick=flush_interval,
            name=f"recorder {os.path.basename(self.path)}",
        )
        names = list(channels)
        if not names:
            raise ValueError(f"{self.path}: no channel to record")
        if repository is None and any(isinstance(n, str) for n in names):
            from ..HardwareRepository import get_hardware_repository

            repository = get_hardware_repository()
        self.swmr = swmr
        self.overwrite = overwrite
        self.min_free_bytes = min_free_bytes
        self.title = title
        self.resolved: list[ResolvedChannel] = resolve_channels(
            names, repository, units
        )
        #: the problems met so far (channels not opened, disconnections, disk)
        self.warnings: list[str] = [
            f"{item.name}: cannot be recorded: {item.problem}"
            for item in self.resolved
            if item.channel is None
        ]
        self._recorded = [item for item in self.resolved if item.channel is not None]
        # per recorded channel; received and dropped in the owning thread
        self._channel_received = [0] * len(self._recorded)
        self._channel_dropped = [0] * len(self._recorded)
        self._receivers: list[tuple[Any, Any, Any]] = []
        # owning thread only
        self._was_connected = [False] * len(self._recorded)
        self._units_asked: set[int] = set()
        self._unit_requests: list[AsyncResult[None]] = []
        self._file: NexusLogFile | None = None
        self._start_wall = 0.0
        self._low_space_warned = False
        self._disk_refused = False  # the last flush was refused for lack of space

    # -- control -----------------------------------------------------------
    def start(self, wait: bool = True, timeout: float | None = 30.0) -> None:
        """Check the disk space and the file, then start recording: INIT -> ON.

        Unlike :meth:`Subscriber.start` it waits by default, so that a file
        that cannot be created raises here.

        Raises:
            RecordingError: no channel can be opened, or there is not enough
                disk space (:class:`DiskSpaceError`); the recorder is in FAULT.
            FileExistsError: the file exists and ``overwrite`` is false.
            SubscriberError: with ``wait``, the file could not be created.
        """
        try:
            if not self._recorded:
                raise RecordingError(
                    f"{self.path}: none of the channels can be recorded: "
                    + "; ".join(self.warnings)
                )
            if os.path.exists(self.path) and not self.overwrite:
                raise FileExistsError(f"{self.path}: the file exists already")
            check_free_space(self.path, self.min_free_bytes)
        except Exception as exc:
            reason = " ".join(f"{type(exc).__name__}: {exc}".split())
            self._end_unstarted(SubscriberState.FAULT, reason)
            raise
        self._start_wall = time.time()
        super().start(wait=wait, timeout=timeout)

    def info(self) -> dict[str, Any]:
        """Return :meth:`Subscriber.info` plus ``path``, ``channels`` and ``warnings``.

        ``channels`` maps each recorded channel name to its counters:
        ``received`` (events queued), ``dropped`` (refused: queue full) and
        ``written`` (samples in the file).
        """
        info = super().info()
        file = self._file
        info["path"] = self.path
        info["channels"] = {
            item.name: {
                "received": self._channel_received[index],
                "dropped": self._channel_dropped[index],
                "written": file.written(index) if file is not None else 0,
            }
            for index, item in enumerate(self._recorded)
        }
        info["warnings"] = list(self.warnings)
        return info

    def sample_counts(self) -> dict[str, int]:
        """Return the samples written so far per channel name (not opened: 0)."""
        written = {
            name: counts["written"] for name, counts in self.info()["channels"].items()
        }
        return {item.name: written.get(item.name, 0) for item in self.resolved}

    # -- hooks ---------------------------------------------------------------
    def _prepare(self) -> None:
        layouts = [
            ChannelLayout(item.name, item.source(), item.units)
            for item in self._recorded
        ]
        self._file = NexusLogFile(
            self.path,
            layouts,
            self._start_wall,
            title=self.title,
            swmr=self.swmr,
            overwrite=self.overwrite,
        )
        for message in self.warnings:
            self._file.warn(message)

    def _subscribe(self) -> None:
        now = time.time()
        for index, item in enumerate(self._recorded):
            channel = item.channel

            def on_update(
                value: Any, index: int = index, channel: Any = channel
            ) -> None:
                self._on_value(index, channel, value)

            def on_connection(connected: bool, index: int = index) -> None:
                self._on_connection(index, connected, time.time())

            self._receivers.append((channel, on_update, on_connection))
            connected = channel.is_connected()
            self._was_connected[index] = connected
            self._receive((index, _CONNECTION, connected, now, ""), droppable=False)
            channel.connect_signal("connectionStateChanged", on_connection, weak=False)
            channel.connect_signal("update", on_update, weak=False)
            if connected:
                self._learn_units(index)

    def _unsubscribe(self) -> None:
        for channel, on_update, on_connection in self._receivers:
            channel.disconnect_signal("update", on_update)
            channel.disconnect_signal("connectionStateChanged", on_connection)
        self._receivers.clear()
        for request in self._unit_requests:  # each waits 1 s at most
            request.wait(_UNITS_TIMEOUT)

    def _on_value(self, index: int, channel: Any, value: Any) -> None:
        stamp = channel.timestamp if channel.timestamp is not None else time.time()
        event = (index, _VALUE, value, stamp, channel.get_quality().name)
        if self._receive(event):
            self._channel_received[index] += 1
        elif not self._stop_requested.is_set():
            self._channel_dropped[index] += 1

    def _on_connection(self, index: int, connected: bool, wall: float) -> None:
        was_connected, self._was_connected[index] = (
            self._was_connected[index],
            connected,
        )
        if was_connected and not connected:
            when = time.strftime("%H:%M:%S", time.localtime(wall))
            message = f"{self._recorded[index].name}: disconnected at {when}"
            self.warnings.append(message)
            self._receive((index, _WARNING, message, wall, ""), droppable=False)
        # A connection change is never dropped: without it a gap would not show.
        self._receive((index, _CONNECTION, connected, wall, ""), droppable=False)
        if connected:
            self._learn_units(index)

    def _learn_units(self, index: int) -> None:
        """Ask the control system for the units of a channel that has none yet."""
        item = self._recorded[index]
        if item.units or index in self._units_asked:
            return
        self._units_asked.add(index)
        self._unit_requests.append(self._launcher.apply_async(self._fetch_units, index))

    def _fetch_units(self, index: int) -> None:
        item = self._recorded[index]
        units = control_system_units(item.channel, item.name)
        if units and not self._stop_requested.is_set():
            item.units = units
            self._receive((index, _UNITS, units, time.time(), ""), droppable=False)

    def _consume(self, events: list[Any]) -> None:
        file = self._file
        assert file is not None  # created by _prepare
        for index, kind, payload, wall, quality in events:
            if kind == _VALUE:
                file.add_sample(index, wall, payload, quality)
            elif kind == _CONNECTION:
                file.add_connection(index, wall, payload)
            elif kind == _UNITS:
                file.set_units(index, payload)
            else:
                file.warn(f"{payload} (gap recorded)")

    def _tick(self) -> None:
        file = self._file
        assert file is not None  # created by _prepare
        for index, count in enumerate(self._channel_dropped):
            file.set_dropped(index, count)
        # Stop before the disk is full: an HDF5 file whose write fails for
        # lack of space cannot be closed (h5py #914, #2160), so the check
        # counts what this flush is about to write.
        try:
            free = check_free_space(
                self.path, self.min_free_bytes + file.pending_bytes()
            )
        except DiskSpaceError:
            self._disk_refused = True
            raise
        if free < WARN_FREE_BYTES and not self._low_space_warned:
            self._low_space_warned = True
            message = f"{self.path}: only {free / 1e6:.0f} MB free"
            self.warnings.append(message)
            file.warn(message)
        file.flush(pause=self._pause)

    def _pause(self) -> None:
        # Between two channels of a flush: let the owning thread's greenlets
        # run (concurrent mode) or hand the GIL over (parallel mode).
        if self.mode == "concurrent":
            gevent.sleep(0)
        else:
            time.sleep(0)

    def _finish(self, state: SubscriberState, reason: str) -> None:
        file = self._file
        if file is None:
            return
        for index, count in enumerate(self._channel_dropped):
            file.set_dropped(index, count)
        status = "SUCCEEDED" if state is SubscriberState.OFF else "FAILED"
        file.close(status, reason, time.time(), discard=self._disk_refused)
