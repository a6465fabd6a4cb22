"""Read a value on the Poller, and start again after a failed read.

What the polling backends (EPICS ``polling=``, Exporter ``polling=``, Taco)
share: :class:`PolledReads` reads through a blocking function in a Poller
thread every period, hands each (new) value to the backend in the hub, and
when a read fails asks the backend how long to wait before polling again.
Private to :mod:`HardwareRepository.Command`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import Poller

__all__ = ["PolledReads"]


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
