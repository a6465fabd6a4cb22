"""cppTango's "not found in event callback map" lines stay off the terminal.

Issue #17 item 8 and #18 item 8: when event subscriptions end while a server
pushes, cppTango prints that line from its own thread straight to fd 2. The
scenario here (the demo beamline loaded and shut down while its machine
current is pushed at 20 Hz) prints it every few cycles with plain stderr;
``hwr`` and :func:`keep_cpptango_noise_off_stderr` leave it out and keep
everything else.
"""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest
from _hwr import ROOT, hwr

pytestmark = pytest.mark.tango

CHILD = pathlib.Path(__file__).with_name("_close_while_pushing.py")
NOISE = "not found in event callback map"


def _run_child(config: pathlib.Path, cycles: int, mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(CHILD), str(config), str(cycles), mode],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def test_the_scenario_makes_cpptango_print_its_noise_on_plain_stderr(demo_config):
    # The control: without the filter the line does appear (so the test
    # below would fail without it). Stops at the first one.
    child = _run_child(demo_config, 30, "plain")
    assert child.stderr is not None
    try:
        seen = next((line for line in child.stderr if NOISE in line), None)
    finally:
        child.kill()
        child.communicate(timeout=30)
    assert seen is not None, "30 cycles printed no callback-map line"


def test_the_filter_leaves_out_only_the_noise(demo_config):
    child = _run_child(demo_config, 8, "filtered")
    _, err = child.communicate(timeout=90)
    assert child.returncode == 0, err
    assert NOISE not in err
    done = [line for line in err.splitlines() if line.startswith("cycle ")]
    assert done == [f"cycle {n} done" for n in range(8)]


def test_hwr_keeps_the_noise_off_the_terminal(demo_config):
    for _ in range(3):
        result = hwr("--config", str(demo_config), "list")
        assert result.returncode == 0, result.stderr
        assert "/machine-info" in result.stdout
        assert NOISE not in result.stderr
