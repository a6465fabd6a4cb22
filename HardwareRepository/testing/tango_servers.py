"""Real Tango device servers in child processes, for tests.

The launcher lives with the demo (:mod:`HardwareRepository.demo.launcher`),
which starts its beamline with it at run time; tests import it from here.
"""

from ..demo.launcher import ServedDevice, TangoServerProcess, find_free_port

__all__ = ["ServedDevice", "TangoServerProcess", "find_free_port"]
