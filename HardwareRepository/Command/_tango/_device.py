"""One shared connection per Tango device: a lazy proxy and its worker threads.

Every channel and command naming the same device shares one :class:`DeviceLink`
(reference-counted by :func:`acquire_link` / :func:`release_link`). The link
owns one synchronous ``tango.DeviceProxy``, created on first use *in a worker
or poller thread* and only ever used from such threads: the hub never makes a
Tango call. (Creating a proxy in one context and subscribing from another is
what deadlocked pytango #332 with the gevent green mode; here every call is an
ordinary synchronous call from an ordinary thread.)

After a server restart the same proxy reconnects by itself on the next call,
so it is created once per link and never replaced.

Calls that act on the device (commands, attribute writes) go through one
*ordered lane*: a single thread, so they reach the device one after the other
in the order they were made, and one that is still queued when its caller gives
up is taken back (:meth:`PendingCall.cancel`) and never sent. Reads and
queries go through a small pool of threads. A :class:`~._health.DeviceHealth`
pings the device in a thread of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import tango

from ...bridge import AsyncResult, Event, native
from ._errors import translate
from ._health import DeviceHealth
from ._workers import Job, WorkerPool

__all__ = [
    "DeviceLink",
    "PendingCall",
    "acquire_link",
    "release_link",
    "released_links",
]

log = logging.getLogger("HardwareRepository.Command.Tango")
T = TypeVar("T")

#: Tango's own client timeout when nothing asks for more (cppTango's default).
DEFAULT_TANGO_TIMEOUT = 3.0
# Tango's own timeout is set this much above the longest one the package
# waits for, so the package's Timeout (which names the item) fires first.
_TANGO_TIMEOUT_MARGIN = 0.5
_MAX_TANGO_MS = 2**31 - 1


class PendingCall:
    """A call queued on a device: its result, and a way to take it back.

    :ivar result: set to the value or the (translated) exception.
    """

    __slots__ = ("_job", "_pool", "result")

    def __init__(self, pool: WorkerPool, job: Job, result: AsyncResult[Any]) -> None:
        self._pool = pool
        self._job = job
        self.result = result

    def cancel(self) -> bool:
        """Take the call back if it has not been sent; safe from any thread.

        :returns: ``True`` if it was still queued and now never runs,
            ``False`` if it was already sent to the device (or finished).
        """
        return self._pool.cancel(self._job)


class DeviceLink:
    """The calls, proxy and worker threads of one Tango device.

    :meth:`call` and :meth:`want_timeout` are safe from any thread;
    :meth:`proxy` is for worker and poller threads (it may block).

    :param device: the device name as configured (``tango://host:port/a/b/c#dbase=no``
        or a name resolved through ``TANGO_HOST``).
    """

    def __init__(self, device: str) -> None:
        self.device = device
        # Three parts end separately; ``ended`` is set once all have.
        self._parts_left = 3
        self._parts_lock = native.allocate_lock()
        #: set once the link is released and all its threads have ended
        self.ended = Event()
        self.pool = WorkerPool(device, on_ended=self._part_ended)
        #: commands and writes, one at a time in the order they were made
        self.actions = WorkerPool(
            f"{device} (commands and writes)", max_threads=1, on_ended=self._part_ended
        )
        #: the device's liveness, from pings (see :mod:`._health`)
        self.health = DeviceHealth(device, on_ended=self._part_ended)
        self._proxy_lock = native.allocate_lock()
        self._proxy: tango.DeviceProxy | None = None  # guarded by _proxy_lock
        self._wanted_ms = int(DEFAULT_TANGO_TIMEOUT * 1000)  # guarded by _proxy_lock
        self._applied_ms: int | None = None  # guarded by _proxy_lock
        self.users = 0  # guarded by the registry's lock

    def __repr__(self) -> str:
        return f"<DeviceLink {self.device} users={self.users}>"

    def want_timeout(self, seconds: float | None) -> None:
        """Make sure Tango's own timeout is longer than ``seconds``.

        The proxy's timeout only grows: it is a bound on how long a worker
        thread stays blocked, while each call's own limit is applied by the
        waiting side.
        """
        if seconds is None:
            return
        # Tango keeps the timeout in a signed 32-bit int of ms (issue 17).
        wanted = int(min((seconds + _TANGO_TIMEOUT_MARGIN) * 1000, _MAX_TANGO_MS))
        with self._proxy_lock:
            if wanted > self._wanted_ms:
                self._wanted_ms = wanted

    def proxy(self) -> tango.DeviceProxy:
        """Return the device's proxy, creating it if needed.

        Worker and poller threads only: creating the proxy and setting its
        timeout are blocking Tango calls.

        :raises tango.DevFailed: the proxy cannot be created.
        """
        with self._proxy_lock:
            proxy = self._proxy
            if proxy is None:
                proxy = tango.DeviceProxy(
                    self.device, green_mode=tango.GreenMode.Synchronous
                )
                self._proxy = proxy
            if self._applied_ms != self._wanted_ms:
                proxy.set_timeout_millis(self._wanted_ms)
                self._applied_ms = self._wanted_ms
            return proxy

    def _part_ended(self) -> None:
        with self._parts_lock:
            self._parts_left -= 1
            done = self._parts_left == 0
        if done:
            with _links_lock:
                _released.discard(self)
            self.ended.send()

    def busy(self) -> list[str]:
        """Return the calls in flight on the device now (``"command Move"``...).

        A ping of the health check in flight counts (``"ping"``).
        """
        calls = self.actions.running() + self.pool.running()
        if self.health.pinging:
            calls.append("ping")
        return calls

    def call(
        self,
        target: str,
        func: Callable[..., T],
        *args: Any,
        command: bool = False,
        ordered: bool = False,
    ) -> PendingCall:
        """Run ``func(proxy, *args)`` in a worker thread; safe from any thread.

        :param target: ``"command Name"`` or ``"attribute name"``: names the
            call in the result's timeout message and in errors.
        :param command: failures are command failures (see :func:`translate`).
        :param ordered: run on the ordered lane (commands, writes): after every
            ordered call made before it has returned.
        :returns: the pending call; its ``result`` is set to the value, or to
            the package exception (naming device and target, Tango's error as
            ``__cause__``).
        :raises BridgeClosedError: the link was released.
        """
        result: AsyncResult[T] = AsyncResult(name=f"{self.device}: {target}")
        pool = self.actions if ordered else self.pool
        job = pool.submit(
            self._run, target, func, args, command, result=result, label=target
        )
        return PendingCall(pool, job, result)

    def _run(
        self,
        target: str,
        func: Callable[..., T],
        args: tuple[Any, ...],
        command: bool,
    ) -> T:
        try:
            return func(self.proxy(), *args)
        except Exception as exc:
            raise translate(exc, self.device, target, command=command) from exc

    def read_in_thread(self, target: str, func: Callable[..., T], *args: Any) -> T:
        """Run ``func(proxy, *args)`` in the calling (poller) thread.

        :raises Exception: the translated error, as for :meth:`call`.
        """
        return self._run(target, func, args, False)

    def drop_proxy(self) -> None:
        """Forget the proxy (worker thread, at release)."""
        with self._proxy_lock:
            self._proxy = None


# device key -> link; guarded by _links_lock
_links: dict[str, DeviceLink] = {}
# links released whose threads have not all ended yet; guarded by _links_lock
_released: set[DeviceLink] = set()
_links_lock = native.allocate_lock()


def _key(device: str) -> str:
    return device.strip().lower()


def acquire_link(device: str) -> DeviceLink:
    """Return the shared link of ``device`` and count one more user; any thread."""
    with _links_lock:
        link = _links.get(_key(device))
        if link is None:
            link = DeviceLink(device.strip())
            _links[_key(device)] = link
        link.users += 1
    link.health.start()
    return link


def release_link(link: DeviceLink) -> Event | None:
    """Count one user less; the last one shuts the link's threads down.

    Never blocks. The proxy is dropped in a worker thread. Calls still queued
    run first (bounded by the device's Tango timeout); the health thread ends
    after the ping in flight.

    :returns: the event set once the link's threads have ended, if this was the
        last user, else ``None``.
    """
    with _links_lock:
        link.users -= 1
        if link.users > 0:
            return None
        if _links.get(_key(link.device)) is link:
            del _links[_key(link.device)]
        _released.add(link)
    link.health.close()
    link.actions.shutdown()
    link.pool.submit(link.drop_proxy)
    link.pool.shutdown()
    return link.ended


def released_links() -> list[DeviceLink]:
    """Return the released links whose threads have not all ended yet."""
    with _links_lock:
        return list(_released)
