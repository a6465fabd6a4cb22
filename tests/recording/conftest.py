"""Fixtures of the recording tests: small tmpfs file systems."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator

import pytest


@pytest.fixture
def small_tmpfs(tmp_path) -> Iterator[Callable[[int], str]]:
    """Mount small tmpfs file systems (root only); skip where mounting is refused."""
    mounted: list[str] = []

    def mount(size_bytes: int) -> str:
        target = tmp_path / f"tmpfs{len(mounted)}"
        target.mkdir()
        result = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_bytes}", "tmpfs", str(target)],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
        mounted.append(str(target))
        return str(target)

    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    yield mount
    for target in mounted:
        subprocess.run(["umount", "-l", target], check=False)
