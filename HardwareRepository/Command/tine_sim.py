"""A SIMULATED TINE client with the call signatures of the ``tine`` module.

Selected only explicitly (see :mod:`HardwareRepository.Command.Tine`). It is
not TINE: no network, no equipment name server. It reproduces what a client of
the ``tine`` Python binding sees, as mxCuBE used it:

* ``attach`` (timer), ``notify`` (event) and ``update`` (data change)
  ``(address, property, callback, interval_ms[, size]) -> link_id`` open a
  link; ``callback(link_id, cc, data)`` is then called **from the client's own
  thread** (never the caller's): ``cc == 0`` with the data, or a non-zero
  completion code when the link fails. Timer links call back every
  ``interval_ms``; event links when the server publishes a new value; data
  change links when the value moved by more than the tolerance. Every mode
  calls back once right after attaching, once when the link is lost and once
  when it is back (``cc == 0`` with the current value); timer links also keep
  reporting the failure every interval while it lasts;
* ``tolerance(link_id, absolute, relative_percent)`` sets a data-change
  link's tolerance;
* ``detach(link_id)`` closes a link (no callback after it returns, except one
  already running in the client thread);
* ``get(address, property, timeout_ms)`` and
  ``set(address, property, data, timeout_ms)`` are synchronous and **block**:
  a server that is down (or slower than ``timeout_ms``) makes them wait the
  whole timeout and raise ``IOError(LINK_TIMEOUT, ...)``;
* errors are ``IOError(cc, text)`` (``errno`` is the completion code).

Completion codes: ``0`` is success as in TINE. :data:`CC_IGNORED` (103) is the
code mxCuBE's TINE channel ignored in callbacks; the simulation sends it only
when a test asks (:meth:`SimulatedTineServer.send_code`). The other codes
(:data:`LINK_TIMEOUT`, :data:`NON_EXISTENT_SERVER`,
:data:`NON_EXISTENT_PROPERTY`, :data:`INVALID_LINK`) are the simulation's own
numbers, not TINE's.

Servers are defined in-process by tests and demos with :func:`define_server`.
Every function is safe from any thread; ``get`` and ``set`` must not be called
from a gevent hub thread (the TINE module calls them from worker threads). The
client thread exists while at least one link is attached.
"""

from __future__ import annotations

import heapq
import itertools
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..bridge import native

__all__ = [
    "CC_IGNORED",
    "INVALID_LINK",
    "LINK_TIMEOUT",
    "NON_EXISTENT_PROPERTY",
    "NON_EXISTENT_SERVER",
    "OK",
    "SIMULATED",
    "SimulatedTineServer",
    "attach",
    "define_server",
    "detach",
    "get",
    "get_server",
    "link_count",
    "notify",
    "reset",
    "set",
    "tolerance",
    "update",
]

log = logging.getLogger("HardwareRepository.Command.Tine.simulated")

#: marks this module as the simulation (read by the TINE module)
SIMULATED = True

OK = 0
CC_IGNORED = 103
LINK_TIMEOUT = 1001
NON_EXISTENT_SERVER = 1002
NON_EXISTENT_PROPERTY = 1003
INVALID_LINK = 1004

_TIMER, _EVENT, _DATACHANGE = "timer", "event", "datachange"

# Everything below is guarded by _lock (a native lock: the client thread, the
# callers' threads and tests all touch it).
_lock = native.allocate_lock()
_servers: dict[str, SimulatedTineServer] = {}
_links: dict[int, _Link] = {}
_heap: list[tuple[float, int, int]] = []  # (due, seq, link_id)
_seq = itertools.count()
_link_ids = itertools.count(1)
_thread_running = False
_wake = native.allocate_lock()  # released to wake the client thread
_wake.acquire()


class SimulatedTineServer:
    """One simulated TINE server (an address) and its properties.

    Change it from any thread: :meth:`publish` a new value (event links fire),
    :meth:`stop` / :meth:`start` it (links are lost / come back), make a
    property fail with :meth:`fail`.

    :param address: the server address (``/CONTEXT/SERVER/DEVICE``).
    :param properties: property -> initial value.
    """

    def __init__(self, address: str, properties: Mapping[str, Any]) -> None:
        self.address = address
        self.running = True  # guarded by _lock
        #: seconds each get/set takes on the server
        self.delay = 0.0
        self._values = dict(properties)  # guarded by _lock
        self._versions = dict.fromkeys(properties, 0)  # guarded by _lock
        self._failures: dict[str, int] = {}  # guarded by _lock
        self._handlers: dict[str, Callable[[Any], Any]] = {}  # guarded by _lock
        #: (property, data) of every ``set`` that reached the server
        self.writes: list[tuple[str, Any]] = []

    def __repr__(self) -> str:
        """Name the simulated server and whether it runs, for logs."""
        state = "running" if self.running else "down"
        return f"<simulated TINE server {self.address} {state}>"

    def publish(self, prop: str, value: Any) -> None:
        """Give ``prop`` a new value, as the server's hardware would."""
        with _lock:
            self._values[prop] = value
            self._versions[prop] = self._versions.get(prop, 0) + 1
            _wake_links(self.address, prop)

    def value(self, prop: str) -> Any:
        """Return the server's current value of ``prop``."""
        with _lock:
            return self._values[prop]

    def on_set(self, prop: str, handler: Callable[[Any], Any] | None) -> None:
        """Run ``handler(data)`` (in the caller's thread) on ``set``.

        The handler's return value is ``set``'s. ``None``: store the data as
        the new value.
        """
        with _lock:
            if handler is None:
                self._handlers.pop(prop, None)
            else:
                self._handlers[prop] = handler
                self._values.setdefault(prop, None)
                self._versions.setdefault(prop, 0)

    def fail(self, prop: str, cc: int | None) -> None:
        """Make reads of ``prop`` fail with completion code ``cc`` (``None`` clears)."""
        with _lock:
            if cc is None:
                self._failures.pop(prop, None)
            else:
                self._failures[prop] = cc
            _wake_links(self.address, prop)

    def send_code(self, prop: str, cc: int) -> None:
        """Call every link on ``prop`` back once with ``cc`` and no data."""
        with _lock:
            targets = [
                link
                for link in _links.values()
                if link.address == self.address and link.prop == prop
            ]
        for link in targets:
            link.call(cc, None)

    def stop(self) -> None:
        """Simulate a server crash or a network cut: links are lost."""
        with _lock:
            self.running = False
            _wake_links(self.address, None)

    def start(self) -> None:
        """Bring the server back: links recover."""
        with _lock:
            self.running = True
            _wake_links(self.address, None)

    # -- lock held ------------------------------------------------------------
    def _read(self, prop: str) -> tuple[int, Any, int]:
        if not self.running:
            return LINK_TIMEOUT, None, -1
        if prop not in self._values:
            return NON_EXISTENT_PROPERTY, None, -1
        cc = self._failures.get(prop)
        if cc is not None:
            return cc, None, -1
        return OK, self._values[prop], self._versions[prop]


class _Link:
    """One attached link; fields guarded by the module lock."""

    def __init__(
        self,
        link_id: int,
        mode: str,
        address: str,
        prop: str,
        callback: Callable[[int, int, Any], Any],
        interval: float,
        size: int | None,
    ) -> None:
        self.link_id = link_id
        self.mode = mode
        self.address = address
        self.prop = prop
        self.callback = callback
        self.interval = interval
        self.size = size
        self.absolute = 0.0
        self.relative = 0.0
        self.sent_ok = False  # last callback had cc == 0
        self.sent_any = False
        self.last_cc = OK
        self.last_value: Any = None
        self.last_version = -1
        self.due_seq: int | None = None
        self.busy = native.allocate_lock()  # held while the callback runs

    def call(self, cc: int, data: Any) -> None:
        """Run the user's callback (client thread, or a test's thread)."""
        with self.busy:
            with _lock:
                if self.link_id not in _links:
                    return
            try:
                self.callback(self.link_id, cc, data)
            except Exception:
                log.exception(
                    "simulated TINE: callback of link %d (%s %s) raised",
                    self.link_id,
                    self.address,
                    self.prop,
                )

    # -- lock held -------------------------------------------------------------
    def decide(self) -> tuple[int, Any] | None:
        """Return the callback to make now (cc, data), or ``None``."""
        server = _servers.get(self.address)
        if server is None:
            cc, value, version = NON_EXISTENT_SERVER, None, -1
        else:
            cc, value, version = server._read(self.prop)
        if cc != OK:
            first_failure = self.sent_ok or not self.sent_any or cc != self.last_cc
            if self.mode == _TIMER or first_failure:
                self.sent_ok, self.sent_any, self.last_cc = False, True, cc
                return cc, None
            return None
        data = _truncate(value, self.size)
        recovered = not self.sent_ok
        if self.mode == _TIMER:
            send = True
        elif self.mode == _EVENT:
            send = recovered or version != self.last_version
        else:
            send = recovered or _moved(
                self.last_value, data, self.absolute, self.relative
            )
        if not send:
            return None
        self.sent_ok, self.sent_any, self.last_cc = True, True, OK
        self.last_value, self.last_version = data, version
        return OK, data


def _truncate(value: Any, size: int | None) -> Any:
    if size is not None and isinstance(value, (list, tuple)):
        return type(value)(value[:size])
    return value


def _moved(old: Any, new: Any, absolute: float, relative: float) -> bool:
    if isinstance(old, (list, tuple)) and isinstance(new, (list, tuple)):
        if len(old) != len(new):
            return True
        return any(
            _moved(a, b, absolute, relative) for a, b in zip(old, new, strict=True)
        )
    if isinstance(old, (int, float)) and isinstance(new, (int, float)):
        delta = abs(new - old)
        if absolute == 0.0 and relative == 0.0:
            return delta != 0
        return (absolute > 0.0 and delta > absolute) or (
            relative > 0.0 and delta > abs(old) * relative / 100.0
        )
    return bool(old != new)


def _wake_links(address: str, prop: str | None) -> None:
    """Make the links on (address, prop) check now (lock held)."""
    now = native.monotonic()
    for link in _links.values():
        if link.address == address and (prop is None or link.prop == prop):
            _schedule(link, now)
    _wake_thread()


def _schedule(link: _Link, due: float) -> None:
    seq = next(_seq)
    link.due_seq = seq
    heapq.heappush(_heap, (due, seq, link.link_id))


def _wake_thread() -> None:
    try:
        _wake.release()
    except RuntimeError:  # already released: a wake-up is pending
        pass


def _client_thread() -> None:
    """The client's own thread: makes every callback."""
    global _thread_running
    while True:
        with _lock:
            if not _links:
                _thread_running = False
                return
            now = native.monotonic()
            due_now: list[tuple[_Link, int, Any]] = []
            while _heap and _heap[0][0] <= now:
                _, seq, link_id = heapq.heappop(_heap)
                link = _links.get(link_id)
                if link is None or link.due_seq != seq:
                    continue
                outcome = link.decide()
                _schedule(link, now + link.interval)
                if outcome is not None:
                    due_now.append((link, *outcome))
            timeout = (_heap[0][0] - now) if _heap else 1.0
        for link, cc, data in due_now:
            link.call(cc, data)
        if not due_now:
            _wake.acquire(timeout=max(0.0, min(timeout, 1.0)))


def _open(
    mode: str,
    address: str,
    prop: str,
    callback: Callable[[int, int, Any], Any],
    interval_ms: float,
    size: int | None,
) -> int:
    global _thread_running
    if not callable(callback):
        raise TypeError(f"TINE callback {callback!r} is not callable")
    with _lock:
        server = _servers.get(address)
        if server is None:
            raise OSError(NON_EXISTENT_SERVER, f"{address}: non existent server")
        if server.running and prop not in server._values:
            raise OSError(
                NON_EXISTENT_PROPERTY, f"{address} {prop}: non existent property"
            )
        link_id = next(_link_ids)
        link = _Link(
            link_id,
            mode,
            address,
            prop,
            callback,
            max(float(interval_ms), 1.0) / 1000.0,
            None if size is None else int(size),
        )
        _links[link_id] = link
        _schedule(link, native.monotonic())
        start = not _thread_running
        _thread_running = True
        _wake_thread()
    if start:
        native.start_new_thread(_client_thread, ())
    return link_id


def attach(
    address: str,
    prop: str,
    callback: Callable[[int, int, Any], Any],
    interval_ms: float = 1000,
    size: int | None = None,
) -> int:
    """Open a timer link: ``callback(link_id, cc, data)`` every ``interval_ms``.

    :raises OSError: unknown server, or unknown property of a running server.
    """
    return _open(_TIMER, address, prop, callback, interval_ms, size)


def notify(
    address: str,
    prop: str,
    callback: Callable[[int, int, Any], Any],
    interval_ms: float = 1000,
    size: int | None = None,
) -> int:
    """Open an event link: a callback when the server publishes a value."""
    return _open(_EVENT, address, prop, callback, interval_ms, size)


def update(
    address: str,
    prop: str,
    callback: Callable[[int, int, Any], Any],
    interval_ms: float = 1000,
    size: int | None = None,
) -> int:
    """Open a data-change link: a callback when the value moved (see tolerance)."""
    return _open(_DATACHANGE, address, prop, callback, interval_ms, size)


def tolerance(link_id: int, absolute: float, relative: float) -> None:
    """Set the tolerance of a data-change link (``relative`` in percent).

    :raises OSError: no such link.
    """
    with _lock:
        link = _links.get(link_id)
        if link is None:
            raise OSError(INVALID_LINK, f"link {link_id}: invalid link")
        link.absolute = float(absolute)
        link.relative = float(relative)


def detach(link_id: int) -> None:
    """Close a link; no callback starts after this returns.

    :raises OSError: no such link.
    """
    with _lock:
        link = _links.pop(link_id, None)
        if link is None:
            raise OSError(INVALID_LINK, f"link {link_id}: invalid link")
        _wake_thread()
    if link.busy.acquire(timeout=5.0):  # let a running callback finish
        link.busy.release()


def link_count() -> int:
    """Return how many links are attached (tests)."""
    with _lock:
        return len(_links)


def _transact(address: str, prop: str, timeout_ms: float) -> SimulatedTineServer:
    with _lock:
        server = _servers.get(address)
        if server is None:
            raise OSError(NON_EXISTENT_SERVER, f"{address}: non existent server")
        running, delay = server.running, server.delay
    timeout = float(timeout_ms) / 1000.0
    if not running or delay > timeout:
        native.sleep(timeout)
        raise OSError(LINK_TIMEOUT, f"{address} {prop}: link timeout")
    if delay:
        native.sleep(delay)
    return server


def get(address: str, prop: str, timeout_ms: float = 1000) -> Any:
    """Read ``prop`` synchronously (blocks up to ``timeout_ms``).

    :raises OSError: unknown server or property, a failing property, or a
        server that does not answer in time (``LINK_TIMEOUT``).
    """
    server = _transact(address, prop, timeout_ms)
    with _lock:
        cc, value, _ = server._read(prop)
    if cc != OK:
        raise OSError(cc, f"{address} {prop}: read failed")
    return value


def set(address: str, prop: str, data: Any, timeout_ms: float = 1000) -> Any:
    """Write ``data`` to ``prop`` synchronously (blocks up to ``timeout_ms``).

    :returns: the property handler's result (``None`` for a plain value).
    :raises OSError: as :func:`get`.
    """
    server = _transact(address, prop, timeout_ms)
    with _lock:
        handler = server._handlers.get(prop)
        cc = server._failures.get(prop)
        known = prop in server._values
        server.writes.append((prop, data))
    if not known:
        raise OSError(NON_EXISTENT_PROPERTY, f"{address} {prop}: non existent property")
    if cc is not None:
        raise OSError(cc, f"{address} {prop}: write failed")
    if handler is not None:
        return handler(data)
    server.publish(prop, data)
    return None


def define_server(
    address: str, properties: Mapping[str, Any] | None = None
) -> SimulatedTineServer:
    """Create (or replace) the simulated server ``address`` and return it."""
    server = SimulatedTineServer(address, properties or {})
    with _lock:
        _servers[address] = server
    return server


def get_server(address: str) -> SimulatedTineServer:
    """Return the simulated server ``address``.

    :raises KeyError: no such server.
    """
    with _lock:
        return _servers[address]


def reset(links: Sequence[int] | None = None) -> None:
    """Forget every server and detach every link (tests)."""
    with _lock:
        ids = list(_links) if links is None else list(links)
    for link_id in ids:
        try:
            detach(link_id)
        except OSError:
            continue
    with _lock:
        _servers.clear()
