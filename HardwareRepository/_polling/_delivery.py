"""Hand polled values to the hub of the thread that called ``poll()``, in batches.

One :class:`HubDelivery` per hub bridge. Worker threads :meth:`~HubDelivery.push`
items; the first item of a batch posts one drain call through the bridge (the
only thread crossing), later ones only join the queue. In the hub, items run in
*dispatcher* greenlets, reused from batch to batch: each target's items run in
the order they were pushed, one target at a time per dispatcher. A callback may
wait cooperatively (``gevent.sleep``, I/O): when a dispatcher blocks, another
one is started for the other targets, so a slow callback delays only the items
of its own target.
"""

from __future__ import annotations

import logging
import weakref
from collections import deque
from typing import Any, Protocol

import gevent
from gevent.hub import Waiter

from ..bridge import HubBridge, _native
from ..errors import BridgeClosedError

__all__ = ["DeliveryTarget", "HubDelivery", "delivery_for"]

log = logging.getLogger("HardwareRepository.Poller")

# A dispatcher that has run this many items without switching lets the hub run.
_YIELD_EVERY = 200


class DeliveryTarget(Protocol):
    """What a :class:`HubDelivery` needs from the object items are delivered to."""

    #: items not yet run (guarded by the delivery's lock)
    delivery_inbox: deque[Any]
    #: whether the target is in the ready queue or being served (same lock)
    delivery_queued: bool

    def run_delivered(self, item: Any) -> None:
        """Run one item in a dispatcher greenlet of the hub; must not raise."""


class HubDelivery:
    """Batch items from any thread into the hub that owns ``bridge``.

    :meth:`push`, :meth:`attach` and :meth:`detach` are safe from any thread.
    Dispatcher greenlets exist only while some target is attached (or items are
    left to run); with no target attached they all end.
    """

    def __init__(self, bridge: HubBridge) -> None:
        self.bridge = bridge
        self._lock = _native.allocate_lock()
        # Guarded by _lock.
        self._ready: deque[DeliveryTarget] = deque()
        self._drain_pending = False
        self._users = 0
        # Hub thread only.
        self._idle: list[Waiter] = []
        self._scheduled = 0  # dispatchers spawned/woken/yielding, not yet running
        self._dispatchers = 0
        self._armed = False

    def __repr__(self) -> str:
        return (
            f"<HubDelivery thread={self.bridge.thread_ident:#x} users={self._users} "
            f"dispatchers={self._dispatchers}>"
        )

    @property
    def dispatchers(self) -> int:
        """Dispatcher greenlets alive now."""
        return self._dispatchers

    def attach(self) -> None:
        """Count one more target that will receive items."""
        with self._lock:
            self._users += 1

    def detach(self) -> None:
        """Count one target less; the last one lets idle dispatchers end.

        Never raises: if the hub's bridge is closed, its dispatchers are gone.
        """
        with self._lock:
            self._users -= 1
            last = self._users == 0
        if not last:
            return
        if self.bridge.in_hub_thread():
            self._release_idle()
            return
        try:
            self.bridge.post(self._release_idle)
        except RuntimeError:
            log.debug("%r: bridge closed, no dispatcher left to release", self)

    def push(self, target: DeliveryTarget, item: Any) -> None:
        """Queue ``item`` for ``target``; safe from any thread, never blocks.

        :raises BridgeClosedError: the hub's bridge is closed (its thread ended).
        """
        if self.bridge.closed:
            # Checked on every push: once closed, a queued target would
            # otherwise accumulate items that no drain will ever take.
            raise BridgeClosedError(f"{self!r}: the hub's bridge is closed")
        with self._lock:
            target.delivery_inbox.append(item)
            if target.delivery_queued:
                return
            target.delivery_queued = True
            self._ready.append(target)
            if self._drain_pending:
                return
            self._drain_pending = True
        try:
            self.bridge.post(self._drain)
        except BaseException:
            with self._lock:
                self._drain_pending = False
            raise

    # -- hub side ---------------------------------------------------------

    def _drain(self) -> None:
        with self._lock:
            self._drain_pending = False
        self._ensure_progress()

    def _ensure_progress(self) -> None:
        """Make sure some dispatcher will serve the ready queue (hub only).

        Runs when the hub gets control: at a drain, and once after a dispatcher
        started running callbacks (so that, if a callback blocks, the other
        targets get a fresh dispatcher).
        """
        self._armed = False
        if self._scheduled or not self._ready:
            return
        self._scheduled += 1
        if self._idle:
            self.bridge.hub.loop.run_callback(self._idle.pop().switch, None)
        else:
            self._dispatchers += 1
            gevent.spawn(self._dispatch)

    def _release_idle(self) -> None:
        idle, self._idle = self._idle, []
        self._scheduled += len(idle)
        loop = self.bridge.hub.loop
        for waiter in idle:
            loop.run_callback(waiter.switch, None)

    def _dispatch(self) -> None:
        self._scheduled -= 1
        lock = self._lock
        ready = self._ready
        target: DeliveryTarget | None = None
        try:
            ran = 0
            while True:
                # One lock round per target: finish the last one, take the next.
                with lock:
                    if target is not None:
                        self._finish(target)
                    target = ready.popleft() if ready else None
                    count = len(target.delivery_inbox) if target is not None else 0
                    users = self._users
                if target is not None:
                    self._serve(target, count)
                    ran += count
                    if ran >= _YIELD_EVERY:
                        with lock:
                            self._finish(target)
                        target = None
                        ran = 0
                        self._scheduled += 1
                        try:
                            gevent.sleep(0)
                        finally:
                            self._scheduled -= 1
                    continue
                if users == 0 or self._idle:
                    return
                waiter = Waiter()
                self._idle.append(waiter)
                ran = 0
                try:
                    waiter.get()
                finally:
                    if waiter in self._idle:  # killed while parked
                        self._idle.remove(waiter)
                    else:
                        self._scheduled -= 1
        finally:
            if target is not None:  # killed in a callback
                with lock:
                    self._finish(target)
            self._dispatchers -= 1

    def _finish(self, target: DeliveryTarget) -> None:
        # Caller holds _lock: requeue a target that got items while served.
        if target.delivery_inbox:
            self._ready.append(target)
        else:
            target.delivery_queued = False

    def _serve(self, target: DeliveryTarget, count: int) -> None:
        """Run the ``count`` items ``target`` had when taken (fairness).

        Only the dispatcher serving a target pops its inbox, and deque appends
        and pops are atomic, so items are popped without the lock.
        """
        inbox = target.delivery_inbox
        for _ in range(count):
            item = inbox.popleft()
            if not self._armed:
                self._armed = True
                self.bridge.hub.loop.run_callback(self._ensure_progress)
            try:
                target.run_delivered(item)
            except Exception:
                log.exception("delivering %r to %r failed", item, target)


_deliveries: weakref.WeakKeyDictionary[HubBridge, HubDelivery] = (
    weakref.WeakKeyDictionary()
)
_deliveries_lock = _native.allocate_lock()


def delivery_for(bridge: HubBridge) -> HubDelivery:
    """Return the delivery of ``bridge``'s hub, creating it on first use."""
    with _deliveries_lock:
        delivery = _deliveries.get(bridge)
        if delivery is None:
            delivery = _deliveries[bridge] = HubDelivery(bridge)
        return delivery
