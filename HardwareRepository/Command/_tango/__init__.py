"""Private machinery of :mod:`HardwareRepository.Command.Tango`.

* :mod:`._errors`: Tango ``DevFailed`` -> the package's exceptions, naming the
  device, the command or attribute, and Tango's error reasons;
* :mod:`._workers`: a few native threads per device that run blocking Tango
  calls and hand results back through :class:`~HardwareRepository.bridge.AsyncResult`;
* :mod:`._device`: one shared, reference-counted connection per device name
  (a synchronous ``DeviceProxy`` used only from worker and poller threads);
* :mod:`._health`: a ping per device in a thread of its own, the device's
  liveness verdicts;
* :mod:`._calls`: the blocking Tango calls and the cooperative waits on them;
* :mod:`._events`: change-event callbacks from Tango threads, put into the
  channel's inbox of the bridge's sink (:class:`~HardwareRepository.bridge.HubSink`);
* :mod:`._modes`: how a channel gets its values (events, polling, on demand);
* :mod:`._command_backend`, :mod:`._channel_backend`: the package's
  ``CommandBackend`` and ``ChannelBackend`` for Tango, which
  :class:`~HardwareRepository.Command.Tango.TangoCommand` and
  :class:`~HardwareRepository.Command.Tango.TangoChannel` hold.

Everything :mod:`HardwareRepository.Command.Tango` uses is exported here (it
imports no module of this package directly). For the rest of the package (the
green proxy of :mod:`HardwareRepository.tango` runs its calls on the same kind
of pool, imported through :mod:`HardwareRepository.Command.Tango`):

* :class:`WorkerPool`: native, omniORB-registered threads that run blocking
  Tango calls and set their outcome on an ``AsyncResult``.
"""

from ._calls import lingering
from ._channel_backend import (
    BUSY_LINGER,
    FALLBACK_POLLING_PERIOD,
    HUB_SLICE,
    LINGER,
    READ_BACK_DELAY,
    RETRY_DELAY_MAX,
    RETRY_DELAY_MIN,
    TangoChannelBackend,
)
from ._command_backend import TangoCommandBackend
from ._device import DeviceLink
from ._errors import (
    TangoCommandFailedError,
    TangoCommunicationError,
    TangoErrorDetails,
    TangoNotConnectedError,
    TangoTimeout,
)
from ._events import EventCallback
from ._workers import WorkerPool

__all__ = [
    "BUSY_LINGER",
    "FALLBACK_POLLING_PERIOD",
    "HUB_SLICE",
    "LINGER",
    "READ_BACK_DELAY",
    "RETRY_DELAY_MAX",
    "RETRY_DELAY_MIN",
    "DeviceLink",
    "EventCallback",
    "TangoChannelBackend",
    "TangoCommandBackend",
    "TangoCommandFailedError",
    "TangoCommunicationError",
    "TangoErrorDetails",
    "TangoNotConnectedError",
    "TangoTimeout",
    "WorkerPool",
    "lingering",
]
