"""A broken configuration (the demo servers and configuration: tests/conftest.py)."""

from __future__ import annotations

import shutil

import pytest

from HardwareRepository.demo.servers import DEMO_CONFIGURATION


@pytest.fixture
def broken_config(tmp_path):
    """A configuration with one good object and one malformed file."""
    config = tmp_path / "broken"
    config.mkdir()
    shutil.copy(DEMO_CONFIGURATION / "machine-info.xml", config / "machine-info.xml")
    (config / "bad-motor.xml").write_text(
        '<device class="TangoMotor">\n  <username>Bad</username>\n'
        "  <unit>mm\n</device>\n"
    )
    return config
