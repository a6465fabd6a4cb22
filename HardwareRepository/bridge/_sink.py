"""The one way data from client threads enters a hub: per-receiver inboxes.

A :class:`HubSink` belongs to one :class:`~HardwareRepository.bridge.HubBridge`.
Each receiver of data from other threads (a channel, a poller) gets its own
:class:`Inbox` from it. Any thread puts items into an inbox; the hub hands them
to the inbox's handler, in *dispatcher* greenlets of the hub, in batches.

Guarantees
==========
Ordering
    The items of one inbox reach its handler in the order they were put (of
    items put by different threads at the same moment, either may be first).
    One inbox is served by one dispatcher at a time, so its handler never runs
    twice at once. Between inboxes there is no order: ready inboxes take turns.

Coalescing (opt-in, per inbox)
    An inbox created with ``coalesce=True`` keeps at most one *value* item at
    the end of its queue: a value put while the last queued item is a value
    of the same *kind* replaces it, and the handler receives the latest value
    with the number of values it replaced (``merged``). The kind is an
    optional argument of :meth:`Inbox.put` (compared with ``==``; by default
    every value has the same kind): a Tango channel passes the value's
    quality, so a change of quality is never merged away. A *barrier* item
    (:meth:`Inbox.put_barrier`, e.g. a connection change) is never merged and
    nothing merges across it, so a value put before a barrier is handled
    before it, and one put after it is handled after it. An inbox without
    ``coalesce`` hands over every value. :attr:`Inbox.coalesce` may be
    changed at any time; it applies to the values put after.

Bounded time
    A dispatcher spends at most ``budget`` seconds (default
    :data:`DEFAULT_BUDGET`) on one inbox before it puts the rest back, lets the
    inbox take its turn again behind the other ready ones, and lets the hub run
    its timers, I/O and other greenlets. A handler that waits cooperatively
    delays only its own inbox: another dispatcher serves the others.

Lingering (opt-in, per inbox)
    An inbox created with ``linger`` stays awake that many seconds after the
    hub handled a batch (``burst_linger`` after a batch of at least
    :data:`BURST` items): items put meanwhile wake no one and are taken
    together when it ends. Each wake-up of the hub costs GIL hand-overs with
    the producing thread, which for a steady stream of small items (Tango
    events) cost more than the items; an item put into an idle inbox is
    never delayed.

Bounded memory
    An inbox holds at most ``capacity`` queued items (the batch the hub is
    handling included), give or take one per thread putting at the moment it
    fills. A value put into a full inbox is
    merged into the last queued value whatever its kind (counted as merged),
    or dropped (counted as dropped, and logged once) when the last item is a
    barrier. Barriers are kept up to twice the capacity, then dropped too.

Visible
    :meth:`Inbox.statistics` gives the queue depth (now and at most), and the
    items received, handled, merged and dropped, per inbox; ``received`` is
    ``depth + handled + merged + dropped``. ``max_depth`` may read low by one
    per thread putting at the moment of the peak.

Shutdown
    :meth:`Inbox.close` drops what is queued and ignores later items. Once the
    bridge is closed, :meth:`Inbox.put` raises
    :class:`~HardwareRepository.errors.BridgeClosedError`.

Cost
    An inbox has two queues. The *lane* holds bare items: a put into an
    inbox the hub is already serving (every event of a burst after the
    first), that does not coalesce, is not nearly full and has nothing in its
    backlog appends the item there in one atomic step under the GIL, with no
    lock and no allocation. Every other put takes the sink's lock once, puts
    the item on the lane or, when values may merge (the inbox coalesces or
    is nearly full), a small entry on the *backlog*, and, only for the first
    item of a batch, posts one call through the bridge. The hub takes the
    backlog only when the lane is empty (checked under the lock), so the two
    keep the order of the items. The inboxes of one hub share the lock; the
    hub takes it once per inbox served and to take a backlog, never while a
    handler runs. ``python -m benchmarks tango`` measures the lane,
    ``python -m benchmarks poller`` the locked path.

    The lane needs no lock because only the hub (and :meth:`Inbox.close`)
    removes its items, and because of the order of two steps: a put appends
    and then reads ``queued``; the hub, letting an inbox go idle, clears
    ``queued`` under the lock and then looks at the queues again. So either
    the hub sees the item, or the put sees the inbox idle and queues it. The
    hub takes an item without the lock and counts it as handled just after;
    :meth:`Inbox.statistics` waits for that count, so ``received`` never
    misses an item. Decision record 0006 says why.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import gevent
from gevent.hub import Waiter

from ..errors import BridgeClosedError
from . import native
from ._hub import HubBridge, get_bridge

__all__ = [
    "BURST",
    "DEFAULT_BUDGET",
    "DEFAULT_CAPACITY",
    "RUN",
    "HubSink",
    "Inbox",
    "InboxStatistics",
    "RunHandler",
    "get_sink",
    "sink_for",
]

log = logging.getLogger("HardwareRepository.bridge")

#: seconds a dispatcher spends on one inbox before it lets the others run
DEFAULT_BUDGET = 0.004
#: the most items an inbox queues before it merges or drops values
DEFAULT_CAPACITY = 10_000
#: a batch of at least this many items makes an inbox linger ``burst_linger``
BURST = 100

#: what an inbox's handler receives: the item and how many values it replaced
Handler = Callable[[Any, int], None]
#: what an inbox's run handler receives: items in order, none merged
RunHandler = Callable[[list[Any]], None]
#: the most items handed to a run handler at once
RUN = 64

# A backlog entry: [item, merged, kind]; a list so that merging updates the
# tail in place (under the sink's lock). ``kind`` is None for a barrier.
_ITEM = 0
_MERGED = 1
_KIND = 2
#: the kind of a value put without one
_VALUE = True


@dataclass(frozen=True)
class InboxStatistics:
    """Counters of one inbox, taken at one moment.

    Attributes:
        label: the inbox's label (names the receiver).
        depth: items waiting now, including a batch being handled.
        max_depth: the largest ``depth`` seen.
        received: items put since the inbox was created (merged and dropped
            ones included).
        handled: items handed to the handler.
        merged: values replaced by a later value before being handled.
        dropped: items discarded because the inbox was full or closed.
    """

    label: str
    depth: int
    max_depth: int
    received: int
    handled: int
    merged: int
    dropped: int


class Inbox:
    """One receiver's queue into the hub; create it with :meth:`HubSink.inbox`.

    :meth:`put`, :meth:`put_barrier`, :meth:`statistics` and :meth:`close` are
    safe from any thread and never block beyond a short lock. The handler runs
    in a dispatcher greenlet of the hub (see the module doc for the guarantees).
    """

    def __init__(
        self,
        sink: HubSink,
        handler: Handler,
        label: str,
        coalesce: bool,
        capacity: int,
        budget: float,
        keep_warm: bool,
        linger: float = 0.0,
        burst_linger: float | None = None,
        run_handler: RunHandler | None = None,
    ) -> None:
        if capacity < 1:
            raise ValueError(f"inbox {label!r}: capacity must be >= 1, not {capacity}")
        if not budget > 0:
            raise ValueError(f"inbox {label!r}: budget must be > 0 s, not {budget}")
        if burst_linger is None:
            burst_linger = linger
        if not (0 <= linger < 1 and 0 <= burst_linger < 1):
            raise ValueError(
                f"inbox {label!r}: linger and burst_linger must be from 0 to 1 s, "
                f"not {linger} and {burst_linger}"
            )
        self.linger = linger
        self.burst_linger = burst_linger
        self._sink = sink
        self.handler = handler
        self.run_handler = run_handler
        self.label = label
        self.coalesce = coalesce
        self.capacity = capacity
        self.budget = budget
        self._keep_warm = keep_warm
        # The sink's lock, shared by its inboxes (see "Cost" in the module doc).
        self._lock = sink._lock
        # The lane: bare items appended by any thread without the lock; only
        # the hub and close() remove them, each with one atomic popleft.
        self._lane: deque[Any] = deque()
        # The backlog, behind the lane: entries put under the lock, where
        # values merge; guarded by _lock.
        self._backlog: deque[list[Any]] = deque()
        # Backlog entries the hub took (moved under the lock), handled before
        # the lane; the hub pops them, close() may empty them.
        self._batch: deque[list[Any]] = deque()
        # Written under _lock.
        self._closed = False
        self._merged = 0
        self._dropped = 0
        # Raised by every put (without the lock on the lane's path).
        self._max_depth = 0
        # Written under _lock, read without it by puts on the lane's path:
        # in the sink's ready queue, being served, or lingering.
        self.queued = False
        # Hub thread only. ``_taking`` is set while the hub has taken an item
        # from a queue and not yet counted it as handled (a few bytecodes,
        # without the lock): statistics() waits for it to be counted.
        self._handled = 0
        self._taking = False
        self._handled_at_idle = 0  # _handled when a linger last ended
        if keep_warm:
            sink.attach()

    def __repr__(self) -> str:
        return f"<Inbox {self.label} depth={self._depth()}>"

    def _depth(self) -> int:
        return len(self._lane) + len(self._backlog) + len(self._batch)

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    @property
    def settled(self) -> bool:
        """Whether nothing is queued and no dispatcher is handling this inbox."""
        return not self.queued and not self._depth()

    def put(self, item: Any, kind: Hashable = _VALUE) -> None:
        """Queue a value for the handler; any thread, never blocks.

        Merged into the last queued value when the inbox coalesces and that
        value is of the same ``kind``, or when the inbox is full (see the
        module doc). Ignored once the inbox is closed.

        Args:
            item: what the handler receives.
            kind: values merge only with a queued value whose kind is equal
                (``==``); ``None`` is reserved for :meth:`put_barrier`.

        Raises:
            BridgeClosedError: the hub's bridge is closed.
        """
        if self._sink.bridge.closed:
            raise self._bridge_closed()
        lane = self._lane
        depth = len(lane) + len(self._batch)
        if (
            self.queued
            and not self._backlog
            and not self.coalesce
            and depth < self.capacity - 1
        ):
            # The lane: no lock, no allocation (see "Cost" in the module doc).
            lane.append(item)
            if depth >= self._max_depth:
                self._max_depth = depth + 1
            if not self.queued or self._closed:
                self._requeue()
            return
        first_drop = post_drain = False
        sink = self._sink
        with self._lock:
            if self._closed:
                self._dropped += 1
                return
            backlog = self._backlog
            depth = len(lane) + len(backlog) + len(self._batch)
            if not backlog and not self.coalesce and depth < self.capacity - 1:
                # (Each poll of an idle inbox comes this way: no call.)
                lane.append(item)
                if depth >= self._max_depth:
                    self._max_depth = depth + 1
            else:
                first_drop = self._queue_behind(item, kind, depth)
            if not self.queued:
                post_drain = sink._make_ready(self)
        if post_drain:
            sink._post_drain()
        elif first_drop:
            log.warning(
                "%s: inbox full (%d items): dropping items the hub cannot keep up "
                "with (counted in its statistics)",
                self.label,
                self.capacity,
            )

    def put_barrier(self, item: Any) -> None:
        """Queue an item that is never merged and that no value merges across.

        Any thread, never blocks. Ignored once the inbox is closed.

        :raises BridgeClosedError: the hub's bridge is closed.
        """
        self.put(item, None)

    def _bridge_closed(self) -> BridgeClosedError:
        bridge = self._sink.bridge
        return BridgeClosedError(
            f"{self.label}: the hub bridge of thread {bridge.thread_ident:#x} is closed"
        )

    def _requeue(self) -> None:
        """After a put on the lane found the inbox idle or closed; any thread.

        The hub let it go idle between the put's first look and its append:
        queue it again (or, closed, drop what is queued).
        """
        post_drain = False
        sink = self._sink
        with self._lock:
            if self._closed:
                self._dropped += _take_all(self._lane)
                return
            if not self.queued and (self._lane or self._backlog or self._batch):
                post_drain = sink._make_ready(self)
        if post_drain:
            sink._post_drain()

    def _queue_behind(self, item: Any, kind: Hashable, depth: int) -> bool:
        """Merge, queue or drop ``item`` in the backlog.

        ``_lock`` held, the inbox open, ``depth`` the items queued.

        Returns whether this is the first drop.
        """
        backlog = self._backlog
        full = depth >= self.capacity
        if backlog and kind is not None:
            tail = backlog[-1]
            tail_kind = tail[_KIND]
            if tail_kind is not None and (
                full or (self.coalesce and (tail_kind is kind or tail_kind == kind))
            ):
                tail[_ITEM] = item
                tail[_KIND] = kind
                tail[_MERGED] += 1
                self._merged += 1
                return False
        # A value not merged into a full inbox is dropped if the backlog's
        # tail is a barrier; with no backlog yet (the lane full) it starts
        # one, one over the capacity, rather than be lost.
        if depth >= 2 * self.capacity if kind is None else full and backlog:
            self._dropped += 1
            return self._dropped == 1
        backlog.append([item, 0, kind])
        if depth >= self._max_depth:
            self._max_depth = depth + 1
        return False

    def statistics(self) -> InboxStatistics:
        """Return the inbox's counters now (see :class:`InboxStatistics`)."""
        with self._lock:
            while True:
                # The hub takes an item without the lock, then counts it: read
                # the two when it is not between (in this order, so that an
                # item it took meanwhile shows in _taking or in _handled).
                handled = self._handled
                if not self._taking:
                    depth = self._depth()
                    if not self._taking and handled == self._handled:
                        break
                native.sleep(0)  # another thread: the hub is a few steps away
            return InboxStatistics(
                label=self.label,
                depth=depth,
                max_depth=max(self._max_depth, depth),
                received=depth + handled + self._merged + self._dropped,
                handled=handled,
                merged=self._merged,
                dropped=self._dropped,
            )

    def close(self) -> None:
        """Drop the queued items and ignore later ones; any thread, idempotent.

        A handler already running finishes; nothing queued is handled after.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._dropped += (
                _take_all(self._lane) + _take_all(self._batch) + len(self._backlog)
            )
            self._backlog.clear()
        if self._keep_warm:
            self._sink.detach()

    # -- hub side ---------------------------------------------------------

    def _serve(self, now: float) -> float:
        """Hand queued items to the handler for at most :attr:`budget` seconds.

        Dispatcher greenlet; the sink guarantees one dispatcher per inbox.
        What is left stays queued, ahead of what arrives meanwhile.

        :param now: ``time.perf_counter()`` read just before.
        :returns: ``time.perf_counter()`` read after the last item handled
            (``now`` if none was).
        """
        lane = self._lane
        batch = self._batch
        handler = self.handler
        run_handler = self.run_handler
        sink = self._sink
        clock = time.perf_counter
        deadline = now + self.budget
        while not self._closed:
            # Older first: backlog entries taken earlier, then the lane, then
            # the backlog (put behind the lane).
            self._taking = True
            if batch:
                try:
                    item, merged, _ = batch.popleft()
                except IndexError:  # emptied by close()
                    self._taking = False
                    break
            elif run_handler is not None and len(lane) > 1:
                now = self._serve_run(run_handler, lane)
                if now >= deadline:
                    break
                continue
            elif lane:
                try:
                    item = lane.popleft()
                except IndexError:  # emptied by close()
                    self._taking = False
                    break
                merged = 0
            else:
                # (Checked, not caught: an IndexError per batch costs more
                # than a poll. An empty backlog needs no lock to look at:
                # what a put adds meanwhile, the sink's _finish sees.)
                self._taking = False
                if self._backlog and self._take_backlog():
                    continue
                break
            self._handled += 1
            self._taking = False
            if not sink._armed:
                sink._arm()
            try:
                handler(item, merged)
            except Exception:
                log.exception("%s: handling %r failed", self.label, item)
            now = clock()
            if now >= deadline:
                break
        return now

    def _serve_run(self, run_handler: RunHandler, lane: deque[Any]) -> float:
        # Hub, ``_taking`` set: hand up to RUN items of the lane at once.
        run: list[Any] = []
        take = lane.popleft
        add = run.append
        try:
            for _ in range(min(len(lane), RUN)):
                add(take())
        except IndexError:  # close() took the rest
            pass
        self._handled += len(run)
        self._taking = False
        sink = self._sink
        if not sink._armed:
            sink._arm()
        try:
            run_handler(run)
        except Exception:
            log.exception("%s: handling a run of %d items failed", self.label, len(run))
        return time.perf_counter()

    def _take_backlog(self) -> bool:
        """Move the backlog's entries to the batch; returns whether to go on.

        Hub, when the batch is empty and the lane was found empty. The lane
        is looked at again under the lock: items put on it while the hub
        waited for the lock are older than the backlog and go first. The
        deques stay where they are (:meth:`_serve` holds the batch).
        """
        with self._lock:
            if self._closed:
                return False
            if self._lane:
                return True
            backlog = self._backlog
            if not backlog:
                return False
            self._batch.extend(backlog)
            backlog.clear()
            return True


def _take_all(queue: deque[Any]) -> int:
    """Empty ``queue`` one atomic ``popleft`` at a time; returns how many.

    An item the hub takes at the same moment is counted once, as handled.
    """
    count = 0
    while True:
        try:
            queue.popleft()
        except IndexError:
            return count
        count += 1


class HubSink:
    """The inboxes of one hub and the dispatcher greenlets that serve them.

    Get it with :func:`sink_for` or :func:`get_sink`. :meth:`inbox`,
    :meth:`attach` and :meth:`detach` are safe from any thread. Dispatchers
    exist while an inbox has work or lingers, and stay parked for reuse
    while some ``keep_warm`` inbox is open.
    """

    def __init__(self, bridge: HubBridge) -> None:
        self.bridge = bridge
        self._lock = native.allocate_lock()
        # Guarded by _lock.
        self._ready: deque[Inbox] = deque()
        self._drain_pending = False
        self._users = 0
        # Hub thread only.
        self._idle: list[Waiter] = []
        self._scheduled = 0  # dispatchers spawned/woken/yielding, not yet running
        self._dispatchers = 0
        self._armed = False

    def __repr__(self) -> str:
        return (
            f"<HubSink thread={self.bridge.thread_ident:#x} users={self._users} "
            f"dispatchers={self._dispatchers}>"
        )

    @property
    def dispatchers(self) -> int:
        """Dispatcher greenlets alive now."""
        return self._dispatchers

    def inbox(
        self,
        handler: Handler,
        *,
        label: str,
        coalesce: bool = False,
        capacity: int = DEFAULT_CAPACITY,
        budget: float = DEFAULT_BUDGET,
        keep_warm: bool = False,
        linger: float = 0.0,
        burst_linger: float | None = None,
        run_handler: RunHandler | None = None,
    ) -> Inbox:
        """Create an inbox whose items reach ``handler(item, merged)`` in the hub.

        Args:
            handler: runs in a dispatcher greenlet of the hub, once per item,
                in order; it may wait cooperatively (delaying only this inbox).
                An exception it raises is logged with its traceback.
            label: names the receiver in messages and statistics.
            coalesce: merge consecutive values (latest wins, ``merged`` counts
                the others); see the module doc.
            capacity: the most items queued before values are merged or
                dropped.
            budget: seconds a dispatcher spends on this inbox per turn.
            keep_warm: keep dispatchers parked for reuse while this inbox is
                open (for steady producers such as pollers).
            linger: seconds the inbox stays awake after a batch, taking
                what arrives meanwhile in one later batch (see the module
                doc); 0 goes idle at once.
            burst_linger: the linger after a batch of at least :data:`BURST`
                items; default ``linger``.
            run_handler: optional; receives runs of items of the lane (up
                to :data:`RUN` at once, as a list, in order; values and
                barriers as they were put, none merged) instead of one
                ``handler`` call each: for streams whose per-item call costs
                more than the item (Tango events). Same greenlet and
                guarantees as ``handler``; it must handle every item of the
                run (an exception it raises is logged, and the rest of that
                run is lost). Entries that merged values go to ``handler``.

        Raises:
            ValueError: ``capacity`` below 1, ``budget`` not positive, or a
                linger outside [0, 1) s.
        """
        return Inbox(
            self,
            handler,
            label,
            coalesce,
            capacity,
            budget,
            keep_warm,
            linger,
            burst_linger,
            run_handler,
        )

    def attach(self) -> None:
        """Count one more user that keeps dispatchers parked for reuse."""
        with self._lock:
            self._users += 1

    def detach(self) -> None:
        """Count one user less; the last one lets idle dispatchers end.

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
        except BridgeClosedError:
            log.debug("%r: bridge closed, no dispatcher left to release", self)

    def _make_ready(self, inbox: Inbox) -> bool:
        """Queue an idle inbox for service (``_lock`` held; any thread).

        Returns whether the caller must wake the hub (:meth:`_post_drain`,
        after releasing the lock): once per batch, not per inbox.
        """
        inbox.queued = True
        self._ready.append(inbox)
        if self._drain_pending:
            return False
        self._drain_pending = True
        return True

    def _post_drain(self) -> None:
        # Any thread, without _lock: wake the hub to serve the ready queue.
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

    def _arm(self) -> None:
        # Before each handler call: once per hub turn, check again after the
        # handlers ran whether some dispatcher still serves the ready queue
        # (one may be blocked in a handler).
        if not self._armed:
            self._armed = True
            self.bridge.hub.loop.run_callback(self._ensure_progress)

    def _ensure_progress(self) -> None:
        """Make sure some dispatcher will serve the ready queue (hub only)."""
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
        clock = time.perf_counter
        inbox: Inbox | None = None
        try:
            turn_started = now = clock()
            while True:
                # One lock round per inbox: finish the last, take the next.
                linger = 0.0
                with lock:
                    if inbox is not None:
                        linger = self._finish(inbox)
                    if not linger:
                        inbox = ready.popleft() if ready else None
                    users = self._users
                if inbox is None:
                    if users == 0 or self._idle:
                        return
                    self._park()
                    turn_started = now = clock()
                    continue
                if linger:
                    if not self._linger(inbox, linger):
                        inbox = None
                        continue
                    turn_started = now = clock()
                now = inbox._serve(now)
                if now - turn_started >= inbox.budget:
                    # Let the hub run its timers and other greenlets.
                    with lock:
                        self._finish(inbox, may_linger=False)
                    inbox = None
                    self._scheduled += 1
                    try:
                        gevent.sleep(0)
                    finally:
                        self._scheduled -= 1
                    turn_started = now = clock()
        finally:
            if inbox is not None:  # killed in a handler or while lingering
                with lock:
                    self._finish(inbox, may_linger=False)
            self._dispatchers -= 1

    def _park(self) -> None:
        # Wait, idle, until _ensure_progress or _release_idle wakes this
        # dispatcher.
        waiter = Waiter()
        self._idle.append(waiter)
        try:
            waiter.get()
        finally:
            if waiter in self._idle:  # killed while parked
                self._idle.remove(waiter)
            else:
                self._scheduled -= 1

    def _linger(self, inbox: Inbox, delay: float) -> bool:
        """Stay with a lingering inbox; returns whether it has items now.

        The dispatcher sleeps ``delay`` seconds while puts into the inbox wake
        no one (it stays ``queued``); other dispatchers serve the other
        inboxes meanwhile. A stream is thus served by one greenlet that
        wakes once per linger, like a loop with ``gevent.sleep``: no timer,
        ready-queue round or greenlet switch of its own per batch.
        """
        gevent.sleep(delay)
        with self._lock:
            if inbox._closed:
                inbox.queued = False
                return False
            if inbox._lane or inbox._backlog or inbox._batch:
                return True
            self._go_idle(inbox)
            return False

    def _finish(self, inbox: Inbox, may_linger: bool = True) -> float:
        """Requeue, keep lingering or let go an inbox just served.

        Caller holds _lock. Returns the seconds the inbox lingers (the
        caller then stays with it, see :meth:`_linger`), else 0: the inbox
        is back in the ready queue if it has items, or idle.
        """
        if inbox._closed:
            inbox.queued = False
        elif inbox._lane or inbox._backlog or inbox._batch:
            self._ready.append(inbox)
        elif inbox.linger or inbox.burst_linger:
            served = inbox._handled - inbox._handled_at_idle
            inbox._handled_at_idle = inbox._handled
            delay = inbox.burst_linger if served >= BURST else inbox.linger
            if served and delay and may_linger:
                return delay
            self._go_idle(inbox)
        else:
            self._go_idle(inbox)
        return 0.0

    def _go_idle(self, inbox: Inbox) -> None:
        # Caller holds _lock; the inbox is open and was found empty. A put on
        # the lane appends, then reads ``queued``; here ``queued`` is cleared
        # first and the inbox looked at after, so an item appended meanwhile
        # is seen here or by its put (which then queues the inbox).
        inbox.queued = False
        if inbox._lane or inbox._backlog or inbox._batch:
            inbox.queued = True
            self._ready.append(inbox)


_sinks: weakref.WeakKeyDictionary[HubBridge, HubSink] = weakref.WeakKeyDictionary()
_sinks_lock = native.allocate_lock()


def sink_for(bridge: HubBridge) -> HubSink:
    """Return the sink of ``bridge``'s hub, creating it on first use; any thread."""
    with _sinks_lock:
        sink = _sinks.get(bridge)
        if sink is None:
            sink = _sinks[bridge] = HubSink(bridge)
        return sink


def get_sink() -> HubSink:
    """Return the sink of the calling thread's hub (see :func:`get_bridge`)."""
    return sink_for(get_bridge())
