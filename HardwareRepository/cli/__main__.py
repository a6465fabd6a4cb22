"""``python -m HardwareRepository.cli`` is ``hwr``."""

import sys

from . import run

sys.exit(run())
