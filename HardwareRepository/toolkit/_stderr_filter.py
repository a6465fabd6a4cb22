"""Keep known, harmless lines of C++ libraries out of the process's stderr.

Some client libraries write straight to file descriptor 2 from their own
threads (cppTango prints a line for every event that was still in flight when
a subscription ended), where no Python logging setting can reach them. An
application that owns its terminal (``hwr``, the window) can route fd 2
through a small filter process that leaves those lines out and copies
everything else unchanged, in order.
"""

from __future__ import annotations

import atexit
import logging
import os
import select
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from ._stderr_filter_child import SYNC_LINE

__all__ = ["StderrFilter", "filter_stderr"]

log = logging.getLogger("HardwareRepository.toolkit")

_CHILD = Path(__file__).with_name("_stderr_filter_child.py")
_installed: StderrFilter | None = None


class StderrFilter:
    """A filter process standing between this process's fd 2 and the terminal.

    Created by :func:`filter_stderr`. At interpreter exit it waits (briefly)
    until everything written so far has passed (:meth:`sync`) and stays in
    place, so that what C++ libraries print while the process ends is
    filtered too; :meth:`remove` puts the original fd 2 back.

    Attributes:
        patterns: the regular expressions of the lines left out.
    """

    def __init__(
        self, patterns: Sequence[str], prefixes: Sequence[str], *, stream: int = 2
    ) -> None:
        self.patterns = tuple(patterns)
        self._stream = stream
        self._original = os.dup(stream)
        read_end, write_end = os.pipe()
        self._ack, ack_end = os.pipe()
        command = [sys.executable, "-I", str(_CHILD), str(ack_end)]
        try:
            self._process = subprocess.Popen(
                [*command, *self.patterns, "--", *prefixes],
                stdin=read_end,
                stdout=self._original,
                stderr=self._original,
                pass_fds=(ack_end,),
                # Its own session: Ctrl-C in the terminal must not stop the
                # filter before the application has printed its last words.
                start_new_session=True,
            )
        except BaseException:
            for fd in (write_end, self._original, self._ack):
                os.close(fd)
            raise
        finally:
            os.close(read_end)
            os.close(ack_end)
        _flush_python_streams()
        os.dup2(write_end, stream)
        os.close(write_end)
        self._removed = False

    @property
    def active(self) -> bool:
        """Whether fd 2 still goes through the filter."""
        return not self._removed

    def sync(self, timeout: float = 1.0) -> bool:
        """Wait until everything written to fd 2 so far has reached the terminal.

        Args:
            timeout: seconds to wait at most.

        Returns:
            Whether the filter confirmed it in time (``False`` once removed).
        """
        if self._removed:
            return False
        _flush_python_streams()
        try:
            os.write(self._stream, SYNC_LINE + b"\n")
            readable, _, _ = select.select([self._ack], [], [], timeout)
            return bool(readable) and os.read(self._ack, 1) == b"!"
        except OSError:
            return False

    def remove(self, timeout: float = 1.0) -> None:
        """Put the original stream back and let the filter drain; idempotent.

        Call from the main thread (it is also registered with :mod:`atexit`).
        The filter process ends when every process that inherited the filtered
        stream has closed it; this waits up to ``timeout`` seconds for that, so
        that the last lines reach the terminal before the shell prompt.
        """
        if self._removed:
            return
        self.sync(timeout)
        self._removed = True
        os.dup2(self._original, self._stream)
        os.close(self._original)
        os.close(self._ack)
        try:
            self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            log.debug(
                "stderr filter (pid %d) still draining: a child process holds "
                "the stream",
                self._process.pid,
            )


def filter_stderr(
    patterns: Sequence[str], prefixes: Sequence[str] = ()
) -> StderrFilter | None:
    """Leave lines matching ``patterns`` out of this process's stderr (fd 2).

    Every other byte reaches the original stderr unchanged and in order,
    including what child processes started afterwards write (they inherit the
    filtered fd 2). Process-wide: meant for applications, not for libraries,
    and installed once (a second call returns the first filter unchanged).
    Call it from the main thread, early.

    Args:
        patterns: regular expressions (Python syntax) matched against whole
            lines, without the newline.
        prefixes: regular expressions matched against the start of a partial
            line: one that may still become a filtered line is held back a
            little longer while its end arrives (C++ ``cerr`` writes a line in
            several pieces).

    Returns:
        The filter, or ``None`` if it could not be started (the reason is
        logged; stderr is then left as it was).
    """
    global _installed  # one filter per process
    if _installed is not None and _installed.active:
        return _installed
    try:
        _installed = StderrFilter(patterns, prefixes)
    except OSError as exc:
        log.warning("cannot filter stderr (%s); it is left as it is", exc)
        return None
    atexit.register(_installed.sync, 0.5)
    return _installed


def _flush_python_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass
