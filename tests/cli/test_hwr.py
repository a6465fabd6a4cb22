"""The ``hwr`` command line, run as a user runs it: a separate process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from _hwr import hwr

from HardwareRepository.demo.servers import DEMO_HOST, DEMO_PORT

pytestmark = pytest.mark.tango


def test_check_of_the_demo_configuration_exits_zero(demo_config):
    proc = hwr("check", str(demo_config))
    assert proc.returncode == 0, proc.stderr
    for name in ("/diff-omega", "/safety-shutter", "/machine-info", "/energy"):
        assert name in proc.stdout
    assert "0 failed" in proc.stdout
    for name in ("/diff-omega", "/safety-shutter", "/machine-info", "/energy"):
        assert f"NOT CONNECTED: {name}" not in proc.stdout


def test_check_of_the_shipped_demo_configuration_exits_zero_without_servers():
    # Objects whose device server is down still load, and the check says
    # which channels are not connected (no log flood: the summary has it all).
    if _listening(DEMO_PORT):
        pytest.skip(f"a demo is running on port {DEMO_PORT}")
    proc = hwr("check", "--connect-timeout", "0.5", "configuration/demo")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (
        "NOT CONNECTED: /diff-omega: position, state, low_limit, high_limit, "
        "velocity" in proc.stdout.splitlines()
    )
    assert "NOT CONNECTED: /safety-shutter: state" in proc.stdout.splitlines()
    assert "9 with channels not connected" in proc.stdout
    assert "WARNING" not in proc.stderr


def test_check_of_a_broken_configuration_names_file_and_line_once(broken_config):
    proc = hwr("check", "--connect-timeout", "0", str(broken_config))
    assert proc.returncode == 1
    # Every error printed once: no log line, no table column repeating it.
    assert (proc.stdout + proc.stderr).count("bad-motor.xml:") == 1, proc.stdout
    assert "FAILED: " in proc.stdout
    assert "/machine-info" in proc.stdout
    assert f"configuration: {broken_config} (from argument)" in proc.stdout
    assert proc.stderr == ""


def test_get_set_and_call_on_real_servers(demo_config):
    proc = hwr("--config", str(demo_config), "get", "energy.position")
    assert proc.returncode == 0, proc.stderr
    value, unit = proc.stdout.split()
    assert float(value) == pytest.approx(12.4)
    assert unit == "keV"

    proc = hwr("--config", str(demo_config), "set", "sample-x.velocity", "0.25")
    assert proc.returncode == 0, proc.stderr
    proc = hwr("--config", str(demo_config), "get", "sample-x.velocity")
    assert proc.stdout.split() == ["0.25", "mm/s"]

    # A command without a reply prints nothing (not "None").
    proc = hwr("--config", str(demo_config), "call", "diff-phi.stop")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""

    proc = hwr("--config", str(demo_config), "get", "diff-phi")
    assert proc.returncode == 0, proc.stderr
    lines = dict(line.split(None, 1) for line in proc.stdout.splitlines())
    assert lines["position"].split() == ["0", "deg"]
    # One line for the state, in the shared vocabulary: the object's state
    # once its first state event arrived (not UNKNOWN), and Tango's beside it.
    assert lines["state"].strip() == "READY (ON)"
    assert "(object" not in proc.stdout


def test_monitor_prints_timestamped_updates(demo_config):
    proc = hwr(
        "--config",
        str(demo_config),
        "monitor",
        "machine-info.current",
        "--duration",
        "2",
    )
    assert proc.returncode == 0, proc.stderr
    lines = [
        line for line in proc.stdout.splitlines() if "machine-info.current" in line
    ]
    assert len(lines) >= 3, proc.stdout
    stamp, _, value, unit, quality = lines[-1].split(" ")
    assert stamp.count(":") == 2
    assert 0 < float(value) <= 200
    assert unit == "mA"
    assert quality.startswith("[")
    stamps = [line.split(" ")[0] for line in lines]
    assert stamps == sorted(stamps), "timestamps went backwards"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("get", "no-such-object.position"), "no hardware object 'no-such-object'"),
        (("get", "energy.no_such_channel"), "has no channel 'no_such_channel'"),
        (("call", "energy.no_such_command"), "has no command 'no_such_command'"),
        (("check", "/no/such/dir"), "does not exist"),
        (("get", "/"), "'/' is not a hardware-object name"),
        (("get", "."), "'.' is not a hardware-object name"),
    ],
)
def test_user_mistakes_give_one_line_and_exit_two(demo_config, args, message):
    proc = hwr("--config", str(demo_config), *args)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "action", [("get", "energy.position"), ("set", "energy.position", "3")]
)
def test_an_unreachable_device_gives_one_line_and_exit_one(tmp_path, action):
    # Tango's reasons contain newlines; the user still gets one line. A write
    # says the device cannot be reached (PyTango alone says "unsupported
    # data_format").
    from HardwareRepository.demo.servers import copy_demo_configuration
    from HardwareRepository.testing.tango_servers import find_free_port

    config = copy_demo_configuration(tmp_path / "demo", find_free_port(DEMO_HOST))
    proc = hwr("--log-level", "ERROR", "--config", str(config), *action)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "demo/motor/energy" in lines[0]
    assert "attribute Position" in lines[0]
    assert "cannot reach the device: its device server is not running" in lines[0]
    assert "delayed" not in lines[0]  # cppTango's retry throttle is not the cause


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((DEMO_HOST, port)) == 0


@pytest.mark.slow
def test_demo_shows_live_values_and_stops_cleanly_on_ctrl_c():
    if _listening(DEMO_PORT):
        pytest.skip(f"a demo is already running on port {DEMO_PORT}")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "HardwareRepository.cli", "demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    seen: list[str] = []
    try:
        t0 = time.monotonic()
        while time.monotonic() - t0 < 30:
            line = proc.stdout.readline()
            seen.append(line)
            if "/machine-info" in line and "mA" in line:
                break
        assert any("mA" in line for line in seen), "".join(seen)
        assert time.monotonic() - t0 < 30
        text = "".join(seen)
        assert "SIMULATED" in text
        assert "/beam-monitor" in text  # the TINE channel (simulated client)
        assert "/hutch-temperature" in text  # the Taco channel (simulated client)
        assert "/diff-phi" in text
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, "".join(seen) + out
    assert "demo stopped" in out
    assert not _listening(DEMO_PORT), "the demo left its device server running"
