"""ChannelRecorder files read back with h5py: layout, types, readers, faults, disk.

The channels here are plain :class:`ChannelObject` instances updated in the
hub (the Tango recordings are in test_recorder_tango.py).
"""

from __future__ import annotations

import datetime
import os
import sys

import gevent
import gevent.subprocess
import h5py
import numpy
import pytest
from recording_helpers import wait_until

from HardwareRepository.CommandContainer import ChannelObject, Quality
from HardwareRepository.recording import (
    ChannelRecorder,
    DiskSpaceError,
    RecordingError,
    SubscriberState,
)

MODES = ["concurrent", "parallel"]


def make_channels(*names: str) -> list[ChannelObject]:
    channels = [ChannelObject(name) for name in names]
    for channel in channels:
        channel.set_connected(True)
    return channels


def read_log(path, name: str) -> dict:
    with h5py.File(path, "r") as f:
        group = f[f"entry/logs/{name}"]
        return {
            "attrs": dict(group.attrs),
            "value": group["value"][()] if "value" in group else None,
            "time": group["time"][()],
            "time_attrs": dict(group["time"].attrs),
            "quality": group["quality"][()],
            "connected": group["connected"][()].tolist(),
            "dropped": int(group["dropped_samples"][()]),
            "rejected": int(group["rejected_samples"][()]),
        }


def writer_note(path) -> tuple[str, str, list[str]]:
    with h5py.File(path, "r") as f:
        note = f["entry/writer"]
        return (
            note["data"][()].decode(),
            note["description"][()].decode(),
            [w.decode() for w in note["warnings"][()]],
        )


@pytest.mark.parametrize("mode", MODES)
def test_types_arrays_and_qualities_are_read_back(tmp_path, mode):
    scalar, count, text, spectrum, state = make_channels(
        "scalar", "count", "text", "spectrum", "state"
    )
    path = tmp_path / "types.h5"
    recorder = ChannelRecorder(
        [
            ("/bench.scalar", scalar),
            ("/bench.count", count),
            ("/bench.text", text),
            ("/bench.spectrum", spectrum),
            ("/bench.state", state),
        ],
        path,
        mode,
        units={"/bench.scalar": "mA"},
        title="types",
    )
    recorder.start()
    assert recorder.state is SubscriberState.ON
    for i in range(50):
        quality = Quality.ALARM if i % 10 == 0 else Quality.VALID
        scalar.update(i * 0.5, quality)
        count.update(i)
        text.update(f"message {i}")
        spectrum.update(numpy.arange(8, dtype=numpy.float32) * i)
        state.update(Quality.CHANGING if i % 2 else Quality.VALID)  # an enum
        gevent.sleep(0)
    recorder.stop(wait=True, timeout=10)
    assert recorder.state is SubscriberState.OFF

    scalar_log = read_log(path, "bench.scalar")
    assert scalar_log["attrs"]["NX_class"] == "NXlog"
    assert scalar_log["attrs"]["channel"] == "/bench.scalar"
    assert scalar_log["value"].tolist() == [i * 0.5 for i in range(50)]
    assert scalar_log["quality"][::10].tolist() == [2] * 5  # ALARM
    assert scalar_log["quality"][1] == 0  # VALID
    assert numpy.all(numpy.diff(scalar_log["time"]) >= 0)
    assert scalar_log["time_attrs"]["units"] == "s"
    start = datetime.datetime.fromisoformat(scalar_log["time_attrs"]["start"])
    assert start.tzinfo is not None
    assert read_log(path, "bench.count")["value"].dtype == numpy.int64
    assert read_log(path, "bench.text")["value"][49].decode() == "message 49"
    spectra = read_log(path, "bench.spectrum")["value"]
    assert spectra.shape == (50, 8)
    assert spectra.dtype == numpy.float32
    assert spectra[7].tolist() == (numpy.arange(8) * 7).tolist()
    states = [s.decode() for s in read_log(path, "bench.state")["value"][:2]]
    assert states == ["VALID", "CHANGING"]
    with h5py.File(path, "r") as f:
        entry = f["entry"]
        assert entry.attrs["NX_class"] == "NXentry"
        assert entry["title"][()].decode() == "types"
        assert f["entry/logs/bench.scalar/value"].attrs["units"] == "mA"
        assert f["entry/logs/bench.scalar/value"].chunks is not None
        assert f["entry/logs/bench.scalar/value"].maxshape == (None,)
        begin = datetime.datetime.fromisoformat(entry["start_time"][()].decode())
        end = datetime.datetime.fromisoformat(entry["end_time"][()].decode())
        assert begin <= end
    assert writer_note(path) == ("SUCCEEDED", "", [])
    counts = recorder.info()["channels"]["/bench.spectrum"]
    assert counts == {"received": 50, "dropped": 0, "written": 50}


def test_values_that_do_not_fit_are_counted_and_warned(tmp_path):
    (spectrum,) = make_channels("spectrum")
    path = tmp_path / "ragged.h5"
    recorder = ChannelRecorder([("/x.spectrum", spectrum)], path, "parallel")
    recorder.start()
    spectrum.update(numpy.zeros(4))
    spectrum.update(numpy.zeros(5))  # another shape
    spectrum.update(numpy.ones(4))
    recorder.stop(wait=True, timeout=10)
    log = read_log(path, "x.spectrum")
    assert log["value"].shape == (2, 4)
    assert log["rejected"] == 1
    status, _, warnings = writer_note(path)
    assert status == "SUCCEEDED"
    assert any("shape (5,) instead of (4,)" in w for w in warnings), warnings


@pytest.mark.parametrize("mode", MODES)
def test_kill_closes_a_valid_file_marked_failed(tmp_path, mode):
    (channel,) = make_channels("value")
    path = tmp_path / "killed.h5"
    recorder = ChannelRecorder([("/x.value", channel)], path, mode)
    recorder.start()
    for i in range(20):
        channel.update(float(i))
    wait_until(lambda: recorder.info()["consumed"] >= 21, 10, "events consumed")
    recorder.kill(wait=True, timeout=10)
    assert recorder.state is SubscriberState.FAULT
    assert recorder.reason == "killed"
    assert writer_note(path)[:2] == ("FAILED", "killed")
    assert read_log(path, "x.value")["value"].tolist() == [float(i) for i in range(20)]


def test_a_disconnection_is_recorded_as_a_gap(tmp_path):
    (channel,) = make_channels("value")
    path = tmp_path / "gap.h5"
    recorder = ChannelRecorder([("/x.value", channel)], path, "parallel")
    recorder.start()
    channel.update(1.0)
    channel.set_connected(False)
    gevent.sleep(0.01)
    channel.set_connected(True)
    channel.update(2.0)
    recorder.stop(wait=True, timeout=10)
    log = read_log(path, "x.value")
    assert log["connected"] == [True, False, True]
    assert log["value"].tolist() == [1.0, 2.0]
    assert any("disconnected" in w for w in writer_note(path)[2])
    assert any("disconnected" in w for w in recorder.warnings)


@pytest.mark.parametrize("swmr", [False, True])
def test_a_reader_sees_samples_while_the_file_is_written(tmp_path, swmr):
    """Another process reads the flushed samples during the recording.

    Without SWMR, HDF5 file locking refuses a reader that asks for the lock
    (so that no reader opens it in append mode and corrupts it); a reader
    without locking sees what was flushed. With SWMR the reader sees the
    dataset grow while it holds the file open.
    """
    (channel,) = make_channels("value")
    path = tmp_path / "live.h5"
    recorder = ChannelRecorder(
        [("/x.value", channel)], path, "parallel", swmr=swmr, flush_interval=0.1
    )
    recorder.start()
    stop_feeding = gevent.event.Event()

    def feed() -> None:
        i = 0
        while not stop_feeding.is_set():
            channel.update(float(i))
            i += 1
            gevent.sleep(0.005)

    feeder = gevent.spawn(feed)
    try:
        name = "/x.value"
        wait_until(
            lambda: recorder.info()["channels"][name]["written"] >= 5, 10, "a flush"
        )
        if swmr:
            reader = (
                "import h5py, time, sys\n"
                "f = h5py.File(sys.argv[1], 'r', swmr=True)\n"
                "d = f['entry/logs/x.value/value']\n"
                "first = d.shape[0]\n"
                "deadline = time.monotonic() + 20\n"
                "while d.shape[0] <= first and time.monotonic() < deadline:\n"
                "    time.sleep(0.05); d.refresh()\n"
                "print(first, d.shape[0], d[0])\n"
            )
        else:
            reader = (
                "import h5py, sys\n"
                "f = h5py.File(sys.argv[1], 'r', locking=False)\n"
                "d = f['entry/logs/x.value/value']\n"
                "print(d.shape[0], d.shape[0], d[0])\n"
            )
        proc = gevent.subprocess.run(
            [sys.executable, "-c", reader, str(path)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        first, last, value = proc.stdout.split()
        assert int(first) >= 5
        assert float(value) == 0.0
        if swmr:
            assert int(last) > int(first)  # seen growing while open
        else:
            locked = gevent.subprocess.run(
                [
                    sys.executable,
                    "-c",
                    "import h5py,sys; h5py.File(sys.argv[1],'r')",
                    str(path),
                ],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert locked.returncode != 0
            assert "lock" in locked.stderr
    finally:
        stop_feeding.set()
        feeder.join(5)
        recorder.stop(wait=True, timeout=10)
    assert recorder.state is SubscriberState.OFF
    assert writer_note(path)[0] == "SUCCEEDED"


def test_no_channel_that_can_be_opened_refuses_to_start(tmp_path):
    recorder = ChannelRecorder(
        ["/no-such.object"], tmp_path / "x.h5", repository=_NoObjects()
    )
    assert len(recorder.warnings) == 1
    assert "no-such" in recorder.warnings[0]
    with pytest.raises(RecordingError, match="none of the channels"):
        recorder.start()
    assert recorder.state is SubscriberState.FAULT
    assert recorder.done()
    assert not (tmp_path / "x.h5").exists()


def test_an_existing_file_is_not_overwritten(tmp_path):
    (channel,) = make_channels("value")
    path = tmp_path / "exists.h5"
    path.write_bytes(b"precious")
    recorder = ChannelRecorder([("/x.value", channel)], path)
    with pytest.raises(FileExistsError, match="exists"):
        recorder.start()
    assert path.read_bytes() == b"precious"
    assert recorder.state is SubscriberState.FAULT


class _NoObjects:
    """A repository with no object at all."""

    def find_file(self, name):
        return None

    def get_hardware_object(self, name):
        raise LookupError(f"no hardware object {name!r}")


# -- disk space -------------------------------------------------------------------
def test_below_the_threshold_the_recorder_refuses_to_start_on_a_small_tmpfs(
    small_tmpfs,
):
    directory = small_tmpfs(1 << 20)
    (channel,) = make_channels("value")
    path = os.path.join(directory, "refused.h5")
    recorder = ChannelRecorder([("/x.value", channel)], path, min_free_bytes=2 << 20)
    with pytest.raises(DiskSpaceError, match="MB free"):
        recorder.start()
    assert recorder.state is SubscriberState.FAULT
    assert "DiskSpaceError" in recorder.reason
    assert not os.path.exists(path)


def test_threshold_refusal_with_a_mocked_statvfs(tmp_path, monkeypatch):
    """The same refusal where no tmpfs can be mounted: only statvfs is mocked."""
    real = os.statvfs(tmp_path)

    class Full:
        f_bavail = 10
        f_frsize = real.f_frsize

    monkeypatch.setattr(os, "statvfs", lambda path: Full())
    (channel,) = make_channels("value")
    recorder = ChannelRecorder([("/x.value", channel)], tmp_path / "refused.h5")
    with pytest.raises(DiskSpaceError, match="below the recorder's threshold"):
        recorder.start()
    assert recorder.state is SubscriberState.FAULT


@pytest.mark.parametrize("mode", MODES)
def test_the_threshold_stops_a_recording_before_the_disk_is_full(small_tmpfs, mode):
    directory = small_tmpfs(16 << 20)
    (spectrum,) = make_channels("spectrum")
    path = os.path.join(directory, "filling.h5")
    recorder = ChannelRecorder(
        [("/x.spectrum", spectrum)],
        path,
        mode,
        min_free_bytes=4 << 20,
        flush_interval=0.05,
    )
    recorder.start()
    row = numpy.ones(16 * 1024, dtype=numpy.float64)  # 128 KiB a sample

    def fill() -> None:
        while not recorder.done():
            spectrum.update(row)
            gevent.sleep(0.005)

    filler = gevent.spawn(fill)
    recorder.join(timeout=60)
    filler.join(5)
    assert recorder.state is SubscriberState.FAULT
    assert "DiskSpaceError" in recorder.reason
    status, description, _ = writer_note(path)  # the file is valid
    assert status == "FAILED"
    assert "threshold" in description
    written = read_log(path, "x.spectrum")["value"]
    assert written.shape[0] > 0  # recorded until the threshold
    assert written.shape[1:] == (16 * 1024,)
    assert os.path.getsize(path) < (16 - 4) << 20


@pytest.mark.parametrize("mode", MODES)
def test_a_disk_filled_by_someone_else_stops_the_recording_with_a_valid_file(
    small_tmpfs, mode
):
    """Another writer fills the file system during the recording.

    The recorder checks the free space before each flush (counting what the
    flush will write) and ends in FAULT while the file can still be closed:
    HDF5 cannot close a file whose write failed for lack of space (h5py #914).
    """
    directory = small_tmpfs(8 << 20)
    (channel,) = make_channels("value")
    path = os.path.join(directory, "victim.h5")
    recorder = ChannelRecorder(
        [("/x.value", channel)], path, mode, min_free_bytes=1 << 20, flush_interval=0.05
    )
    recorder.start()
    for i in range(10):
        channel.update(float(i))
    wait_until(
        lambda: recorder.info()["channels"]["/x.value"]["written"] == 10, 10, "a flush"
    )
    hog = os.path.join(directory, "hog")
    with open(hog, "wb") as f:
        try:
            f.write(b"\0" * (8 << 20))
        except OSError:
            pass  # the file system is full now
    channel.update(10.0)
    recorder.join(timeout=30)
    assert recorder.state is SubscriberState.FAULT
    assert "DiskSpaceError" in recorder.reason
    os.remove(hog)
    status, description, _ = writer_note(path)
    assert status == "FAILED"
    assert "threshold" in description
    assert read_log(path, "x.value")["value"][:10].tolist() == [
        float(i) for i in range(10)
    ]
