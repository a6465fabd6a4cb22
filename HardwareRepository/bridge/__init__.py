"""Thread <-> gevent-hub primitives, usable from any thread and any greenlet.

Code running in foreign OS threads (Tango event threads, polling threads) hands
calls and data to the gevent hub of the thread that owns the hardware objects
through these primitives. Waiting is cooperative inside a greenlet (the other
greenlets of its hub keep running) and native in a plain thread. Nothing here
monkey-patches, and everything works whether or not the application did.

Every crossing goes through one :class:`HubBridge` per hub: one async watcher
created, started and closed in the hub's own thread, plus a deque that the hub
drains completely on each wake-up.

Data from client threads -- values, qualities, connection changes of channels,
poll results -- enters the hub one way: through an :class:`Inbox` of the hub's
:class:`HubSink`, which keeps each receiver's items in order, batches them,
merges values for receivers that ask for it, lingers after a batch for
receivers with a steady stream, bounds the time the hub spends on
one receiver and the memory a backlog takes, and counts all of it (the
guarantees are written in :mod:`HardwareRepository.bridge._sink`).
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_exports
from ..errors import BridgeClosedError, InvalidThreadUseError, Timeout
from . import native
from ._hub import (
    HubBridge,
    get_bridge,
    get_bridge_if_exists,
    get_hub_if_exists,
    spawn_logged,
)
from ._launch import HubTrigger, Launcher
from ._sync import AsyncResult, Empty, Event, Full, Lock, Queue, RLock

# The sink and the threads are imported on first use: the repository, and
# channels that never hear from another thread, need neither.
if TYPE_CHECKING:
    from ._sink import (
        BURST,
        DEFAULT_BUDGET,
        DEFAULT_CAPACITY,
        HubSink,
        Inbox,
        InboxStatistics,
        get_sink,
        sink_for,
    )
    from ._thread import Thread, ThreadResource
else:
    __getattr__ = lazy_exports(
        __name__,
        {
            **dict.fromkeys(
                (
                    "BURST",
                    "DEFAULT_BUDGET",
                    "DEFAULT_CAPACITY",
                    "HubSink",
                    "Inbox",
                    "InboxStatistics",
                    "get_sink",
                    "sink_for",
                ),
                "._sink",
            ),
            "Thread": "._thread",
            "ThreadResource": "._thread",
        },
    )

__all__ = [
    "BURST",
    "DEFAULT_BUDGET",
    "DEFAULT_CAPACITY",
    "AsyncResult",
    "BridgeClosedError",
    "Empty",
    "Event",
    "Full",
    "HubBridge",
    "HubSink",
    "HubTrigger",
    "Inbox",
    "InboxStatistics",
    "InvalidThreadUseError",
    "Launcher",
    "Lock",
    "Queue",
    "RLock",
    "Thread",
    "ThreadResource",
    "Timeout",
    "get_bridge",
    "get_bridge_if_exists",
    "get_hub_if_exists",
    "get_sink",
    "native",
    "sink_for",
    "spawn_logged",
]
