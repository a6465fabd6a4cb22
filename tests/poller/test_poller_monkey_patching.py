"""The polled call never runs in the hub or a greenlet, even in a patched app."""

from __future__ import annotations

import pathlib

import pytest

from HardwareRepository.testing.patching import PATCH_MODES, run_patched

SCRIPT = pathlib.Path(__file__).with_name("_patched_poller_app.py")


@pytest.mark.parametrize("mode", PATCH_MODES)
def test_poller_in_a_patched_application(mode):
    proc = run_patched(SCRIPT, mode)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("OK thread,delivery,shutdown"), (
        proc.stdout + proc.stderr
    )
