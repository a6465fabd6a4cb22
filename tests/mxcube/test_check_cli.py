"""``hwr check`` on an mxCuBE configuration lists the lookups answered with None."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

HWOBJECTS = str(Path(__file__).resolve().parent / "hwobjects")


def test_check_lists_missing_lookups(tmp_path):
    config = tmp_path / "mxcube"
    config.mkdir()
    (config / "beamline_config.yml").write_text(
        "class: Beamline.Beamline\nobjects:\n  energy: thing.xml\n"
    )
    (config / "thing.xml").write_text(
        textwrap.dedent(
            """\
            <object class="MxcubeStyle">
              <channel type="sim" name="position" value="1.5"/>
            </object>
            """
        )
    )
    env = {**os.environ, "CUSTOM_HARDWARE_OBJECTS_PATH": HWOBJECTS}
    command = [sys.executable, "-m", "HardwareRepository.cli", "check", str(config)]
    proc = subprocess.run(
        command, capture_output=True, text=True, timeout=60, env=env, check=False
    )
    lines = [line for line in proc.stdout.splitlines() if "MISSING LOOKUP" in line]
    assert len(lines) == 3, proc.stdout + proc.stderr
    assert (
        f"MISSING LOOKUP: {config / 'thing.xml'}:1 (object /thing): channel"
        in (lines[0])
    )
    as_json = subprocess.run(
        [*command[:3], "--json", "check", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    data = json.loads(as_json.stdout)
    assert len(data["missing_lookups"]["/thing"]) == 3
