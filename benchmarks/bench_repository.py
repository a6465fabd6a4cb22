"""Repository figures: load 500 generated objects; import time of the package.

Each generated object has 3 ``sim`` commands, 3 ``sim`` channels, a few
properties and one reference (to the previous object), so loading one object
also resolves a reference. Import time is measured in fresh subprocesses
(best of several, as a cold process would see it with warm file caches).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time

from benchmarks._report import Figure, at_most

OBJECTS = 500
IMPORT_RUNS = 5

_TEMPLATE = """<device class="HardwareRepository.BaseHardwareObjects.Device">
  <username>Motor {i}</username>
  <tangoname>id00/motor/{i}</tangoname>
  <velocity>{i}.5</velocity>
  <channel type="sim" name="position" value="{i}.0">Position</channel>
  <channel type="sim" name="state" value="READY">State</channel>
  <channel type="sim" name="velocity" value="1.0">Velocity</channel>
  <command type="sim" name="move">Move</command>
  <command type="sim" name="stop">Stop</command>
  <command type="sim" name="home" value="0">Home</command>
  <object href="{ref}" role="previous"/>
</device>
"""


def _generate(directory: str) -> None:
    os.makedirs(os.path.join(directory, "motors"))
    with open(os.path.join(directory, "base.xml"), "w") as handle:
        handle.write("<object><origin>0</origin></object>")
    for i in range(OBJECTS):
        # a chain: the reverse load order makes every load wait for the next
        ref = f"/motors/m{i - 1}" if i else "/base"
        path = os.path.join(directory, "motors", f"m{i}.xml")
        with open(path, "w") as handle:
            handle.write(_TEMPLATE.format(i=i, ref=ref))


def _load_time(directory: str) -> tuple[float, int]:
    from HardwareRepository.HardwareRepository import HardwareRepository

    repo = HardwareRepository(directory)
    started = time.perf_counter()
    for i in reversed(range(OBJECTS)):
        repo.get_hardware_object(f"/motors/m{i}")
    records = repo.load_all()
    elapsed = time.perf_counter() - started
    loaded = sum(1 for r in records if r.status == "ok") - 1  # minus /base
    repo.shutdown()
    return elapsed, loaded


def _import_time(env: dict[str, str] | None = None) -> tuple[float, float]:
    code = (
        "import time; t = time.perf_counter(); "
        "import HardwareRepository.HardwareRepository; "
        "print(time.perf_counter() - t)"
    )
    samples = []
    for _ in range(IMPORT_RUNS):
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
        samples.append(float(out.stdout))
    return min(samples), statistics.median(samples)


def _cached_import_time(cache: str) -> tuple[float, float]:
    """Import time with bytecode cached in ``cache`` (what installed users get)."""
    env = dict(os.environ, PYTHONPYCACHEPREFIX=cache)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    _import_time(env)  # writes the cache
    return _import_time(env)


def run() -> list[Figure]:
    """Measure and return the repository figures."""
    best, median = _import_time()
    compiling = bool(os.environ.get("PYTHONDONTWRITEBYTECODE"))
    with tempfile.TemporaryDirectory() as cache:
        cached_best, cached_median = _cached_import_time(cache)
    with tempfile.TemporaryDirectory() as directory:
        _generate(directory)
        first, loaded = _load_time(directory)
        second, _ = _load_time(directory)  # modules and classes already imported
    return [
        at_most(
            "repository: import HardwareRepository.HardwareRepository, best",
            best,
            "s",
            0.3,
            f"median of {IMPORT_RUNS} fresh processes {median:.3f} s"
            + ("; PYTHONDONTWRITEBYTECODE is set: each compiles" if compiling else ""),
        ),
        at_most(
            "repository: import HardwareRepository.HardwareRepository, "
            "bytecode cached, best",
            cached_best,
            "s",
            0.3,
            f"median of {IMPORT_RUNS} fresh processes {cached_median:.3f} s",
        ),
        at_most(
            f"repository: load {OBJECTS} objects (3 cmd + 3 chan + 1 ref)",
            first,
            "s",
            1.0,
            f"{loaded} loaded; second load in the same process {second:.3f} s",
        ),
    ]
