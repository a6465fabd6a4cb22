"""The README's examples run as written (issue #18).

Every ``python`` block runs in a fresh interpreter, every ``hwr`` line of a
``sh`` block in a shell, in a directory laid out like the source tree:
``configuration/example``, ``configuration/demo`` (on the demo's real Tango
servers, started by the test on a free port, as ``hwr demo`` would in the
"other terminal"), and the files that blocks starting with a ``file:``
comment define. ``hwr demo`` itself is run by ``tests/cli``.
"""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
FILE_HEADER = re.compile(r"^(?:#|<!--) file: (\S+)")

pytestmark = pytest.mark.tango


def blocks(language: str) -> list[str]:
    """Return the README's code blocks in ``language``, in order."""
    text = (ROOT / "README.md").read_text()
    return [body for lang, body in FENCE.findall(text) if lang == language]


@pytest.fixture
def workspace(tmp_path, demo_servers):
    """A directory like the source tree, the demo configuration on live servers."""
    from HardwareRepository.demo.servers import copy_demo_configuration

    shutil.copytree(
        ROOT / "configuration" / "example", tmp_path / "configuration" / "example"
    )
    copy_demo_configuration(tmp_path / "configuration" / "demo", demo_servers.port)
    for language in ("python", "xml"):
        for body in blocks(language):
            header = FILE_HEADER.match(body)
            if header:
                path = tmp_path / header.group(1)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(body)
    return tmp_path


def run(command: list[str], cwd: pathlib.Path) -> subprocess.CompletedProcess[str]:
    bin_dir = os.path.dirname(sys.executable)
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
    )
    env.pop("HWR_CONFIG", None)
    return subprocess.run(
        command,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_readme_has_the_examples_this_test_runs():
    scripts = [b for b in blocks("python") if not FILE_HEADER.match(b)]
    assert len(scripts) >= 3
    assert any("wait_first_values" in b for b in scripts)
    lines = [line for b in blocks("sh") for line in b.splitlines()]
    assert any(line.startswith("hwr --config configuration/demo mv") for line in lines)
    assert any("CUSTOM_HARDWARE_OBJECTS_PATH" in line for line in lines)


def test_python_examples_run_as_written(workspace):
    for body in blocks("python"):
        if FILE_HEADER.match(body):
            continue
        proc = run([sys.executable, "-c", body], workspace)
        assert proc.returncode == 0, f"{body}\n--- stderr:\n{proc.stderr}"
        assert "Traceback" not in proc.stderr, proc.stderr


def test_hwr_command_lines_run_as_written(workspace):
    outputs = {}
    for body in blocks("sh"):
        for line in body.splitlines():
            command = line.split("#", 1)[0].strip()
            if "hwr" not in command or command.startswith("hwr demo"):
                continue  # hwr demo: the servers this test started stand in for it
            proc = run(["bash", "-c", command], workspace)
            assert proc.returncode == 0, f"{command}\n{proc.stdout}\n{proc.stderr}"
            outputs[command] = proc.stdout
    assert outputs["hwr --config configuration/demo get energy.position"].strip() in (
        "12.4 keV",
        "12.5 keV",  # after the mv line, if the lines ran in another order
    )
    slits = next(out for cmd, out in outputs.items() if "get slits" in cmd)
    assert slits.split()[-2:] == ["right", "0.35"]
