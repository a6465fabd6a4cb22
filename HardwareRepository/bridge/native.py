"""Native (never monkey-patched) threading primitives: ``bridge.native``.

The package must work whether or not the application called
``gevent.monkey.patch_all()``; every real lock, thread and sleep it uses comes
from here, fetched with :func:`gevent.monkey.get_original`, which returns the
standard-library object when nothing was patched.
"""

from __future__ import annotations

from gevent.monkey import get_original

allocate_lock = get_original("_thread", "allocate_lock")
get_ident = get_original("_thread", "get_ident")
start_new_thread = get_original("_thread", "start_new_thread")
thread_local = get_original("_thread", "_local")
sleep = get_original("time", "sleep")
monotonic = get_original("time", "monotonic")

__all__ = [
    "allocate_lock",
    "get_ident",
    "monotonic",
    "sleep",
    "start_new_thread",
    "thread_local",
]
