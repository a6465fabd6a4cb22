"""Run ``hwr`` as a user does: a separate process."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def hwr(
    *args: str, timeout: float = 60, cwd: pathlib.Path = ROOT, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run ``hwr ARGS`` in ``cwd`` (the source tree) with extra environment ``env``."""
    return subprocess.run(
        [sys.executable, "-m", "HardwareRepository.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=cwd,
        env={**os.environ, **env},
    )
