"""A new user's first hour with ``hwr`` (issue #18), run as a user runs it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest
from _hwr import ROOT, hwr

pytestmark = pytest.mark.tango


# -- the window, or the terminal ------------------------------------------------
def test_gui_without_a_working_qt_platform_falls_back_to_the_table():
    # A display whose Qt platform plugin cannot start: Qt itself would abort
    # the process (exit 134). The table shows instead, with one line of reason.
    proc = hwr(
        "gui",
        "configuration/demo",
        "--duration",
        "1.5",
        DISPLAY=":987",
        QT_QPA_PLATFORM="xcb",
    )
    assert proc.returncode == 0, proc.stderr
    reasons = [line for line in proc.stderr.splitlines() if "no window" in line]
    assert len(reasons) == 1, proc.stderr
    assert 'Could not load the Qt platform plugin "xcb"' in reasons[0]
    assert "--no-gui" in reasons[0]
    assert "/diff-omega" in proc.stdout
    assert "not connected" in proc.stdout


@pytest.mark.slow
def test_demo_without_a_working_qt_platform_falls_back_to_the_table():
    from HardwareRepository.demo.servers import DEMO_HOST, DEMO_PORT

    with socket.socket() as sock:
        if sock.connect_ex((DEMO_HOST, DEMO_PORT)) == 0:
            pytest.skip(f"a demo is running on port {DEMO_PORT}")
    proc = hwr(
        "demo", "--duration", "3", timeout=120, DISPLAY=":987", QT_QPA_PLATFORM="xcb"
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stderr.count("no window (Qt cannot start") == 1, proc.stderr
    assert "/machine-info" in proc.stdout
    assert "mA" in proc.stdout
    assert "demo stopped" in proc.stdout


# -- hwr check on the default configuration ---------------------------------------
def test_plain_check_checks_each_shipped_configuration_on_its_own():
    proc = hwr("check", "--connect-timeout", "0")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "checking each on its own" in proc.stdout
    assert f"configuration: {ROOT / 'configuration' / 'demo'} (from the default)" in (
        proc.stdout
    )
    assert proc.stdout.count(" 0 failed") == 2
    assert proc.stderr == ""


def test_check_says_where_a_missing_reference_is(tmp_path):
    # The first hour's mistake: checking the parent of a configuration.
    shutil.copytree(ROOT / "configuration" / "example", tmp_path / "site" / "example")
    (tmp_path / "site" / "top.xml").write_text(
        '<object><object href="/beamline" role="b"/></object>'
    )
    proc = hwr("check", "--connect-timeout", "0", str(tmp_path / "site"))
    assert proc.returncode == 1
    line = next(x for x in proc.stdout.splitlines() if "role 'b'" in x)
    assert "did you mean --config" in line
    assert "example" in line


# -- every error's cause, once, with the right exit code ---------------------------
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("set", "energy.position", "abc"), "bad value 'abc': a number is needed"),
        (("set", "machine-info.current", "3"), "is not writable"),
        (("set", "energy.position", "500"), "500 keV is out of limits [5, 20] keV"),
        (("mv", "energy", "500"), "500 keV is out of limits [5, 20] keV"),
        (("mv", "machine-info", "1"), "is not a motor"),
    ],
)
def test_values_the_hardware_cannot_take_are_user_mistakes(demo_config, args, message):
    proc = hwr("--config", str(demo_config), *args)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert message in lines[0]


def test_monitor_of_an_unreachable_channel_says_so_and_fails(tmp_path):
    from HardwareRepository.demo.servers import DEMO_HOST, copy_demo_configuration
    from HardwareRepository.testing.tango_servers import find_free_port

    config = copy_demo_configuration(tmp_path / "demo", find_free_port(DEMO_HOST))
    proc = hwr(
        "--config",
        str(config),
        "--connect-timeout",
        "0.5",
        "monitor",
        "energy.position",
        "--duration",
        "0.5",
    )
    assert proc.returncode == 1
    assert "energy.position not connected after 0.5 s" in proc.stdout


# -- version, JSON, listing, completion ------------------------------------------
def test_version():
    proc = hwr("--version")
    assert proc.returncode == 0
    from importlib.metadata import version

    assert proc.stdout.strip() == f"hwr {version('HardwareRepository')}"


def test_json_output_for_scripts(demo_config):
    proc = hwr("--config", str(demo_config), "get", "energy", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["object"] == "/energy"
    assert data["state"] == "READY"
    assert data["native_state"] == "ON"
    assert data["channels"]["position"]["unit"] == "keV"
    assert data["channels"]["position"]["value"] == pytest.approx(12.4)


def test_get_shows_a_shutter_state_as_every_view_does(demo_config):
    proc = hwr("--config", str(demo_config), "get", "safety-shutter")
    assert proc.returncode == 0, proc.stderr
    # Not Tango's raw "CLOSE": the state with the shutter's own word beside it.
    assert proc.stdout.split() == ["state", "READY", "(CLOSED)"]


def test_monitor_with_json_prints_one_document_per_update(demo_config):
    proc = hwr(
        "--config",
        str(demo_config),
        "--json",
        "monitor",
        "machine-info.current",
        "--duration",
        "1.5",
    )
    assert proc.returncode == 0, proc.stderr
    updates = [json.loads(line) for line in proc.stdout.splitlines()]
    values = [u for u in updates if "value" in u]
    assert len(values) >= 2, proc.stdout
    assert {u["unit"] for u in values} == {"mA"}
    times = [u["time"] for u in updates]
    assert times == sorted(times)


def test_list_shows_channels_commands_and_units(demo_config):
    proc = hwr("--config", str(demo_config), "list", "energy", "machine-info")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "/energy  TangoMotor  READY (ON)"
    position = next(x for x in lines if "channel position" in x)
    assert "tango" in position
    assert "demo/motor/energy" in position
    assert position.endswith("[keV]")
    assert any(x.split()[:2] == ["command", "stop"] for x in lines)
    current = next(x for x in lines if "channel current" in x)
    assert current.endswith("[mA]")


def test_bash_completion_completes_commands_and_objects(demo_config):
    script = hwr("completion", "bash").stdout
    bin_dir = os.path.dirname(sys.executable)
    words = subprocess.run(
        [
            "bash",
            "-c",
            f'eval "$1"; COMP_WORDS=(hwr --config {demo_config} get en); '
            'COMP_CWORD=4; _hwr_complete; echo "${COMPREPLY[@]}"; '
            'COMP_WORDS=(hwr g); COMP_CWORD=1; _hwr_complete; echo "${COMPREPLY[@]}"',
            "_",
            script,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"},
    ).stdout.splitlines()
    assert words == ["energy", "get gui"]


# -- hwr mv ------------------------------------------------------------------------
def test_mv_waits_for_the_end_of_the_move(demo_config):
    proc = hwr("--config", str(demo_config), "mv", "diff-omega", "15")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert any("BUSY (MOVING)" in line for line in lines), proc.stdout
    assert lines[-1] == "/diff-omega 15 deg  READY (ON)"
    proc = hwr("--config", str(demo_config), "get", "diff-omega.position")
    assert float(proc.stdout.split()[0]) == pytest.approx(15)


def test_ctrl_c_during_mv_stops_the_motor(demo_config):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "HardwareRepository.cli",
            "--config",
            str(demo_config),
            "mv",
            "sample-y",
            "1.9",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for line in proc.stdout:
            if "BUSY" in line:
                break
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, out + err
    assert "stopped at" in err
    deadline = time.monotonic() + 10
    while True:  # the motor decelerates, then is at rest short of the target
        state = hwr("--config", str(demo_config), "get", "sample-y", "--json")
        data = json.loads(state.stdout)
        if data["state"] == "READY" or time.monotonic() > deadline:
            break
    assert data["state"] == "READY"
    assert data["channels"]["position"]["value"] < 1.8
