"""Private implementation of :mod:`HardwareRepository.Poller`.

* :mod:`._pool` -- a bounded pool of real threads, growing on demand, shrinking
  when idle;
* :mod:`._scheduler` -- one thread with a heap of absolute deadlines;
* :mod:`._refs` -- which references are weak and which strong;
* :mod:`._poller` -- jobs, pollers, the registry and the public functions;
* :mod:`._config` -- the runtime settings.
"""

from ._poller import (
    NotInitializedValue,
    Poller,
    PollerStatistics,
    PollingService,
    configure,
    get_poller,
    poll,
    polling_service,
    pool_threads,
    shutdown,
    stop_all,
)

__all__ = [
    "NotInitializedValue",
    "Poller",
    "PollerStatistics",
    "PollingService",
    "configure",
    "get_poller",
    "poll",
    "polling_service",
    "pool_threads",
    "shutdown",
    "stop_all",
]
