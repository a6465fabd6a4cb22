"""The recorder works whether or not the application monkey-patched gevent."""

from __future__ import annotations

import pathlib

import pytest

from HardwareRepository.testing.patching import PATCH_MODES, run_patched

SCRIPT = pathlib.Path(__file__).with_name("_patched_recording.py")


@pytest.mark.parametrize("patch", PATCH_MODES)
def test_recording_in_a_patched_process(patch):
    proc = run_patched(SCRIPT, patch, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.split("\n")
    for mode, line in zip(("concurrent", "parallel"), lines, strict=False):
        name, state, status, received, written, last = line.split()
        assert (name, state, status) == (mode, "OFF", "SUCCEEDED")
        assert int(written) == int(received) >= 101  # coalesced thread values + 100
        assert float(last) == 299.0
