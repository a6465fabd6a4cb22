"""Demo Tango servers on a free port, and a copy of the demo configuration for them."""

from __future__ import annotations

import pathlib
import shutil

import pytest

from HardwareRepository.demo.servers import DEMO_PORT, demo_devices
from HardwareRepository.testing.tango_servers import TangoServerProcess

ROOT = pathlib.Path(__file__).resolve().parents[2]
DEMO_CONFIG = ROOT / "configuration" / "demo"


def copy_demo_config(destination: pathlib.Path, port: int) -> pathlib.Path:
    """Copy configuration/demo to ``destination`` with its devices on ``port``."""
    destination.mkdir(parents=True, exist_ok=True)
    for source in DEMO_CONFIG.glob("*.xml"):
        text = source.read_text().replace(f":{DEMO_PORT}/", f":{port}/")
        (destination / source.name).write_text(text)
    return destination


@pytest.fixture(scope="module")
def demo_servers():
    """The demo device servers, running on a free port for this module."""
    server = TangoServerProcess(demo_devices(), server_name="HwrDemoTest")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def demo_config(tmp_path, demo_servers):
    """A copy of the demo configuration pointing at :func:`demo_servers`."""
    return copy_demo_config(tmp_path / "demo", demo_servers.port)


@pytest.fixture
def broken_config(tmp_path):
    """A configuration with one good object and one malformed file."""
    config = tmp_path / "broken"
    config.mkdir()
    shutil.copy(DEMO_CONFIG / "machine-info.xml", config / "machine-info.xml")
    (config / "bad-motor.xml").write_text(
        '<device class="TangoMotor">\n  <username>Bad</username>\n'
        "  <unit>mm\n</device>\n"
    )
    return config
