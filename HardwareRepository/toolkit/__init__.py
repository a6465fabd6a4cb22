"""Concurrency toolkit on the thread <-> hub bridge.

* :class:`PeriodicTask` -- a target run every period in a thread or in the hub,
  with start/stop/kill, absolute deadlines, hooks and statistics;
* :class:`PolledCache` -- key -> value cache polled in one thread, write-through;
* :class:`SerialWorker` -- one real thread owning a non-thread-safe library;
* :class:`ProcessWorker` -- the same in a child process;
* :class:`Timer` -- one-shot or retriggering timer with a race-free cancel;
* :func:`green` -- ``wait=``/``timeout=`` keywords for any blocking function,
  :func:`run_in_thread` -- one call in a new real thread;
* :func:`filter_stderr` -- keep known lines of C++ libraries off the terminal.

Every crossing between threads goes through :mod:`HardwareRepository.bridge`
(``AsyncResult``, ``Event``, ``Queue``, ``HubBridge.post``); worker threads never
create a gevent hub or gevent object.
"""

from ._cache import PolledCache
from ._green import green, run_in_thread
from ._periodic import PeriodicTask
from ._process import ProcessWorker
from ._serial import SerialWorker
from ._stderr_filter import StderrFilter, filter_stderr
from ._timer import Timer

__all__ = [
    "PeriodicTask",
    "PolledCache",
    "ProcessWorker",
    "SerialWorker",
    "StderrFilter",
    "Timer",
    "filter_stderr",
    "green",
    "run_in_thread",
]
