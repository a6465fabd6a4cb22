"""Run code in the hub of a given thread: :class:`HubTrigger` and :class:`Launcher`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import gevent

from ..errors import BridgeClosedError
from ._hub import HubBridge, get_bridge
from ._sync import AsyncResult

__all__ = ["HubTrigger", "Launcher"]

log = logging.getLogger("HardwareRepository.bridge")
T = TypeVar("T")


class HubTrigger:
    """Make ``func()`` run in the hub of the creating thread when sent.

    :meth:`send` is safe from any thread and never blocks. Sends coalesce:
    several sends before ``func`` starts cause one run, but a send made after
    ``func`` started always causes another run. Runs never overlap.

    :param func: called without arguments, in the hub's thread: in a new
        greenlet (it may wait cooperatively) or, with ``blocking=True``, directly
        inside the hub's loop callback (it must then return quickly and must not
        wait). An exception it raises is logged with its traceback.
    """

    def __init__(self, func: Callable[[], Any], blocking: bool = False) -> None:
        self.func = func
        self.blocking = blocking
        self._bridge = get_bridge()
        # Read and written from any thread; a stale read only causes an extra
        # (harmless) post, never a lost run, because _fire clears it before func.
        self._pending = False
        self._running = False  # hub thread only
        self._rerun = False  # hub thread only
        self._closed = False

    def __repr__(self) -> str:
        return f"<HubTrigger {self.func!r}>"

    def send(self) -> None:
        """Request a run of ``func`` in the hub; safe from any thread.

        :raises BridgeClosedError: the trigger or its hub's bridge is closed.
        """
        if self._closed:
            raise BridgeClosedError(f"{self!r} is closed")
        if self._pending:
            return
        self._pending = True
        self._bridge.post(self._fire)

    def close(self) -> None:
        """Refuse later sends and cancel runs that have not begun; any thread.

        A call of ``func`` already under way finishes; after that none begins
        (when called in the hub's thread; from another thread a run the hub is
        starting at that moment may still begin). Later :meth:`send` calls raise
        :class:`~HardwareRepository.errors.BridgeClosedError`.
        """
        self._closed = True

    def _fire(self) -> None:
        self._pending = False
        if self._closed:
            return
        if self.blocking:
            try:
                self.func()
            except Exception:
                log.exception("%r failed", self)
            return
        if self._running:
            self._rerun = True
            return
        self._running = True
        gevent.spawn(self._run_greenlet)

    def _run_greenlet(self) -> None:
        try:
            while not self._closed:
                self._rerun = False
                try:
                    self.func()
                except Exception:
                    log.exception("%r failed", self)
                if not self._rerun:
                    return
        finally:
            self._running = False


class Launcher:
    """Run functions in the hub of the thread that created the launcher.

    :meth:`apply` and :meth:`apply_async` are safe from any thread and any
    greenlet, except that :meth:`apply` cannot wait inside another thread's hub
    itself (a loop callback): it raises
    :class:`~HardwareRepository.errors.InvalidThreadUseError` there. The
    function runs in a new greenlet of the owning hub (so it may wait
    cooperatively); called from the owning thread, :meth:`apply` runs it
    inline, so there is no deadlock.
    """

    def __init__(self) -> None:
        self._bridge: HubBridge = get_bridge()
        # greenlet -> (function, its result); owning thread only
        self._greenlets: dict[gevent.Greenlet, tuple[Any, AsyncResult[Any]]] = {}
        self._closed = False

    @property
    def bridge(self) -> HubBridge:
        """The bridge of the owning thread."""
        return self._bridge

    def apply(
        self,
        func: Callable[..., T],
        *args: Any,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> T:
        """Run ``func(*args, **kwargs)`` in the owning thread and return its value.

        Its exception is raised here with the original traceback.

        :param timeout: seconds to wait for the result (not from the owning
            thread, where the call is inline); the call itself is not cancelled.
        :raises Timeout: the result did not come within ``timeout``.
        """
        if self._bridge.in_hub_thread():
            return func(*args, **kwargs)
        return self.apply_async(func, *args, **kwargs).get(timeout)

    def apply_async(
        self, func: Callable[..., T], *args: Any, **kwargs: Any
    ) -> AsyncResult[T]:
        """Start ``func(*args, **kwargs)`` in a greenlet of the owning thread.

        :returns: the :class:`AsyncResult` it sets when it returns or raises.
        """
        result: AsyncResult[T] = AsyncResult(name=getattr(func, "__qualname__", None))
        if self._bridge.in_hub_thread():
            self._start(func, args, kwargs, result)
        else:
            try:
                self._bridge.post(self._start, func, args, kwargs, result)
            except BridgeClosedError as exc:
                result.set_exception(exc)
        return result

    def _start(
        self,
        func: Callable[..., T],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        result: AsyncResult[T],
    ) -> None:
        if self._closed:
            result.set_exception(
                BridgeClosedError(f"cannot run {func!r}: its launcher is closed")
            )
            return
        greenlet = gevent.spawn(self._run, func, args, kwargs, result)
        self._greenlets[greenlet] = (func, result)
        greenlet.link(self._forget)

    def _forget(self, greenlet: gevent.Greenlet) -> None:
        entry = self._greenlets.pop(greenlet, None)
        if entry is not None:
            self._fail_unset(*entry, "was killed before it started")

    @staticmethod
    def _fail_unset(func: Any, result: AsyncResult[Any], why: str) -> None:
        # A greenlet killed before it started never enters _run.
        if not result.ready():
            result.set_exception(BridgeClosedError(f"{func!r} {why}"))

    @staticmethod
    def _run(
        func: Callable[..., T],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        result: AsyncResult[T],
    ) -> None:
        try:
            value = func(*args, **kwargs)
        except gevent.GreenletExit:
            result.set_exception(
                BridgeClosedError(f"{func!r} was killed before it returned")
            )
            raise
        except BaseException as exc:
            result.set_exception(exc)
        else:
            result.set(value)

    def kill_all(self, timeout: float | None = None) -> None:
        """Kill the greenlets started by this launcher; owning thread only.

        Their callers get :class:`BridgeClosedError`.
        """
        for _ in range(3):  # a greenlet may spawn another as it dies
            if not self._greenlets:
                break
            gevent.killall(list(self._greenlets), timeout=timeout)
        # Link callbacks run on a later loop iteration, which a closing thread
        # may never reach: settle every caller now.
        for func, result in self._greenlets.values():
            self._fail_unset(func, result, "was killed before it returned")

    def close(self) -> None:
        """Refuse later calls and kill the running ones; owning thread only.

        Later calls get :class:`BridgeClosedError`.
        """
        self._closed = True
        self.kill_all()
