"""The ``hwr`` command line: check a configuration, read, write, call, watch, demo.

Every command prints one clear line and exits non-zero on a user mistake or a
hardware error (never a traceback, unless ``--log-level DEBUG``). Exit codes:
0 success, 1 the hardware or configuration reported an error, 2 wrong usage,
130 interrupted by Ctrl-C.
"""

from ._main import main, run

__all__ = ["main", "run"]
