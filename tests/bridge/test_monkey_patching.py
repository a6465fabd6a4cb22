"""The bridge works whether or not (and however) the application monkey-patched."""

from __future__ import annotations

import pathlib

import pytest

from HardwareRepository.testing.patching import PATCH_MODES, run_patched

SCRIPT = pathlib.Path(__file__).with_name("_patched_app.py")


@pytest.mark.parametrize("mode", PATCH_MODES)
def test_bridge_in_a_patched_application(mode):
    proc = run_patched(SCRIPT, mode)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("OK thread,crossing,lock"), proc.stdout + proc.stderr
