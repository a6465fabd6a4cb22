"""The green proxy works whether or not (and however) the application monkey-patched."""

from __future__ import annotations

import pathlib

import pytest

from HardwareRepository.testing.patching import PATCH_MODES, run_patched

SCRIPT = pathlib.Path(__file__).with_name("_patched_green.py")


@pytest.mark.parametrize("mode", PATCH_MODES)
def test_green_proxy_in_a_patched_application(mode, url, monkeypatch):
    monkeypatch.setenv("GREEN_TEST_DEVICE", url)
    proc = run_patched(SCRIPT, mode)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("OK calls,timeout,cooperative,events"), (
        proc.stdout + proc.stderr
    )
