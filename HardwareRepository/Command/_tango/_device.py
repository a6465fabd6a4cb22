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
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import tango

from ...bridge import AsyncResult, Event, _native
from ._errors import translate
from ._workers import WorkerPool

__all__ = ["DeviceLink", "acquire_link", "release_link"]

log = logging.getLogger("HardwareRepository.Command.Tango")
T = TypeVar("T")

#: Tango's own client timeout when nothing asks for more (cppTango's default).
DEFAULT_TANGO_TIMEOUT = 3.0
# Tango's own timeout is set this much above the longest one the package
# waits for, so the package's Timeout (which names the item) fires first.
_TANGO_TIMEOUT_MARGIN = 0.5


class DeviceLink:
    """The calls, proxy and worker threads of one Tango device.

    :meth:`call` and :meth:`want_timeout` are safe from any thread;
    :meth:`proxy` is for worker and poller threads (it may block).

    :param device: the device name as configured (``tango://host:port/a/b/c#dbase=no``
        or a name resolved through ``TANGO_HOST``).
    """

    def __init__(self, device: str) -> None:
        self.device = device
        self.pool = WorkerPool(device)
        self._proxy_lock = _native.allocate_lock()
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
        wanted = int((seconds + _TANGO_TIMEOUT_MARGIN) * 1000)
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

    def call(
        self,
        target: str,
        func: Callable[..., T],
        *args: Any,
        command: bool = False,
    ) -> AsyncResult[T]:
        """Run ``func(proxy, *args)`` in a worker thread; safe from any thread.

        :param target: ``"command Name"`` or ``"attribute name"``: names the
            call in the result's timeout message and in errors.
        :param command: failures are command failures (see :func:`translate`).
        :returns: an :class:`AsyncResult` set to the value, or to the package
            exception (naming device and target, Tango's error as
            ``__cause__``).
        :raises BridgeClosedError: the link was released.
        """
        result: AsyncResult[T] = AsyncResult(name=f"{self.device}: {target}")
        self.pool.submit(self._run, target, func, args, command, result=result)
        return result

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

    def _drop_proxy(self) -> None:
        with self._proxy_lock:
            self._proxy = None


# device key -> link; guarded by _links_lock
_links: dict[str, DeviceLink] = {}
_links_lock = _native.allocate_lock()


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
        return link


def release_link(link: DeviceLink) -> Event | None:
    """Count one user less; the last one shuts the link's threads down.

    Never blocks. The proxy is dropped in a worker thread.

    :returns: the event set once the link's threads have ended, if this was the
        last user, else ``None``.
    """
    with _links_lock:
        link.users -= 1
        if link.users > 0:
            return None
        if _links.get(_key(link.device)) is link:
            del _links[_key(link.device)]
    link.pool.submit(link._drop_proxy)
    link.pool.shutdown()
    return link.pool.ended
