"""A native sleep that other threads (and garbage-collector callbacks) can cut short."""

from __future__ import annotations

from ..bridge import native

__all__ = ["Wakeup"]


class Wakeup:
    """Let one thread sleep until a timeout or until another thread wakes it.

    :meth:`wake` is safe from any thread and from weak-reference callbacks: it
    takes no lock, allocates nothing and never blocks. Wake-ups coalesce: any
    number of :meth:`wake` calls before the next :meth:`wait` end one wait.
    Only one thread may :meth:`wait`.
    """

    def __init__(self) -> None:
        self._lock = native.allocate_lock()
        self._lock.acquire()

    def wait(self, timeout: float | None) -> bool:
        """Sleep for at most ``timeout`` s (``None``: until woken).

        :returns: whether a wake-up ended the wait.
        """
        if timeout is None:
            return self._lock.acquire()
        return self._lock.acquire(True, max(0.0, timeout))

    def wake(self) -> None:
        """End the current or the next :meth:`wait`."""
        try:
            self._lock.release()
        except RuntimeError:
            # Already released: a wake-up is pending, which is all we want.
            return
