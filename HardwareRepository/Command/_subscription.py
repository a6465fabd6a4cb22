"""How channel backends hand readings to their listener.

* :class:`Subscription` -- the reading listener of one channel backend: what
  arrives before :meth:`~Subscription.open` is held, what arrives after
  :meth:`~Subscription.close` is dropped, and polling (if any) runs while it
  is open;
* :class:`PolledReads` -- what the polling backends (EPICS ``polling=``,
  Exporter ``polling=``, Taco) share: a blocking read in a Poller thread every
  period, each (new) value handed to the backend in the hub, and after a
  failed read the backend's choice of how long to wait before polling again.

Private to :mod:`HardwareRepository.Command`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import Poller
from ..bridge import native
from ..commands import Reading, ReadingListener

__all__ = ["PolledReads", "Subscription"]


class PolledReads:
    """Poll one blocking read on :mod:`HardwareRepository.Poller`.

    .. important:: hub thread only (the thread whose hub runs the callbacks);
       ``read`` runs in a Poller thread.

    Args:
        read: the blocking read; called in a Poller thread, it must be
            thread-safe and must not wait on gevent objects.
        period: seconds between two reads.
        on_value: ``on_value(value)`` in the hub with each new value (every
            value with ``compare=False``).
        on_error: ``on_error(exception)`` in the hub after a read failed
            (polling is then stopped); returns the seconds to wait before
            polling again, or ``None`` to stay stopped.
        compare: deliver only values that differ from the previous one.
    """

    def __init__(
        self,
        read: Callable[[], Any],
        period: float,
        on_value: Callable[[Any], None],
        on_error: Callable[[BaseException], float | None],
        *,
        compare: bool = True,
    ) -> None:
        self._read = read
        self.period = period
        self._on_value = on_value
        self._on_error = on_error
        self.compare = compare
        self._poller: Poller.Poller | None = None
        self._stopped = True

    @property
    def running(self) -> bool:
        """Whether polling is on (between :meth:`start` and :meth:`stop`)."""
        return not self._stopped

    def start(self, delay: float = 0.0) -> None:
        """Start polling, the first read after ``delay`` seconds."""
        self._stopped = False
        self._poller = Poller.poll(
            self._poll_once,
            (),
            self.period * 1000.0,
            self._delivered,
            self._failed,
            compare=self.compare,
            start_delay=delay * 1000.0,
        )

    def stop(self) -> None:
        """Stop polling; a read in flight finishes, its result is dropped."""
        self._stopped = True
        poller, self._poller = self._poller, None
        if poller is not None:
            poller.stop()

    def _poll_once(self) -> Any:
        """Poller thread: read once."""
        return self._read()

    def _delivered(self, value: Any) -> None:
        if not self._stopped:
            self._on_value(value)

    def _failed(self, exc: BaseException, poller_id: int) -> None:
        failed = Poller.get_poller(poller_id)
        if failed is not None:
            failed.stop()
        if self._stopped:
            return
        delay = self._on_error(exc)
        if delay is not None and not self._stopped:
            self.start(delay)


class Subscription:
    """The reading listener of one channel backend, and its polling if any.

    :meth:`deliver` is safe from any thread and never blocks; :meth:`open`
    and :meth:`close` run in the hub thread, as the contract's ``subscribe``
    and ``unsubscribe`` that call them.

    Polling, if the backend has it (:meth:`poll`), runs between :meth:`open`
    and :meth:`close`.
    """

    def __init__(self) -> None:
        #: the backend's polling, if any
        self.polls: PolledReads | None = None
        self._lock = native.allocate_lock()
        # guarded by _lock: the listener, and the latest reading before open()
        self._listener: ReadingListener[Any] | None = None
        self._held: Reading[Any] | None = None
        self._closed = False

    def poll(
        self,
        read: Callable[[], Any],
        period: float,
        on_error: Callable[[BaseException], float | None],
        *,
        compare: bool = True,
        on_value: Callable[[Any], None] | None = None,
    ) -> PolledReads:
        """Poll ``read`` while the subscription is open; call before :meth:`open`.

        Args:
            read: the blocking read (see :class:`PolledReads`).
            period: seconds between two reads.
            on_error: see :class:`PolledReads`.
            compare: deliver only values that differ from the previous one.
            on_value: what receives each polled value in the hub; default
                :meth:`deliver_value`.
        """
        self.polls = PolledReads(
            read, period, on_value or self.deliver_value, on_error, compare=compare
        )
        return self.polls

    def open(self, listener: ReadingListener[Any]) -> None:
        """Deliver to ``listener`` from now on (a held reading at once); poll."""
        with self._lock:
            self._listener = listener
            held, self._held = self._held, None
        if held is not None:
            listener(held)
        if self.polls is not None:
            self.polls.start(0.0)

    def deliver(self, reading: Reading[Any]) -> None:
        """Hand ``reading`` to the listener; any thread.

        Before :meth:`open` the latest reading is held; after :meth:`close`
        readings are dropped.
        """
        listener = self._listener  # one read: the lock guards only the hold
        if listener is None:
            with self._lock:
                listener = self._listener
                if listener is None:
                    if not self._closed:
                        self._held = reading
                    return
        listener(reading)

    def deliver_value(self, value: Any) -> None:
        """Hand a value read now, of quality ``VALID``, to the listener."""
        self.deliver(Reading(value))

    def close(self) -> None:
        """Stop polling and delivering; idempotent."""
        with self._lock:
            self._listener = None
            self._held = None
            self._closed = True
        if self.polls is not None:
            self.polls.stop()
