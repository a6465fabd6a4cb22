"""The green ``DeviceProxy``: PyTango's client API, cooperative with gevent."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

import tango
from gevent.monkey import get_original
from greenlet import getcurrent

from ..bridge import AsyncResult, get_hub_if_exists
from ..Command.Tango import WorkerPool
from ..errors import BridgeClosedError, Timeout
from ._forwarding import EventForwarder

__all__ = ["DeviceProxy", "get_device_proxy"]

log = logging.getLogger("HardwareRepository.tango")

#: at most this many Tango calls of one proxy run at once (one thread each)
MAX_THREADS = 4
#: seconds an idle worker thread of a proxy waits for work before it ends
IDLE_TIMEOUT = 30.0

_allocate_lock = get_original("_thread", "allocate_lock")  # never monkey-patched


def _label(method: str, args: tuple[Any, ...]) -> str:
    """Name a call in messages: ``read_attribute('wave')``, ``state()``."""
    first = args[0] if args else None
    if isinstance(first, str):
        return f"{method}({first!r})"
    if isinstance(first, (list, tuple)) and all(isinstance(a, str) for a in first):
        return f"{method}({list(first)!r})"
    return f"{method}()"


def _device_name(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    name = args[0] if args else kwargs.get("dev_name", "")
    return str(name) if name else "DeviceProxy"


class DeviceProxy:
    """PyTango's ``DeviceProxy`` whose blocking calls let other greenlets run.

    It replaces ``tango.gevent.DeviceProxy`` (PyTango's gevent green mode):
    the same constructor and methods, each taking two more keywords:

    * ``wait`` (default ``True``): wait for the reply and return it (or raise
      Tango's ``DevFailed``); with ``wait=False`` return at once a
      :class:`~HardwareRepository.bridge.AsyncResult` whose ``get(timeout)``
      gives the reply or raises;
    * ``timeout`` (seconds, default ``None``: Tango's own client timeout
      applies): on expiry :class:`~HardwareRepository.errors.Timeout` (a
      ``TimeoutError``, never a ``BaseException``) is raised naming the device
      and the call. A timeout does not cancel the Tango call: it goes on in its
      worker thread until it ends or Tango's own timeout expires.

    Calls run in a few native worker threads of the proxy (at most
    :data:`MAX_THREADS` at once; idle ones end after :data:`IDLE_TIMEOUT` s).
    A greenlet waits for them cooperatively, so the hub and the other greenlets
    of its thread keep running; a plain thread without a gevent hub makes the
    call itself and blocks, exactly as with PyTango's synchronous proxy (with
    ``wait=False`` or a ``timeout`` it also uses the worker threads). The hub
    itself (a loop callback) may not wait:
    :class:`~HardwareRepository.errors.InvalidThreadUseError`.

    Event callbacks given to :meth:`subscribe_event` run in the gevent hub of
    the subscribing thread, in a greenlet, one event at a time and in the order
    Tango delivered them; see :meth:`subscribe_event`.

    Every other attribute is that of the underlying synchronous
    ``tango.DeviceProxy``: PyTango's other methods (``name()``,
    ``set_timeout_millis()``, ``read_attribute_asynch()``...) block the calling
    thread as they do there. ``proxy.Attr`` reads and ``proxy.Attr = value``
    writes a device attribute and ``proxy.Command(arg)`` runs a command, as with
    PyTango, but cooperatively (with the default ``wait`` and ``timeout``).

    Creating the proxy connects to the device in a worker thread. With
    ``wait=False`` the constructor returns an ``AsyncResult`` whose value is the
    proxy (as ``tango.gevent.DeviceProxy(name, wait=False)`` does).

    Works whether or not the application monkey-patched gevent; the proxy
    itself patches nothing. :meth:`close` (or ``with``) ends the worker threads
    and every subscription at once.

    Args:
        *args: ``tango.DeviceProxy``'s arguments (the device name first).
        wait: wait for the connection; else return an ``AsyncResult``.
        timeout: seconds to wait for the connection.
        **kwargs: ``tango.DeviceProxy``'s keyword arguments, except
            ``green_mode`` (this proxy is always green).

    Raises:
        tango.DevFailed: the device cannot be reached (or does not exist).
        Timeout: no connection within ``timeout`` seconds.
        TypeError: ``green_mode`` was given.
    """

    def __new__(
        cls, *args: Any, wait: bool = True, timeout: float | None = None, **kwargs: Any
    ) -> Any:
        """Return a new proxy, or with ``wait=False`` the result that will hold it."""
        self = super().__new__(cls)
        if wait:
            return self
        self._prepare(args, kwargs)
        return self._connect(args, kwargs)

    def __init__(
        self, *args: Any, wait: bool = True, timeout: float | None = None, **kwargs: Any
    ) -> None:
        self._prepare(args, kwargs)
        self._finish(self._connect(args, kwargs), "DeviceProxy()", True, timeout)

    def _prepare(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if "green_mode" in kwargs:
            raise TypeError(
                "HardwareRepository.tango.DeviceProxy is always green: "
                "do not pass green_mode"
            )
        self._name = _device_name(args, kwargs)
        self._pool = WorkerPool(self._name, MAX_THREADS, IDLE_TIMEOUT)
        self._proxy: tango.DeviceProxy | None = None
        self._closed = False
        self._lock = _allocate_lock()
        # event id -> forwarder of its callback; guarded by _lock
        self._forwarders: dict[int, EventForwarder] = {}
        # lower-case device command and attribute names, fetched on first use
        self._commands: frozenset[str] | None = None
        self._attributes: frozenset[str] | None = None

    def _connect(
        self, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> AsyncResult[DeviceProxy]:
        result: AsyncResult[DeviceProxy] = AsyncResult(
            name=f"{self._name}: DeviceProxy()"
        )
        self._pool.submit(self._create, args, kwargs, result=result)
        return result

    def _create(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> DeviceProxy:
        # In a worker thread.
        try:
            self._proxy = tango.DeviceProxy(
                *args, green_mode=tango.GreenMode.Synchronous, **kwargs
            )
        except BaseException:
            self._closed = True
            self._pool.shutdown()
            raise
        return self

    def __repr__(self) -> str:
        state = " closed" if self._closed else ""
        return f"<green DeviceProxy {self._name}{state}>"

    @property
    def synchronous(self) -> tango.DeviceProxy:
        """The underlying synchronous ``tango.DeviceProxy`` (blocking calls).

        Raises:
            BridgeClosedError: the proxy was closed.
        """
        proxy = self._proxy
        if proxy is None or self._closed:
            raise BridgeClosedError(f"{self!r} is closed")
        return proxy

    # -- running calls ------------------------------------------------------------
    def _call(
        self,
        method: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        wait: bool,
        timeout: float | None,
    ) -> Any:
        func = getattr(self.synchronous, method)
        label = _label(method, args)
        if wait and timeout is None and get_hub_if_exists() is None:
            return func(*args, **kwargs)  # a plain thread: blocks, as in PyTango
        return self._run(label, func, args, kwargs, wait, timeout)

    def _run(
        self,
        label: str,
        func: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        wait: bool,
        timeout: float | None,
    ) -> Any:
        result: AsyncResult[Any] = AsyncResult(name=f"{self._name}: {label}")
        if kwargs:
            func = functools.partial(func, **kwargs)
        hub = get_hub_if_exists()
        if wait and hub is not None and getcurrent() is not hub:
            # A greenlet about to wait: hand the call to the worker from the
            # hub, just before the hub goes to sleep and lets go of the GIL,
            # rather than now (measured: 6-7 us less per round trip).
            hub.loop.run_callback(self._submit, func, args, result)
        else:
            self._pool.submit(func, *args, result=result)
        return self._finish(result, label, wait, timeout)

    def _submit(
        self, func: Callable[..., Any], args: tuple[Any, ...], result: AsyncResult[Any]
    ) -> None:
        try:
            self._pool.submit(func, *args, result=result)
        except BaseException as exc:  # the pool was shut down meanwhile
            result.set_exception(exc)

    def _finish(
        self, result: AsyncResult[Any], label: str, wait: bool, timeout: float | None
    ) -> Any:
        if not wait:
            return result
        try:
            return result.get(timeout)
        except Timeout:
            if result.ready():
                return result.get(0)
            if label == "DeviceProxy()":
                self._closed = True
                self._pool.shutdown()
            raise Timeout(
                f"{self._name}: {label} did not complete within {timeout} s "
                "(the Tango call goes on in a worker thread)"
            ) from None

    # -- the blocking methods of PyTango's DeviceProxy -----------------------------
    def state(
        self, *args: Any, wait: bool = True, timeout: float | None = None, **kwargs: Any
    ) -> Any:
        """Return the device's state (``tango.DevState``)."""
        return self._call("state", args, kwargs, wait, timeout)

    def status(
        self, *args: Any, wait: bool = True, timeout: float | None = None, **kwargs: Any
    ) -> Any:
        """Return the device's status text."""
        return self._call("status", args, kwargs, wait, timeout)

    def ping(
        self, *args: Any, wait: bool = True, timeout: float | None = None, **kwargs: Any
    ) -> Any:
        """Ping the device; return the round trip in microseconds."""
        return self._call("ping", args, kwargs, wait, timeout)

    def command_inout(
        self, *args: Any, wait: bool = True, timeout: float | None = None, **kwargs: Any
    ) -> Any:
        """Run a command: ``command_inout(name, argin=None)``; return its reply."""
        return self._call("command_inout", args, kwargs, wait, timeout)

    def read_attribute(
        self, *args: Any, wait: bool = True, timeout: float | None = None, **kwargs: Any
    ) -> Any:
        """Read one attribute; return its ``tango.DeviceAttribute``."""
        return self._call("read_attribute", args, kwargs, wait, timeout)

    def read_attributes(
        self, *args: Any, wait: bool = True, timeout: float | None = None, **kwargs: Any
    ) -> Any:
        """Read several attributes; return a list of ``tango.DeviceAttribute``."""
        return self._call("read_attributes", args, kwargs, wait, timeout)

    def write_attribute(
        self, *args: Any, wait: bool = True, timeout: float | None = None, **kwargs: Any
    ) -> Any:
        """Write one attribute: ``write_attribute(name, value)``."""
        return self._call("write_attribute", args, kwargs, wait, timeout)

    def write_attributes(
        self, *args: Any, wait: bool = True, timeout: float | None = None, **kwargs: Any
    ) -> Any:
        """Write several attributes: ``write_attributes([(name, value), ...])``."""
        return self._call("write_attributes", args, kwargs, wait, timeout)

    def write_read_attribute(
        self, *args: Any, wait: bool = True, timeout: float | None = None, **kwargs: Any
    ) -> Any:
        """Write one attribute and read it back in one call."""
        return self._call("write_read_attribute", args, kwargs, wait, timeout)

    def write_read_attributes(
        self, *args: Any, wait: bool = True, timeout: float | None = None, **kwargs: Any
    ) -> Any:
        """Write attributes and read (other) attributes in one call."""
        return self._call("write_read_attributes", args, kwargs, wait, timeout)

    def get_attribute_config(
        self, *args: Any, wait: bool = True, timeout: float | None = None, **kwargs: Any
    ) -> Any:
        """Return the configuration of one or several attributes."""
        return self._call("get_attribute_config", args, kwargs, wait, timeout)

    def set_attribute_config(
        self, *args: Any, wait: bool = True, timeout: float | None = None, **kwargs: Any
    ) -> Any:
        """Change the configuration of one or several attributes."""
        return self._call("set_attribute_config", args, kwargs, wait, timeout)

    def get_property(
        self, *args: Any, wait: bool = True, timeout: float | None = None, **kwargs: Any
    ) -> Any:
        """Return device properties (a ``dict`` of name -> values)."""
        return self._call("get_property", args, kwargs, wait, timeout)

    def put_property(
        self, *args: Any, wait: bool = True, timeout: float | None = None, **kwargs: Any
    ) -> Any:
        """Set device properties."""
        return self._call("put_property", args, kwargs, wait, timeout)

    # -- events -----------------------------------------------------------------
    def subscribe_event(
        self, *args: Any, wait: bool = True, timeout: float | None = None, **kwargs: Any
    ) -> Any:
        """Subscribe to events, as PyTango's ``subscribe_event``; return the event id.

        Both forms work: ``subscribe_event(attr_name, event_type, cb, ...)`` and
        the device-level ``subscribe_event(event_type, cb, ...)``. A callback
        (a callable, or an object with ``push_event``) subscribed from a thread
        that has a gevent hub runs in that hub, in a greenlet, one event at a
        time, in the order Tango delivered them, batched through the hub
        bridge: no watcher and no greenlet per event, and Tango's event thread
        never waits for the hub. An exception it raises is logged
        (``HardwareRepository.tango``) and the next event is delivered. From
        a thread without a hub the callback runs in Tango's event thread, as
        with PyTango's synchronous proxy. A queue size instead of a callback
        (Tango's pull model) is passed on unchanged.

        If a timeout expires the subscription may still be made later;
        :meth:`close` removes it.
        """
        args_list = list(args)
        index = 2 if args_list and isinstance(args_list[0], str) else 1
        key = next((k for k in ("cb", "cb_or_queuesize") if k in kwargs), None)
        callback = (
            kwargs[key]
            if key
            else (args_list[index] if len(args_list) > index else None)
        )
        forwarder = None
        if not isinstance(callback, int) and get_hub_if_exists() is not None:
            label = f"{self._name}: " + " ".join(str(a) for a in args_list[:index])
            forwarder = EventForwarder(callback, label)
            if key:
                kwargs[key] = forwarder
            else:
                args_list[index] = forwarder
        proxy = self.synchronous
        label = _label("subscribe_event", args)
        func = functools.partial(self._subscribe, proxy, forwarder)
        if wait and timeout is None and get_hub_if_exists() is None:
            return func(*args_list, **kwargs)
        return self._run(label, func, tuple(args_list), kwargs, wait, timeout)

    def _subscribe(
        self,
        proxy: tango.DeviceProxy,
        forwarder: EventForwarder | None,
        *args: Any,
        **kwargs: Any,
    ) -> int:
        try:
            event_id: int = proxy.subscribe_event(*args, **kwargs)
        except BaseException:
            if forwarder is not None:
                forwarder.close()
            raise
        if forwarder is not None:
            with self._lock:
                self._forwarders[event_id] = forwarder
        return event_id

    def unsubscribe_event(
        self,
        event_id: int,
        *,
        wait: bool = True,
        timeout: float | None = None,
    ) -> Any:
        """Cancel a subscription made by :meth:`subscribe_event`.

        Called in the subscribing thread, no call of its callback begins once
        this call starts, even for events Tango had already delivered.
        """
        with self._lock:
            forwarder = self._forwarders.pop(event_id, None)
        if forwarder is not None:
            forwarder.close()
        return self._call("unsubscribe_event", (event_id,), {}, wait, timeout)

    # -- lifetime ---------------------------------------------------------------
    def close(self, timeout: float | None = 10.0) -> None:
        """Unsubscribe everything, drop the connection and end the worker threads.

        Idempotent. Calls already queued still run; later calls raise
        :class:`~HardwareRepository.errors.BridgeClosedError`.

        Args:
            timeout: seconds to wait for the worker threads to end.

        Raises:
            Timeout: a worker thread is still busy (with a Tango call that has
                not returned) after ``timeout`` seconds.
        """
        if not self._closed:
            self._closed = True
            with self._lock:
                forwarders, self._forwarders = self._forwarders, {}
            for forwarder in forwarders.values():
                forwarder.close()
            self._pool.submit(self._release, list(forwarders))
            self._pool.shutdown()
        if not self._pool.ended.wait(timeout):
            raise Timeout(
                f"{self!r}: its worker threads did not end within {timeout} s"
            )

    def _release(self, event_ids: list[int]) -> None:
        # In a worker thread: the last Tango calls of this proxy.
        proxy, self._proxy = self._proxy, None
        if proxy is None:
            return
        for event_id in event_ids:
            try:
                proxy.unsubscribe_event(event_id)
            except Exception:
                log.exception("%s: unsubscribe_event(%s) failed", self._name, event_id)

    def __enter__(self) -> DeviceProxy:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- everything else: the synchronous proxy's, and device attributes/commands --
    def _names(self) -> tuple[frozenset[str], frozenset[str]]:
        if self._commands is None or self._attributes is None:
            commands = self._call("get_command_list", (), {}, True, None)
            attributes = self._call("get_attribute_list", (), {}, True, None)
            self._commands = frozenset(name.lower() for name in commands)
            self._attributes = frozenset(name.lower() for name in attributes)
        return self._commands, self._attributes

    def __getattr__(self, name: str) -> Any:
        """Pass PyTango's other methods through; read attributes, run commands."""
        if name.startswith("_"):
            raise AttributeError(name)
        proxy = self.synchronous
        if hasattr(type(proxy), name):
            return getattr(proxy, name)
        commands, attributes = self._names()
        if name.lower() in commands:
            return functools.partial(self.command_inout, name)
        if name.lower() in attributes:
            return self.read_attribute(name).value
        return getattr(proxy, name)

    def __setattr__(self, name: str, value: Any) -> None:
        """Write a device attribute (``proxy.Attr = value``); else set normally."""
        if not name.startswith("_") and name.lower() in self._names()[1]:
            self.write_attribute(name, value)
        else:
            object.__setattr__(self, name, value)


def get_device_proxy(
    *args: Any, wait: bool = True, timeout: float | None = None, **kwargs: Any
) -> Any:
    """Create a green :class:`DeviceProxy`, as PyTango's ``get_device_proxy``.

    Args:
        *args: ``tango.DeviceProxy``'s arguments (the device name first).
        wait: wait for the connection and return the proxy; with ``False``
            return at once an ``AsyncResult`` that will hold it.
        timeout: seconds to wait (with ``wait=True``).
        **kwargs: ``tango.DeviceProxy``'s keyword arguments.

    Raises:
        tango.DevFailed: the device cannot be reached (or does not exist).
        Timeout: no connection within ``timeout`` seconds.
    """
    return DeviceProxy(*args, wait=wait, timeout=timeout, **kwargs)
