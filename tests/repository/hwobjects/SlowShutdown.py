"""A hardware object whose shutdown() hangs cooperatively (test helper)."""

import gevent

from HardwareRepository.BaseHardwareObjects import HardwareObject


class SlowShutdown(HardwareObject):
    """shutdown() waits far longer than any repository shutdown allows."""

    def shutdown(self):
        gevent.sleep(120)
        super().shutdown()
