"""The filter process behind :func:`HardwareRepository.toolkit.filter_stderr`.

Run as a script (``python -I this_file PATTERN...``), standard library only:
reads the parent's stderr from its standard input and copies it to its
standard output (the parent's real stderr), leaving out every whole line that
matches one of the regular expressions given as arguments. It lives in its own
process so that nothing the parent wrote is lost if the parent dies suddenly
(abort, segmentation fault): the pipe is drained to its end whatever happens.
"""

from __future__ import annotations

import os
import re
import select
import sys

#: A partial line is written out after this many seconds without a newline...
PARTIAL_LINE_WAIT = 0.05
#: ...unless it may be the start of a filtered line, which gets this long.
PARTIAL_MATCH_WAIT = 0.5
#: A line longer than this is written out without waiting for its end.
MAX_LINE = 64 * 1024
#: The parent writes it (and a newline) to learn that all it wrote before is
#: out; not copied, answered with one byte on the acknowledgement descriptor.
#: It may end a partial line, which is then written out as it is.
SYNC_LINE = b"\0HardwareRepository stderr filter sync\0"


def _write_all(fd: int, data: bytes) -> None:
    while data:
        try:
            written = os.write(fd, data)
        except OSError:
            return  # the terminal (or the parent) is gone: nobody left to read
        data = data[written:]


def run(
    patterns: list[re.Pattern[bytes]],
    prefixes: list[re.Pattern[bytes]],
    ack: int | None = None,
) -> None:
    """Copy fd 0 to fd 1 without the lines matching ``patterns``, until EOF.

    Args:
        patterns: a line (without its newline) that one of these matches as
            a whole is left out.
        prefixes: a partial line whose start one of these matches may still become a
            filtered line: it is held back up to :data:`PARTIAL_MATCH_WAIT`.
        ack: the descriptor that answers each :data:`SYNC_LINE`.
    """
    pending = b""
    while True:
        if pending:
            may_match = any(p.match(pending) for p in prefixes)
            wait: float | None = PARTIAL_MATCH_WAIT if may_match else PARTIAL_LINE_WAIT
        else:
            wait = None
        readable, _, _ = select.select([0], [], [], wait)
        if not readable:
            _write_all(1, pending)
            pending = b""
            continue
        chunk = os.read(0, 65536)
        if not chunk:
            break
        *lines, pending = (pending + chunk).split(b"\n")
        kept: list[bytes] = []
        for line in lines:
            if line.endswith(SYNC_LINE):
                # what precedes it is a partial line: out as it is, no newline
                unfinished = line[: -len(SYNC_LINE)]
                _write_all(1, b"".join(k + b"\n" for k in kept) + unfinished)
                kept = []
                if ack is not None:
                    _write_all(ack, b"!")
            elif not any(p.fullmatch(line) for p in patterns):
                kept.append(line)
        if kept:
            _write_all(1, b"".join(line + b"\n" for line in kept))
        if len(pending) > MAX_LINE:
            _write_all(1, pending)
            pending = b""
    _write_all(1, pending)


def main(argv: list[str]) -> int:
    """Parse ``ACK_FD PATTERN... -- PREFIX...``; filter until the parent is gone."""
    ack = int(argv.pop(0))
    if "--" in argv:
        split = argv.index("--")
        pattern_args, prefix_args = argv[:split], argv[split + 1 :]
    else:
        pattern_args, prefix_args = argv, []
    patterns = [re.compile(p.encode()) for p in pattern_args]
    prefixes = [re.compile(p.encode()) for p in prefix_args]
    run(patterns, prefixes, ack)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
