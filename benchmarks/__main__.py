"""Run every ``benchmarks/bench_*.py`` module, each in its own process.

Each module defines ``run() -> list[Figure]`` (see :mod:`benchmarks._report`).
A fresh process per module keeps one benchmark's threads, loop choice and Qt
application from disturbing the next. ``python -m benchmarks NAME...`` runs only
the named modules (``bridge``, ``poller``, ...). cppTango's "not found in event
callback map" lines are kept off the terminal, as ``hwr`` does (the children
inherit the filtered stderr).
"""

from __future__ import annotations

import pathlib
import subprocess
import sys

from HardwareRepository.Command.cpptango_stderr import keep_cpptango_noise_off_stderr

HERE = pathlib.Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    names = argv or sorted(p.stem[len("bench_") :] for p in HERE.glob("bench_*.py"))
    keep_cpptango_noise_off_stderr()
    failed = 0
    for name in names:
        print(f"== {name}", flush=True)
        code = (
            "import sys; from benchmarks._report import Figure; "
            f"from benchmarks.bench_{name} import run; "
            "figures = run(); "
            "[print(f.line(), flush=True) for f in figures]"
        )
        proc = subprocess.run(
            [sys.executable, "-c", code], cwd=HERE.parent, timeout=900, check=False
        )
        if proc.returncode:
            print(f"!! benchmark {name} failed (exit {proc.returncode})", flush=True)
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
