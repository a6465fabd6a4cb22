"""The polled call never runs in the hub or a greenlet, even in a patched app."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

SCRIPT = pathlib.Path(__file__).with_name("_patched_poller_app.py")


@pytest.mark.parametrize("mode", ["none", "no-thread", "all"])
def test_poller_in_a_patched_application(mode):
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), mode],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("OK thread,delivery,shutdown"), (
        proc.stdout + proc.stderr
    )
