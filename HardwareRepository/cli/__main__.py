"""``python -m HardwareRepository.cli`` is ``hwr``."""

import sys

from . import main

sys.exit(main())
