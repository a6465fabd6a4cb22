"""The NeXus file of one recording: an ``NXentry`` with one ``NXlog`` per channel.

Layout (``n`` samples, ``m`` connection changes of a channel)::

    /                       file_name, file_time, creator, default=entry
    /entry                  NXentry: title, start_time, end_time
    /entry/writer           NXnote: data (STARTING/RUNNING/SUCCEEDED/FAILED),
                            description (why it failed), warnings[k]
                            (end_time, data, description: fixed-length bytes)
    /entry/logs             NXcollection
    /entry/logs/<channel>   NXlog (attributes channel, source)
        value[n, ...]       the values (arrays keep their shape); units
        time[n]             seconds since time@start (ISO 8601); units = s
        quality[n]          enum VALID/WARNING/ALARM/CHANGING/INVALID/UNKNOWN
        connection_time[m]  seconds since the same start
        connected[m]        True when the channel (re)connected, False at a gap
        dropped_samples     events lost because the recorder's queue was full
        rejected_samples    values that did not fit the channel's first type

Every dataset is chunked and resizable along its first axis. Samples are
buffered in memory and written by :meth:`NexusLogFile.flush`.

One :class:`NexusLogFile` is used by one thread at a time (the recorder's
consumer); it is not thread-safe.
"""

from __future__ import annotations

import datetime
import enum
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import h5py
import numpy

from ..errors import HardwareRepositoryError

__all__ = [
    "QUALITY_CODES",
    "ChannelLayout",
    "DiskSpaceError",
    "NexusLogFile",
    "RecordingError",
    "check_free_space",
    "iso_time",
]

#: the codes of the ``quality`` enum datasets
QUALITY_CODES = {
    "VALID": 0,
    "WARNING": 1,
    "ALARM": 2,
    "CHANGING": 3,
    "INVALID": 4,
    "UNKNOWN": 5,
}
_QUALITY_DTYPE = h5py.enum_dtype(QUALITY_CODES, basetype="u1")
_STRING = h5py.string_dtype()
_CHUNK_BYTES = 1 << 20
_MAX_CHUNK_ROWS = 4096
_MAX_WARNINGS = 1000
_REASON_BYTES = 512


class RecordingError(HardwareRepositoryError):
    """A recording could not start or could not go on; the message says why."""


class DiskSpaceError(RecordingError):
    """Less free disk space than the recorder's threshold."""


def iso_time(wall: float) -> str:
    """Return ``wall`` (``time.time()`` seconds) as a local ISO 8601 time."""
    return datetime.datetime.fromtimestamp(wall).astimezone().isoformat()


def check_free_space(path: str | os.PathLike[str], min_free_bytes: int) -> int:
    """Return the free bytes where ``path`` is written; raise below the threshold.

    Args:
        path: a file (its directory is checked) or a directory.
        min_free_bytes: the least free space accepted.

    Raises:
        DiskSpaceError: fewer than ``min_free_bytes`` are free.
        OSError: the directory does not exist.
    """
    directory = (
        os.path.dirname(os.path.abspath(path)) if not os.path.isdir(path) else path
    )
    stats = os.statvfs(directory)
    free = stats.f_bavail * stats.f_frsize
    if free < min_free_bytes:
        raise DiskSpaceError(
            f"{os.fspath(path)}: only {free / 1e6:.1f} MB free on its file system, "
            f"below the recorder's threshold of {min_free_bytes / 1e6:.1f} MB"
        )
    return free


@dataclass
class ChannelLayout:
    """What the file knows of one recorded channel.

    Args:
        name: the channel's name as given (``"/object.channel"``).
        source: where the value comes from (device and attribute), for readers.
        units: the value's units, or ``""`` when not known.
    """

    name: str
    source: str = ""
    units: str = ""
    group: str = field(init=False)

    def __post_init__(self) -> None:
        self.group = self.name.lstrip("/").replace("/", ".")


class _Kind(enum.Enum):
    SCALAR = "scalar"
    STRING = "string"
    ARRAY = "array"


def _normalise(value: Any) -> Any:
    """Turn a channel value into what h5py stores (enums as names, lists as arrays)."""
    if isinstance(value, enum.Enum):
        return value.name
    if type(value).__name__ == "DevState":  # tango.DevState is no Python enum
        return str(value)
    if isinstance(value, (list, tuple)):
        return numpy.asarray(value)
    return value


class _ChannelLog:
    """The buffers and datasets of one channel."""

    def __init__(self, layout: ChannelLayout, group: h5py.Group) -> None:
        self.layout = layout
        self.group = group
        self.kind: _Kind | None = None
        self.dtype: Any = None
        self.shape: tuple[int, ...] = ()
        self.value: h5py.Dataset | None = None
        self.time = _extensible(group, "time", numpy.float64, ())
        self.quality = _extensible(group, "quality", _QUALITY_DTYPE, ())
        self.connection_time = _extensible(group, "connection_time", numpy.float64, ())
        self.connected = _extensible(group, "connected", numpy.bool_, ())
        self.dropped = group.create_dataset("dropped_samples", data=numpy.int64(0))
        self.rejected = group.create_dataset("rejected_samples", data=numpy.int64(0))
        self.samples: list[tuple[float, Any, int]] = []
        self.connections: list[tuple[float, bool]] = []
        self.written = 0  # samples on disk (counted once the file is flushed)
        self.unflushed = 0  # samples written to the file, not yet flushed
        self.rejected_count = 0
        self.dropped_count = 0

    def layout_value(self, sample: Any) -> None:
        """Create the ``value`` dataset for samples like ``sample``."""
        if isinstance(sample, numpy.ndarray) and sample.ndim > 0:
            self.kind = _Kind.ARRAY
            self.shape = sample.shape
            self.dtype = _STRING if sample.dtype.kind in "OUS" else sample.dtype
        elif isinstance(sample, (str, bytes)):
            self.kind, self.dtype = _Kind.STRING, _STRING
        elif isinstance(sample, (bool, numpy.bool_)):
            self.kind, self.dtype = _Kind.SCALAR, numpy.bool_
        elif isinstance(sample, (int, numpy.integer)):
            self.kind, self.dtype = _Kind.SCALAR, numpy.int64
        elif isinstance(sample, (float, numpy.floating)):
            self.kind, self.dtype = _Kind.SCALAR, numpy.float64
        else:
            self.kind, self.dtype = _Kind.STRING, _STRING
        self.value = _extensible(self.group, "value", self.dtype, self.shape)
        if self.layout.units:
            self.value.attrs["units"] = self.layout.units

    def convert(self, sample: Any) -> Any:
        """Return ``sample`` in the dataset's type.

        Raises:
            ValueError: an array of another shape.
            TypeError: a value of another kind (text for a number).
        """
        if self.kind is _Kind.ARRAY:
            array = numpy.asarray(sample)
            if array.shape != self.shape:
                raise ValueError(f"shape {array.shape} instead of {self.shape}")
            return array.astype(str) if self.dtype is _STRING else array
        if self.kind is _Kind.STRING:
            return sample if isinstance(sample, str) else str(sample)
        if isinstance(sample, (str, bytes, numpy.ndarray)):
            raise TypeError(f"{type(sample).__name__} instead of a number")
        return numpy.asarray(sample).astype(self.dtype, casting="same_kind")


def _extensible(
    group: h5py.Group, name: str, dtype: Any, shape: tuple[int, ...]
) -> h5py.Dataset:
    """Create a chunked dataset resizable along its first axis, with 0 rows."""
    itemsize = 16 if dtype is _STRING else numpy.dtype(dtype).itemsize
    row_bytes = itemsize * int(numpy.prod(shape, dtype=numpy.int64))
    rows = _chunk_rows(row_bytes)
    return group.create_dataset(
        name,
        shape=(0, *shape),
        maxshape=(None, *shape),
        dtype=dtype,
        chunks=(rows, *shape),
    )


def _chunk_rows(row_bytes: int) -> int:
    """Rows per chunk: about 1 MiB a chunk, at most 4096 rows."""
    return max(1, min(_MAX_CHUNK_ROWS, _CHUNK_BYTES // max(1, row_bytes)))


def _append(dataset: h5py.Dataset, rows: Any) -> None:
    start = dataset.shape[0]
    dataset.resize(start + len(rows), axis=0)
    dataset[start:] = rows


class NexusLogFile:
    """Write channel samples to a new NeXus file.

    Args:
        path: the file to create.
        channels: the channels recorded, in the order of their indexes.
        start_wall: the recording's start (``time.time()`` seconds): ``time@start``.
        title: the entry's title.
        swmr: open the file in single-writer/multiple-reader mode (HDF5 1.10+
            format): readers open it with ``swmr=True`` while it is written. The
            layout is fixed at the first flush; a channel that sent no value by
            then is recorded as floats.
        overwrite: replace an existing file instead of refusing.

    Raises:
        FileExistsError: ``path`` exists and ``overwrite`` is false.
        OSError: the file cannot be created (the message names it).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        channels: Sequence[ChannelLayout],
        start_wall: float,
        *,
        title: str = "",
        swmr: bool = False,
        overwrite: bool = False,
    ) -> None:
        self.path = os.fspath(path)
        self.start_wall = start_wall
        self.start_iso = iso_time(start_wall)
        self.swmr = swmr
        self._warnings_written = 0
        self.warnings: list[str] = []
        mode = "w" if overwrite else "w-"
        self._file = h5py.File(
            self.path, mode, libver="latest" if swmr else None, locking=True
        )
        try:
            self._layout(channels, title)
        except BaseException:
            self._file.close()
            raise

    def _layout(self, channels: Sequence[ChannelLayout], title: str) -> None:
        root = self._file
        root.attrs["file_name"] = self.path
        root.attrs["file_time"] = self.start_iso
        root.attrs["creator"] = "HardwareRepository.recording"
        root.attrs["default"] = "entry"
        entry = root.create_group("entry")
        entry.attrs["NX_class"] = "NXentry"
        entry.create_dataset("title", data=title or "channel recording")
        entry.create_dataset("start_time", data=self.start_iso)
        # Written at the end, in place: fixed-length strings allocated now, so
        # that the last write needs no new space (a full disk) and the
        # datasets exist in SWMR mode.
        self._end_time = entry.create_dataset(
            "end_time", data=numpy.bytes_(b""), dtype="S40"
        )
        writer = entry.create_group("writer")
        writer.attrs["NX_class"] = "NXnote"
        writer.create_dataset("type", data="text/plain")
        self._status = writer.create_dataset(
            "data", data=numpy.bytes_(b"STARTING"), dtype="S16"
        )
        self._reason = writer.create_dataset(
            "description", data=numpy.bytes_(b""), dtype=f"S{_REASON_BYTES}"
        )
        self._warnings = _extensible(writer, "warnings", _STRING, ())
        logs = entry.create_group("logs")
        logs.attrs["NX_class"] = "NXcollection"
        self.channels: list[_ChannelLog] = []
        for layout in channels:
            group = logs.create_group(layout.group)
            group.attrs["NX_class"] = "NXlog"
            group.attrs["channel"] = layout.name
            group.attrs["source"] = layout.source
            log = _ChannelLog(layout, group)
            log.time.attrs["start"] = self.start_iso
            log.time.attrs["units"] = "s"
            log.connection_time.attrs["start"] = self.start_iso
            log.connection_time.attrs["units"] = "s"
            self.channels.append(log)
        self._swmr_started = False
        self._status[()] = b"RUNNING"
        self._file.flush()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return not self._file.id.valid

    def warn(self, message: str) -> None:
        """Record a warning in ``entry/writer/warnings`` (at the next flush)."""
        if len(self.warnings) < _MAX_WARNINGS:
            self.warnings.append(message)

    def add_sample(self, index: int, wall: float, value: Any, quality: str) -> None:
        """Buffer one value of channel ``index`` read at wall-clock ``wall``."""
        log = self.channels[index]
        log.samples.append(
            (wall - self.start_wall, _normalise(value), QUALITY_CODES.get(quality, 5))
        )

    def add_connection(self, index: int, wall: float, connected: bool) -> None:
        """Buffer a connection change of channel ``index`` at wall-clock ``wall``."""
        self.channels[index].connections.append((wall - self.start_wall, connected))

    def set_units(self, index: int, units: str) -> None:
        """Give channel ``index``'s values ``units`` (learnt after the start)."""
        log = self.channels[index]
        log.layout.units = units
        if log.value is not None:
            log.value.attrs["units"] = units

    def set_dropped(self, index: int, count: int) -> None:
        """Record how many events of channel ``index`` the queue dropped so far."""
        self.channels[index].dropped_count = count

    def pending_bytes(self) -> int:
        """Return an upper estimate of what the next :meth:`flush` writes, in bytes.

        Twice the buffered values' size plus a chunk per channel: room for
        HDF5's metadata and for a chunk that is allocated whole.
        """
        total = 0
        for log in self.channels:
            for _, value, _ in log.samples:
                total += getattr(value, "nbytes", 0) or 64
            if log.samples:
                row = getattr(log.samples[0][1], "nbytes", 0) or 16
                total += row * _chunk_rows(row)
        return 2 * total

    def written(self, index: int) -> int:
        """Return how many samples of channel ``index`` are written and flushed."""
        return self.channels[index].written

    def flush(self, pause: Callable[[], None] | None = None) -> None:
        """Write every buffered sample and make it visible to readers.

        Args:
            pause: called between two channels' writes, to let other
                greenlets or threads run during a long flush.

        Raises:
            OSError: the write failed (a full disk): the file is left as it
                was at the previous flush.
        """
        for log in self.channels:
            self._write_channel(log)
            if pause is not None:
                pause()
        if self.swmr and not self._swmr_started:
            for log in self.channels:
                if log.value is None:
                    log.layout_value(0.0)
            self._file.swmr_mode = True
            self._swmr_started = True
        new_warnings = self.warnings[self._warnings_written :]
        if new_warnings:
            _append(self._warnings, new_warnings)
            self._warnings_written += len(new_warnings)
        self._file.flush()
        # Only now are they on disk: a reader of ``written`` (a test filling
        # the disk once the samples are written) must not race the flush.
        for log in self.channels:
            log.written += log.unflushed
            log.unflushed = 0

    def _write_channel(self, log: _ChannelLog) -> None:
        samples, log.samples = log.samples, []
        if samples:
            if log.value is None:
                log.layout_value(samples[0][1])
            if not (log.kind is _Kind.SCALAR and self._write_scalars(log, samples)):
                self._write_one_by_one(log, samples)
        self._write_connections(log)

    def _write_one_by_one(
        self, log: _ChannelLog, samples: list[tuple[float, Any, int]]
    ) -> None:
        """Convert each sample on its own; count and warn about the misfits."""
        times, values, qualities = [], [], []
        for stamp, value, quality in samples:
            try:
                values.append(log.convert(value))
            except (TypeError, ValueError, OverflowError) as exc:
                log.rejected_count += 1
                if log.rejected_count == 1:
                    self.warn(
                        f"{log.layout.name}: a value was not recorded ({exc}); "
                        "rejected_samples counts them"
                    )
                continue
            times.append(stamp)
            qualities.append(quality)
        if values:
            assert log.value is not None  # laid out above
            _append(
                log.value,
                numpy.stack(values) if log.kind is _Kind.ARRAY else values,
            )
            _append(log.time, times)
            _append(log.quality, numpy.asarray(qualities, dtype=numpy.uint8))
            log.unflushed += len(values)
        log.rejected[()] = log.rejected_count

    @staticmethod
    def _write_scalars(log: _ChannelLog, samples: list[tuple[float, Any, int]]) -> bool:
        """Write numbers in one go; ``False`` if one of them needs a closer look."""
        if any(isinstance(s[1], (str, bytes, numpy.ndarray)) for s in samples):
            return False
        try:
            values = numpy.asarray([s[1] for s in samples])
            if not numpy.can_cast(values.dtype, log.dtype, casting="same_kind"):
                return False
            values = values.astype(log.dtype)
        except (TypeError, ValueError, OverflowError):
            return False
        assert log.value is not None  # laid out by the caller
        _append(log.value, values)
        _append(log.time, numpy.fromiter((s[0] for s in samples), numpy.float64))
        _append(log.quality, numpy.fromiter((s[2] for s in samples), numpy.uint8))
        log.unflushed += len(samples)
        return True

    def _write_connections(self, log: _ChannelLog) -> None:
        connections, log.connections = log.connections, []
        if connections:
            _append(log.connection_time, [stamp for stamp, _ in connections])
            _append(log.connected, [flag for _, flag in connections])
        if log.dropped_count != log.dropped[()]:
            log.dropped[()] = log.dropped_count

    def close(
        self, status: str, reason: str, end_wall: float, *, discard: bool = False
    ) -> None:
        """Write what is buffered, the end time and the status, and close the file.

        The file is closed even if the last write fails (its error is
        re-raised after). Idempotent.

        Args:
            status: ``SUCCEEDED`` or ``FAILED``.
            reason: why it failed (``""`` when it succeeded); UTF-8, cut at
                512 bytes.
            end_wall: the end (``time.time()`` seconds).
            discard: drop the buffered samples instead of writing them (the
                disk is nearly full: the end time and status are written in
                place, in space allocated at the start).
        """
        if self.closed:
            return
        try:
            try:
                if not discard:
                    self.flush()
            finally:
                self._end_time[()] = numpy.bytes_(iso_time(end_wall).encode())
                self._status[()] = numpy.bytes_(status.encode())
                text = reason.encode("utf-8")[:_REASON_BYTES]
                self._reason[()] = numpy.bytes_(text.decode("utf-8", "ignore").encode())
        finally:
            self._file.close()
