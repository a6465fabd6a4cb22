"""A key -> value cache refreshed by polling in one thread, with write-through."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ..bridge import AsyncResult, native
from ..errors import BridgeClosedError
from ._common import ErrorReporter
from ._serial import SerialWorker

__all__ = ["PolledCache"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
_numbers = itertools.count(1)
_MISSING: Any = object()


@dataclass
class _Entry:
    period: float
    due: float  # monotonic
    value: Any = _MISSING
    stamp: float = 0.0  # time.time() of the last successful read or write
    error: BaseException | None = None
    reporter: ErrorReporter | None = None


class _PollingWorker(SerialWorker):
    """A serial worker that reads due keys of its cache while idle."""

    def __init__(self, cache: PolledCache[Any, Any], name: str) -> None:
        self._cache = cache
        super().__init__(name, start=False)

    def _idle_timeout(self) -> float | None:
        return self._cache._until_due()

    def _on_idle(self) -> None:
        self._cache._poll_due()


class PolledCache(Generic[K, V]):
    """Values of keys read periodically in one thread; writes go through it too.

    Every call of ``read`` and ``write`` runs in the cache's own thread, so the
    library behind them is only ever used from that thread. Each key has its
    own period; deadlines are absolute and missed ones are skipped. Reading
    the cache (:meth:`get`, ``cache[key]``) never touches the hardware and never
    waits for it, except :meth:`get` with ``refresh=True``. The dict is not
    locked while the hardware is accessed.

    A failed read keeps the previous value, records the exception (see
    :meth:`error`) and is logged (the first 10 failures of each key with their
    traceback, then one in 100).

    All methods are safe from any thread and any greenlet.

    :param read: ``read(key) -> value``, called in the cache's thread.
    :param write: ``write(key, value)``, called in the cache's thread; ``None``
        makes :meth:`set` raise ``TypeError``.
    :param period: seconds between reads of a key added without a period.
    :param keys: keys to poll from the start.
    :param keep_write_result: store what ``write`` returns instead of the value
        written (fandango's ``ThreadDict`` did that).
    :param start: start polling now (else call :meth:`start`).
    """

    def __init__(
        self,
        read: Callable[[K], V],
        write: Callable[[K, V], Any] | None = None,
        *,
        period: float = 1.0,
        keys: Iterable[K] = (),
        name: str | None = None,
        keep_write_result: bool = False,
        start: bool = True,
    ) -> None:
        self.name = name or f"PolledCache-{next(_numbers)}"
        self.read = read
        self.write = write
        self.period = period
        self.keep_write_result = keep_write_result
        self._lock = native.allocate_lock()
        self._entries: dict[K, _Entry] = {}  # guarded by _lock
        self._worker: _PollingWorker | None = None  # guarded by _lock
        for key in keys:
            self.add(key)
        if start:
            self.start()

    def __repr__(self) -> str:
        state = "polling" if self.running else "stopped"
        return f"<PolledCache {self.name} {state}, {len(self._entries)} keys>"

    # -- lifecycle ----------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the polling thread runs."""
        worker = self._worker
        return worker is not None and worker.alive

    def start(self) -> None:
        """Start the polling thread (again, after :meth:`stop`); idempotent."""
        with self._lock:
            if self._worker is not None:
                return
            self._worker = _PollingWorker(self, f"{self.name} worker")
            now = native.monotonic()
            for entry in self._entries.values():
                entry.due = min(entry.due, now)
            worker = self._worker
        worker.start()

    def stop(self, timeout: float | None = None) -> None:
        """Stop polling and end the thread; pending writes are done first.

        :raises Timeout: the thread did not end within ``timeout`` seconds.
        """
        with self._lock:
            worker, self._worker = self._worker, None
        if worker is not None:
            worker.stop(timeout)

    close = stop

    def __enter__(self) -> PolledCache[K, V]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- keys ---------------------------------------------------------------

    def add(
        self, key: K, period: float | None = None, *, initial: Any = _MISSING
    ) -> None:
        """Poll ``key`` every ``period`` seconds (default: the cache's period).

        The first read is due at once. Adding a known key changes its period.

        :param initial: value returned until the first read succeeds.
        """
        period = self.period if period is None else period
        if not period > 0:
            raise ValueError(f"period of {key!r} must be > 0 s, not {period!r}")
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                entry = self._entries[key] = _Entry(period, native.monotonic())
            else:
                entry.period = period
                entry.due = native.monotonic()
            if initial is not _MISSING and entry.value is _MISSING:
                entry.value = initial
            worker = self._worker
        if worker is not None:
            worker._nudge()

    def remove(self, key: K) -> None:
        """Stop polling ``key`` and forget its value.

        :raises KeyError: the key is not in the cache.
        """
        with self._lock:
            del self._entries[key]

    def keys(self) -> list[K]:
        """Return the polled keys."""
        with self._lock:
            return list(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self):
        return iter(self.keys())

    # -- values -------------------------------------------------------------

    def get(
        self,
        key: K,
        default: Any = _MISSING,
        *,
        refresh: bool = False,
        timeout: float | None = None,
    ) -> V:
        """Return the cached value of ``key``.

        :param default: returned if the key has no value yet (else ``KeyError``).
        :param refresh: read the hardware now (in the cache's thread) and return
            the fresh value; a read error is raised here.
        :param timeout: seconds to wait for a refresh.
        :raises KeyError: unknown key, or no value yet and no ``default``.
        :raises Timeout: the refresh did not complete in time.
        """
        if refresh:
            return self._require_worker(key).call(self._read_now, key, timeout=timeout)
        with self._lock:
            entry = self._entries.get(key)
            value = _MISSING if entry is None else entry.value
        if value is _MISSING:
            if default is not _MISSING:
                return default
            if entry is None:
                raise KeyError(f"{key!r} is not polled by {self!r}")
            raise KeyError(f"{key!r} has not been read yet by {self!r}")
        return value

    def __getitem__(self, key: K) -> V:
        return self.get(key)

    def set(self, key: K, value: V, timeout: float | None = None) -> Any:
        """Write ``value`` to the hardware (in the cache's thread) and cache it.

        An unknown key is added with the default period.

        :returns: what ``write`` returned.
        :raises TypeError: the cache has no ``write``.
        :raises Timeout: the write did not complete in time (it still happens).
        """
        return self.set_async(key, value).get(timeout)

    def set_async(self, key: K, value: V) -> AsyncResult[Any]:
        """Queue a write of ``value``; the result is what ``write`` returned."""
        if self.write is None:
            raise TypeError(f"{self!r} has no write function")
        if key not in self._entries:
            self.add(key)
        return self._require_worker(key).submit(self._write_now, key, value)

    def __setitem__(self, key: K, value: V) -> None:
        self.set(key, value)

    def timestamp(self, key: K) -> float:
        """``time.time()`` of the last successful read or write of ``key`` (0: none)."""
        with self._lock:
            return self._entries[key].stamp

    def error(self, key: K) -> BaseException | None:
        """The exception of the last read of ``key`` if it failed, else ``None``."""
        with self._lock:
            return self._entries[key].error

    def snapshot(self) -> dict[K, V]:
        """Return a copy of every key that has a value."""
        with self._lock:
            return {
                key: entry.value
                for key, entry in self._entries.items()
                if entry.value is not _MISSING
            }

    # -- in the cache's thread ----------------------------------------------

    def _require_worker(self, key: K) -> SerialWorker:
        worker = self._worker
        if worker is None:
            raise BridgeClosedError(f"{self!r} is stopped; cannot access {key!r}")
        return worker

    def _store(self, key: K, value: Any) -> None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                entry.value = value
                entry.stamp = time.time()
                entry.error = None

    def _read_now(self, key: K) -> V:
        value = self.read(key)
        self._store(key, value)
        return value

    def _write_now(self, key: K, value: V) -> Any:
        write = self.write
        if write is None:  # set_async checked; the attribute was reset since
            raise TypeError(f"{self!r} has no write function")
        returned = write(key, value)
        self._store(key, returned if self.keep_write_result else value)
        return returned

    def _until_due(self) -> float | None:
        with self._lock:
            if not self._entries:
                return None
            due = min(entry.due for entry in self._entries.values())
        return max(0.0, due - native.monotonic())

    def _poll_due(self) -> None:
        now = native.monotonic()
        with self._lock:
            due = [key for key, entry in self._entries.items() if entry.due <= now]
        for key in due:
            try:
                value = self.read(key)
            except Exception as exc:
                self._failed(key, exc)
            else:
                self._store(key, value)
            with self._lock:
                entry = self._entries.get(key)
                if entry is not None:
                    late = native.monotonic() - entry.due
                    skipped = int(late // entry.period) if late > 0 else 0
                    entry.due += (skipped + 1) * entry.period

    def _failed(self, key: K, exc: Exception) -> None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return
            entry.error = exc
            if entry.reporter is None:
                entry.reporter = ErrorReporter(f"{self!r} key {key!r}")
            reporter = entry.reporter
        reporter.report(exc, "read failed")
