"""``hwr record`` run as a user runs it: a separate process, stopped by Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import h5py
import pytest

pytestmark = pytest.mark.tango


def start_hwr(*args: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [sys.executable, "-m", "HardwareRepository.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_record_shows_progress_and_ctrl_c_closes_the_file(demo_config, tmp_path):
    path = tmp_path / "cli.h5"
    proc = start_hwr(
        "--config",
        str(demo_config),
        "record",
        "machine-info.current",
        "diff-omega.position",
        "nowhere.value",
        "-o",
        str(path),
    )
    seen: list[str] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            seen.append(line)
            if "written" in line and " 0 written" not in line:
                break
        progress = [line for line in seen if "samples received" in line]
        assert progress, "".join(seen)
        assert "/s" in progress[-1]
        assert "kB" in progress[-1] or " B" in progress[-1]
        assert any("WARNING" in line and "nowhere.value" in line for line in seen)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, "".join(seen) + err
    assert "recorded" in out
    assert str(path) in out
    with h5py.File(path, "r") as f:
        assert f["entry/writer/data"][()] == b"SUCCEEDED"
        assert f["entry/end_time"][()] != b""
        current = f["entry/logs/machine-info.current/value"]
        assert current.shape[0] > 0
        # learnt from the Tango attribute once the channel connected
        assert current.attrs["units"] == "mA"
        warnings = [w.decode() for w in f["entry/writer/warnings"][()]]
        assert not any("disconnected" in w for w in warnings), warnings


def test_record_with_a_duration_stops_by_itself(demo_config, tmp_path):
    path = tmp_path / "timed.h5"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "HardwareRepository.cli",
            "--config",
            str(demo_config),
            "record",
            "machine-info.current",
            "-o",
            str(path),
            "--duration",
            "1.5",
            "--mode",
            "concurrent",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["state"] == "OFF"
    assert summary["path"] == str(path)
    with h5py.File(path, "r") as f:
        assert f["entry/writer/data"][()] == b"SUCCEEDED"
        assert (
            summary["samples"]["/machine-info.current"]
            == f["entry/logs/machine-info.current/value"].shape[0]
        )
        times = f["entry/logs/machine-info.current/time"][()]
        assert times.size > 0
        assert times[-1] < 5.0
    again = subprocess.run(
        [
            sys.executable,
            "-m",
            "HardwareRepository.cli",
            "--config",
            str(demo_config),
            "record",
            "machine-info.current",
            "-o",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert again.returncode == 1
    assert "exists" in again.stderr
    assert "Traceback" not in again.stderr
