"""Load and shut down a configuration a few times while its servers push events.

Run as a child process by test_cpptango_stderr.py: ``python THIS CONFIG CYCLES
filtered|plain``. Writes a numbered line to stderr after each cycle, so the
test can check that everything but cppTango's noise still arrives, in order.
"""

import os
import sys

import gevent

from HardwareRepository.Command.cpptango_stderr import keep_cpptango_noise_off_stderr
from HardwareRepository.HardwareRepository import HardwareRepository


def main(config: str, cycles: int, mode: str) -> int:
    if mode == "filtered" and keep_cpptango_noise_off_stderr() is None:
        return 3
    for cycle in range(cycles):
        repo = HardwareRepository(config)
        repo.load_all()
        gevent.sleep(0.5)  # the machine current is pushed at 20 Hz meanwhile
        problems = repo.shutdown(timeout=5)
        if problems:
            print(problems, file=sys.stderr)
            return 1
        os.write(2, f"cycle {cycle} done\n".encode())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]), sys.argv[3]))
