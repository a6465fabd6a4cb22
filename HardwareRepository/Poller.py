"""Poll callables in real OS threads; deliver values in the caller's gevent hub.

The API of mxCuBE's ``Poller`` module, on a bounded pool of threads shared by
every poller (no thread per poller)::

    from HardwareRepository import Poller

    poller = Poller.poll(device.read_position, (), 500,
                         value_changed_callback=self.position_changed,
                         error_callback=self.polling_failed)

    def polling_failed(self, exception, poller_id):
        Poller.get_poller(poller_id).restart(1000)   # resume in 1 s

* the polled call runs in a pool thread, never in the hub or a greenlet, even
  when the application monkey-patched ``threading``;
* ``value_changed_callback(value)`` and ``error_callback(exception, poller_id)``
  run in the hub of the thread that called :func:`poll`, in production order;
* periods and delays are in milliseconds;
* references: see :class:`Poller` (polled callable and bound-method callbacks
  weak, other callbacks strong).

:func:`stop_all` and :func:`shutdown` are for the repository's shutdown and for
tests; :func:`configure` sets the pool's thread cap and idle timeout.
"""

from ._polling import (
    NotInitializedValue,
    Poller,
    PollerStatistics,
    configure,
    get_poller,
    poll,
    pool_threads,
    shutdown,
    stop_all,
)

__all__ = [
    "NotInitializedValue",
    "Poller",
    "PollerStatistics",
    "configure",
    "get_poller",
    "poll",
    "pool_threads",
    "shutdown",
    "stop_all",
]
