"""Behaviours that need a fresh process: Ctrl-C, idle CPU, exit, headless use."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
ENV = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}


def _run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=ENV,
        cwd=HERE,
        check=False,
    )


@pytest.mark.qt
def test_sigint_quits_the_application():
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "_app.py"), "sigint"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    try:
        assert proc.stdout.readline().strip() == "ready"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert out.strip() == "quit"
    assert "Traceback" not in err


@pytest.mark.qt
def test_idle_application_uses_no_cpu():
    result = _run(str(HERE / "_app.py"), "idle")
    assert result.returncode == 0, result.stderr
    fields = dict(item.split("=") for item in result.stdout.split())
    cpu, wakeups = float(fields["cpu"]), int(fields["wakeups"])
    # Generous bounds (the machine is shared): a busy loop would use ~1 s and a
    # 10 ms polling timer ~100 wake-ups. The precise figure is in the benchmark.
    assert cpu < 0.05, f"{cpu * 100:.2f} % CPU over an idle second"
    assert wakeups <= 10, f"{wakeups} wake-ups over an idle second"


@pytest.mark.qt
def test_quit_leaves_no_thread_and_the_process_exits():
    result = _run(str(HERE / "_app.py"), "quit")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "threads=1"


def test_headless_scripts_work_without_qt():
    result = _run(str(HERE / "_headless.py"))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("qtloop:")
    assert "blocked" in lines[0]
    assert lines[1] == "qt modules: []"


def test_importing_the_package_imports_no_qt():
    code = (
        "import sys, HardwareRepository, HardwareRepository.bridge;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('qtpy', 'PyQt5', 'PySide2', 'PySide6', 'PyQt6')))"
    )
    result = _run("-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
