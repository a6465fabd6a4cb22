"""The bridge works whether or not (and however) the application monkey-patched."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

SCRIPT = pathlib.Path(__file__).with_name("_patched_app.py")


@pytest.mark.parametrize("mode", ["none", "no-thread", "all"])
def test_bridge_in_a_patched_application(mode):
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), mode],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("OK thread,crossing,lock"), proc.stdout + proc.stderr
