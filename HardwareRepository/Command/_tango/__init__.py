"""Private machinery of :mod:`HardwareRepository.Command.Tango`.

* :mod:`._errors`: Tango ``DevFailed`` -> the package's exceptions, naming the
  device, the command or attribute, and Tango's error reasons;
* :mod:`._workers`: a few native threads per device that run blocking Tango
  calls and hand results back through :class:`~HardwareRepository.bridge.AsyncResult`;
* :mod:`._device`: one shared, reference-counted connection per device name
  (a synchronous ``DeviceProxy`` used only from worker and poller threads);
* :mod:`._events`: change-event callbacks from Tango threads, put into the
  channel's inbox of the bridge's sink (:class:`~HardwareRepository.bridge.HubSink`).

Everything :mod:`HardwareRepository.Command.Tango` uses is exported here (it
imports no module of this package directly). For the rest of the package (the
green proxy of :mod:`HardwareRepository.tango` runs its calls on the same kind
of pool, imported through :mod:`HardwareRepository.Command.Tango`):

* :class:`WorkerPool`: native, omniORB-registered threads that run blocking
  Tango calls and set their outcome on an ``AsyncResult``.
"""

from ._device import (
    DeviceLink,
    PendingCall,
    acquire_link,
    release_link,
    released_links,
)
from ._errors import (
    FALLBACK_REASONS,
    TangoCommandFailedError,
    TangoCommunicationError,
    TangoErrorDetails,
    TangoNotConnectedError,
    TangoTimeout,
)
from ._events import MAX_DEPTH, QUALITIES, READ_BACK, EventCallback, EventItem
from ._modes import ChannelMode, EventMode, PollMode, Reading, ReadMode
from ._workers import WorkerPool

__all__ = [
    "FALLBACK_REASONS",
    "MAX_DEPTH",
    "QUALITIES",
    "READ_BACK",
    "ChannelMode",
    "DeviceLink",
    "EventCallback",
    "EventItem",
    "EventMode",
    "PendingCall",
    "PollMode",
    "ReadMode",
    "Reading",
    "TangoCommandFailedError",
    "TangoCommunicationError",
    "TangoErrorDetails",
    "TangoNotConnectedError",
    "TangoTimeout",
    "WorkerPool",
    "acquire_link",
    "release_link",
    "released_links",
]
