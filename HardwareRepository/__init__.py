"""HardwareRepository: XML-configured hardware objects on one Qt+gevent loop.

Importing this package is cheap and imports neither Qt nor any control-system
client library; those are imported by the modules that need them.

Layers, from the bottom up (each imports only the ones below it):

* :mod:`HardwareRepository.errors` and :mod:`HardwareRepository.bridge` -- the
  exception taxonomy and the thread <-> gevent-hub primitives;
* :mod:`HardwareRepository.Poller` -- polling on a bounded pool of real threads;
* the XML configuration, hardware objects and the command/channel framework;
* one module per control system under :mod:`HardwareRepository.Command`;
* :mod:`HardwareRepository.qtloop` -- one Qt event loop that also runs gevent.
"""

__version__ = "0.1.0"
