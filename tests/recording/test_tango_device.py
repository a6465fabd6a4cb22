"""The recorder's Tango device, driven by a plain DeviceProxy from this process.

The device server runs in a child process (no Tango database) on the demo
configuration, whose own servers run in another child process.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import h5py
import pytest
import tango

from HardwareRepository.testing.tango_servers import (
    ServedDevice,
    TangoServerProcess,
    find_free_port,
)

pytestmark = pytest.mark.tango

DEVICE = "hwr/recorder/1"
CLASS = "HardwareRepository.recording.tango_device:ChannelRecorderDevice"


def wait_for(condition, timeout: float, what: str) -> None:
    """Poll ``condition`` (this test drives a remote device; no hub involved)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def recorder_server(demo_config):
    device = ServedDevice(DEVICE, CLASS, {"Configuration": str(demo_config)})
    with TangoServerProcess([device]) as server:
        yield server


def test_the_device_records_on_request_and_pushes_its_states(recorder_server, tmp_path):
    proxy = tango.DeviceProxy(recorder_server.device_url(DEVICE))
    states: list[tango.DevState] = []
    event_id = proxy.subscribe_event(
        "State",
        tango.EventType.CHANGE_EVENT,
        lambda event: None if event.err else states.append(event.attr_value.value),
    )
    try:
        wait_for(lambda: proxy.state() == tango.DevState.ON, 30, "the device ON")
        assert proxy.CurrentFile == ""
        path = str(tmp_path / "remote.h5")
        channels = ["/machine-info.current", "/diff-omega.position", "/nowhere.value"]
        assert proxy.StartRecording([path, *channels]) == path
        assert proxy.state() == tango.DevState.RUNNING
        assert proxy.CurrentFile == path
        assert proxy.RecordingState == "ON"
        assert list(proxy.RecordedChannels) == channels[:2]
        warnings = list(proxy.Warnings)
        assert any("/nowhere.value" in w for w in warnings), warnings
        wait_for(lambda: proxy.SampleCounts[0] >= 3, 20, "samples written")
        assert proxy.StopRecording() == 1
        assert proxy.state() == tango.DevState.ON
        assert proxy.RecordingState == "OFF"
        counts = list(proxy.SampleCounts)
        wait_for(
            lambda: (
                tango.DevState.RUNNING in states and states[-1] == tango.DevState.ON
            ),
            10,
            f"the RUNNING then ON events (got {states})",
        )
        with pytest.raises(tango.DevFailed, match="exists"):
            proxy.StartRecording([path, "/machine-info.current"])
        proxy.StartRecording([str(tmp_path / "killed.h5"), "/machine-info.current"])
        assert proxy.KillRecording() == 1
        assert proxy.state() == tango.DevState.FAULT
        assert "killed" in proxy.status()
        wait_for(lambda: states[-1] == tango.DevState.FAULT, 10, "the FAULT event")
        with pytest.raises(tango.DevFailed, match="at least one channel"):
            proxy.StartRecording([path])
    finally:
        proxy.unsubscribe_event(event_id)
    with h5py.File(path, "r") as f:
        current = f["entry/logs/machine-info.current"]
        assert current["value"].shape[0] == counts[0]
        assert f["entry/logs/diff-omega.position/value"].shape[0] == counts[1]
        assert f["entry/writer/data"][()] == b"SUCCEEDED"
    with h5py.File(tmp_path / "killed.h5", "r") as f:
        assert f["entry/writer/data"][()] == b"FAILED"


def test_the_shipped_server_runs_without_a_database_and_stops_on_ctrl_c(
    demo_config, tmp_path
):
    port = find_free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "HardwareRepository.recording",
            "--config",
            str(demo_config),
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = []
        while not any("recorder: tango://" in line for line in lines):
            line = proc.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
        url = f"tango://127.0.0.1:{port}/hwr/recorder/1#dbase=no"
        assert url in lines[-1]
        proxy = tango.DeviceProxy(url)
        wait_for(lambda: proxy.state() == tango.DevState.ON, 30, "the device ON")
        path = str(tmp_path / "served.h5")
        proxy.StartRecording([path, "/machine-info.current"])
        wait_for(lambda: proxy.SampleCounts[0] >= 2, 20, "samples written")
        proc.send_signal(signal.SIGINT)  # stops the server; the file is closed
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
    with h5py.File(path, "r") as f:
        assert f["entry/writer/data"][()] == b"SUCCEEDED"
        assert f["entry/logs/machine-info.current/value"].shape[0] >= 2
