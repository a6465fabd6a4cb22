"""Fixtures for the mxCuBE compatibility tests: configurations, clean module state."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import HardwareRepository.HardwareRepository as repository_module  # noqa: N813

HERE = Path(__file__).resolve().parent
HWOBJECTS = str(HERE / "hwobjects")


@pytest.fixture(autouse=True)
def hwobjects_on_path() -> Iterator[None]:
    """Put the test classes' directory on ``sys.path`` for the test (restored)."""
    saved = list(sys.path)
    sys.path.insert(0, HWOBJECTS)
    yield
    sys.path[:] = saved


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    """Return ``write(relative_name, text)``: a dedented file under ``tmp_path/cfg``."""

    def write_file(name: str, text: str) -> Path:
        path = tmp_path / "cfg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
        return path

    return write_file


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    """The configuration directory ``write`` fills."""
    path = tmp_path / "cfg"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture
def hwr() -> Iterator[object]:
    """The ``HardwareRepository.HardwareRepository`` module, uninitialised after."""
    saved_dirs = list(repository_module._pending_dirs)
    yield repository_module
    repository_module.uninit_hardware_repository()
    repository_module._pending_dirs[:] = saved_dirs


@pytest.fixture
def sim_xml() -> Callable[[str], str]:
    """Return ``sim_xml(class_name)``: an object with one sim channel and command."""

    def text(class_name: str = "MxcubeStyle") -> str:
        return f"""
            <object class="{class_name}">
              <username>Thing</username>
              <channel type="sim" name="position" value="1.5"/>
              <command type="sim" name="home"/>
            </object>
        """

    return text


@pytest.fixture(scope="module")
def core() -> Iterator[object]:
    """``compat.mxcubecore.install()`` for one test module; undone after it.

    Imports the Tango module first: it opens process-wide pipes, which are
    not a leak of the first test that happens to import it.
    """
    import HardwareRepository.Command.Tango  # noqa: F401
    from HardwareRepository.compat import mxcubecore as compat

    compat.install()
    yield compat
    compat.uninstall()


@pytest.fixture
def wait_until() -> Callable[..., None]:
    """Return ``wait_until(condition, timeout=10, what=...)``, a cooperative wait."""
    import gevent

    def wait(
        condition: Callable[[], object], timeout: float = 10.0, what: str = ""
    ) -> None:
        failure = AssertionError(f"timed out waiting for {what or condition}")
        with gevent.Timeout(timeout, failure):
            while not condition():
                gevent.sleep(0.02)

    return wait
