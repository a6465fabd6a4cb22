"""filter_stderr: a filter process between fd 2 and the terminal.

Each test runs a child Python process that installs the filter and writes to
fd 2 the way C++ libraries do (several unbuffered pieces per line), then
reads back what reached the child's real stderr.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

from HardwareRepository.Command.cpptango_stderr import (
    CALLBACK_MAP_LINE,
    CALLBACK_MAP_LINE_START,
)

NOISE_PIECES = (
    "Thu Dec  3 13:50:13 2026",
    ": ",
    "Event tango://vm:18777/demo/machine/info/current#dbase=no.idl5_change"
    " not found in event callback map !!!",
    "\n",
)

PRELUDE = f"""
import os, subprocess, sys, time
from HardwareRepository.toolkit import filter_stderr
flt = filter_stderr([{CALLBACK_MAP_LINE!r}], [{CALLBACK_MAP_LINE_START!r}])
assert flt is not None and flt.active
def noise():
    for piece in {NOISE_PIECES!r}:
        os.write(2, piece.encode())
        time.sleep(0.01)
"""


def _run(body: str) -> subprocess.CompletedProcess[str]:
    script = PRELUDE + textwrap.dedent(body)
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_noise_written_in_pieces_is_left_out_and_the_rest_kept_in_order():
    result = _run(
        """
        print("first", file=sys.stderr, flush=True)
        noise()
        os.write(2, b"second\\n")
        noise()
        os.write(2, b"a line in two ")
        time.sleep(0.2)
        os.write(2, b"pieces\\n")
        os.write(2, b"no newline at the end")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == (
        "first\nsecond\na line in two pieces\nno newline at the end"
    )


def test_a_line_that_only_resembles_the_noise_is_kept():
    result = _run(
        """
        os.write(2, b"Thu Dec  3 13:50:13 2026: Event x not found in the map\\n")
        os.write(2, b"Event x not found in event callback map !!!\\n")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        "Thu Dec  3 13:50:13 2026: Event x not found in the map",
        "Event x not found in event callback map !!!",
    ]


def test_child_processes_write_through_the_filter():
    result = _run(
        """
        subprocess.run(
            [sys.executable, "-c", "import os; os.write(2, b'from the child\\\\n')"],
            check=True,
        )
        noise()
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == "from the child\n"


def test_sync_confirms_that_everything_written_is_out():
    result = _run(
        """
        os.write(2, b"before sync\\n")
        assert flt.sync(5.0)
        print("synced", flush=True)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == "before sync\n"
    assert result.stdout == "synced\n"


def test_last_words_of_a_process_that_dies_suddenly_are_kept():
    # SIGKILL: no atexit, no flush; the filter process still drains the pipe.
    result = _run(
        """
        os.write(2, b"last words\\n")
        noise()
        import signal
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    assert result.returncode == -9
    assert result.stderr == "last words\n"


def test_remove_puts_the_original_stderr_back():
    result = _run(
        """
        flt.remove()
        assert not flt.active
        noise()
        """
    )
    assert result.returncode == 0, result.stderr
    assert "not found in event callback map !!!" in result.stderr


def test_a_second_call_returns_the_same_filter():
    result = _run(
        """
        again = filter_stderr(["other"])
        assert again is flt, (again, flt)
        """
    )
    assert result.returncode == 0, result.stderr
