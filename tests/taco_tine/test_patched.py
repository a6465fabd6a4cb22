"""Taco and TINE channels work whether or not the application monkey-patched."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

SCRIPT = pathlib.Path(__file__).with_name("_patched_app.py")


@pytest.mark.parametrize("mode", ["none", "no-thread", "all"])
def test_taco_and_tine_in_a_patched_application(mode):
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), mode],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "OK values command", proc.stdout + proc.stderr
