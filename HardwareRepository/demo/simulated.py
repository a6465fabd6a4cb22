"""SIMULATED TINE and Taco sources for the demo beamline.

The TINE and Taco client libraries are not available here, so the demo shows
one TINE channel and one Taco channel through the package's simulated clients
(:mod:`HardwareRepository.Command.tine_sim`, :mod:`.taco_sim`). This module
defines what those simulated servers serve: a beam-position monitor's
intensity on TINE (published by a background thread) and a hutch thermometer
on Taco (computed on each call). Everything here is a simulation and says so.
"""

from __future__ import annotations

import math
import time

from ..bridge import native
from ..Command import taco_sim, tine_sim

__all__ = ["TACO_DEVICE", "TINE_ADDRESS", "SimulatedSources"]

TINE_ADDRESS = "/DEMO/BEAMLINE/BPM1"
TACO_DEVICE = "demo/hutch/thermometer"

_PUBLISH_PERIOD = 0.2  # s


def _temperature() -> float:
    return 21.5 + 0.3 * math.sin(time.time() / 20.0)


class SimulatedSources:
    """The demo's simulated TINE server and Taco device; start, then stop.

    :meth:`start` and :meth:`stop` are safe from any thread. The TINE
    publisher is one native thread, ended by :meth:`stop`.
    """

    def __init__(self) -> None:
        self._stop = native.allocate_lock()
        self._stopped = native.allocate_lock()
        self._running = False

    def start(self) -> None:
        """Define the simulated server and device and start publishing."""
        if self._running:
            return
        self._running = True
        self._server = tine_sim.define_server(TINE_ADDRESS, {"INTENSITY": 1.0})
        taco_sim.define_device(TACO_DEVICE, {"DevReadValue": _temperature})
        self._stop.acquire()
        self._stopped.acquire()
        native.start_new_thread(self._publish, ())

    def _publish(self) -> None:
        try:
            t0 = time.monotonic()
            while not self._stop.acquire(True, _PUBLISH_PERIOD):
                t = time.monotonic() - t0
                intensity = 1.0 + 0.05 * math.sin(t / 3.0) + 0.01 * math.sin(t * 7.1)
                self._server.publish("INTENSITY", round(intensity, 5))
        finally:
            self._stopped.release()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop publishing and forget the simulated server and device."""
        if not self._running:
            return
        self._running = False
        self._stop.release()
        self._stopped.acquire(True, timeout)
        tine_sim.reset()
        taco_sim.remove_device(TACO_DEVICE)

    def __enter__(self) -> SimulatedSources:
        """Start the simulated sources; return them."""
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Stop the simulated sources."""
        self.stop()
