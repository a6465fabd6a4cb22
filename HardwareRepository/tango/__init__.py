"""PyTango's client API, cooperative with gevent: the green ``DeviceProxy``.

``HardwareRepository.tango.DeviceProxy`` replaces ``tango.gevent.DeviceProxy``
(PyTango's gevent green mode) for scripts and hardware objects written for it::

    from HardwareRepository.tango import DeviceProxy

    dev = DeviceProxy("tango://host:10000/id/motor/1")
    dev.state()                                      # other greenlets keep running
    reply = dev.read_attribute("wave", wait=False)   # an AsyncResult
    reply.get(timeout=3).value
    dev.command_inout("Home", timeout=20)            # Timeout (a TimeoutError)

Unlike PyTango's gevent mode it creates no watcher and no greenlet per event,
never blocks Tango's event thread on the hub, raises a ``TimeoutError`` rather
than ``gevent.Timeout``, hands exceptions to the caller rather than to the
hub's printer, and keeps the same behaviour in every thread.
"""

from ..bridge import AsyncResult
from ..errors import Timeout
from ._forwarding import EventForwarder
from ._proxy import DeviceProxy, get_device_proxy

__all__ = [
    "AsyncResult",
    "DeviceProxy",
    "EventForwarder",
    "Timeout",
    "get_device_proxy",
]
