"""A link's connection health: outages logged once, retry delays that grow."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Generic, TypeVar

from ..bridge import native

__all__ = ["ConnectionHealth", "RetryBackoff"]

E = TypeVar("E")


class RetryBackoff:
    """Retry delays that double from ``first`` up to ``maximum`` seconds.

    Not thread-safe: use it from one thread (usually the hub thread of the
    item that retries).

    Args:
        first: seconds before the first retry after a failure.
        maximum: the largest delay, seconds.

    Raises:
        ValueError: ``first`` is not positive or ``maximum`` is below it.
    """

    def __init__(self, first: float = 1.0, maximum: float = 30.0) -> None:
        if not first > 0 or not maximum >= first:
            raise ValueError(f"bad retry back-off {first} s .. {maximum} s")
        self.first = first
        self.maximum = maximum
        self._next = first
        #: failures since the last :meth:`reset`
        self.failures = 0

    def next_delay(self) -> float:
        """Count a failure and return the delay before the next attempt (s)."""
        delay = self._next
        self.failures += 1
        self._next = min(self._next * 2.0, self.maximum)
        return delay

    def reset(self) -> None:
        """Forget the failures (after a success)."""
        self._next = self.first
        self.failures = 0


class ConnectionHealth(Generic[E]):
    """Whether a link works, with each outage logged once and its recovery.

    :meth:`lost` and :meth:`back` are safe from any thread (a native lock
    guards the state); :attr:`backoff` belongs to the thread that schedules
    retries. The first failure of an outage is logged as a warning, the
    following ones at debug level, and the recovery at info level, each
    naming the link.

    Args:
        source: names the link in messages (called at each message, so it may
            describe a device whose name is set later).
        logger: where the messages go.
        retry: seconds before the first retry after a failure.
        retry_max: the largest delay between retries, seconds.
    """

    def __init__(
        self,
        source: Callable[[], str],
        logger: logging.Logger,
        retry: float = 1.0,
        retry_max: float = 30.0,
    ) -> None:
        self._source = source
        self._log = logger
        #: the retry delays of this link
        self.backoff = RetryBackoff(retry, max(retry, retry_max))
        self._lock = native.allocate_lock()
        self._in_outage = False  # _lock
        self._last_error: E | None = None  # _lock

    @property
    def in_outage(self) -> bool:
        """Whether the last report was a failure."""
        return self._in_outage

    @property
    def last_error(self) -> E | None:
        """The last failure, ``None`` once the link works again."""
        return self._last_error

    def lost(self, error: E, why: str) -> bool:
        """Record a failure (``why`` for the log); any thread.

        Returns:
            Whether this failure started an outage (the link worked before).
        """
        with self._lock:
            first = not self._in_outage
            self._in_outage = True
            self._last_error = error
        if first:
            self._log.warning("%s: disconnected: %s", self._source(), why)
        else:
            self._log.debug("%s: still disconnected: %s", self._source(), why)
        return first

    def back(self) -> bool:
        """Record a success; any thread.

        Returns:
            Whether this success ended an outage.
        """
        with self._lock:
            recovered = self._in_outage
            self._in_outage = False
            self._last_error = None
        if recovered:
            self._log.info("%s: connected again", self._source())
        return recovered
