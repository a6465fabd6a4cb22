"""cothread's Channel Access API (``cothread.catools``) on pyepics and gevent.

``caget``, ``caput``, ``camonitor``, ``connect`` and ``cainfo`` with
cothread's signatures and behaviour:

* ``pvs`` is one name or a list; the result has the same shape (one value,
  or a list of values in the same order);
* values are "augmented": :class:`ca_str`, :class:`ca_int`, :class:`ca_float`
  or :class:`ca_array` (a numpy array when the PV has more than one element)
  with ``.name`` and ``.ok``; ``FORMAT_TIME`` adds ``.timestamp``,
  ``.raw_stamp``, ``.datetime``, ``.severity`` and ``.status``; ``FORMAT_CTRL``
  adds ``.units``, the limits and ``.precision``;
* errors: with ``throw=True`` (default) a failing PV raises (a timeout raises
  :class:`~HardwareRepository.compat.cothread.Timedout`, other failures a
  :class:`ca_nothing`); with ``throw=False`` its value is a falsy
  :class:`ca_nothing` with ``.ok`` false and an ``.errorcode``;
* ``timeout`` is seconds, ``(deadline,)`` in ``time.time()`` terms, or
  ``None``;
* ``camonitor`` callbacks run one after the other in one greenlet of the
  calling thread's hub, in the order Channel Access delivered the updates;
  with ``all_updates=False`` updates that arrive while callbacks are busy are
  merged into the latest one, whose ``.update_count`` says how many it
  stands for.

Waits are cooperative (the hub keeps running): the blocking pyepics calls run
in worker threads. As with cothread, set the ``EPICS_CA_*`` environment
variables before the first call.
"""

from __future__ import annotations

import datetime
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import gevent
import numpy

from ...bridge import Event, HubBridge, get_bridge
from ...bridge import native as _native
from ...Command.channel_access import call_blocking, load_pyepics
from . import Timedout

__all__ = [
    "DBE_ALARM",
    "DBE_LOG",
    "DBE_PROPERTY",
    "DBE_VALUE",
    "DBR_CHAR_STR",
    "DBR_DOUBLE",
    "DBR_ENUM",
    "DBR_LONG",
    "DBR_STRING",
    "ECA_DISCONN",
    "ECA_NORMAL",
    "ECA_TIMEOUT",
    "FORMAT_CTRL",
    "FORMAT_RAW",
    "FORMAT_TIME",
    "Subscription",
    "ca_array",
    "ca_float",
    "ca_info",
    "ca_int",
    "ca_nothing",
    "ca_str",
    "caget",
    "cainfo",
    "camonitor",
    "caput",
    "connect",
]

log = logging.getLogger("HardwareRepository.compat.cothread.catools")

FORMAT_RAW, FORMAT_TIME, FORMAT_CTRL = 0, 1, 2
DBE_VALUE, DBE_LOG, DBE_ALARM, DBE_PROPERTY = 1, 2, 4, 8
DBR_STRING, DBR_SHORT, DBR_FLOAT, DBR_ENUM, DBR_CHAR, DBR_LONG, DBR_DOUBLE = range(7)
DBR_CHAR_STR = 999

ECA_NORMAL = 1
ECA_TIMEOUT = 80
ECA_PUTFAIL = 160
ECA_DISCONN = 192

_MESSAGES = {
    ECA_NORMAL: "Normal successful completion",
    ECA_TIMEOUT: "User specified timeout on IO operation expired",
    ECA_PUTFAIL: "Channel write request failed",
    ECA_DISCONN: "Virtual circuit disconnect",
}

Pvs = str | Sequence[str]


# -- values ---------------------------------------------------------------------
class ca_nothing(Exception):  # noqa: N818 (cothread's name)
    """The result of a PV without a value: a success code, or an error.

    Truthy only when ``.ok`` (a successful ``caput``/``connect``).

    Attributes:
        name: the PV.
        errorcode: the ``ECA_`` code.
        ok: whether ``errorcode`` is ``ECA_NORMAL``.
    """

    def __init__(self, name: str, errorcode: int = ECA_NORMAL) -> None:
        super().__init__(name, errorcode)
        self.name = name
        self.errorcode = errorcode
        self.ok = errorcode == ECA_NORMAL

    def __repr__(self) -> str:
        """Describe the object for logs."""
        return f"ca_nothing({self.name!r}, {self.errorcode})"

    def __str__(self) -> str:
        """Return the message."""
        return f"{self.name}: {_MESSAGES.get(self.errorcode, 'error')}"

    def __bool__(self) -> bool:
        """Return whether the result is a success."""
        return self.ok


class _Augmented:
    """The fields every augmented value has."""

    name: str
    ok = True
    timestamp: float
    update_count: int

    @property
    def datetime(self) -> datetime.datetime:
        """``timestamp`` as a local :class:`datetime.datetime`."""
        return datetime.datetime.fromtimestamp(self.timestamp)


class ca_str(_Augmented, str):
    """An augmented string value."""


class ca_int(_Augmented, int):
    """An augmented integer value."""


class ca_float(_Augmented, float):
    """An augmented floating-point value."""


class ca_array(_Augmented, numpy.ndarray):
    """An augmented array value (a numpy array)."""


def _augment(
    name: str, value: Any, element_count: int, info: dict[str, Any], fmt: int
) -> Any:
    augmented: Any
    if element_count != 1 or isinstance(value, numpy.ndarray):
        augmented = numpy.asarray(value).view(ca_array)
    elif isinstance(value, str):
        augmented = ca_str(value)
    elif isinstance(value, (bool, int, numpy.integer)):
        augmented = ca_int(value)
    else:
        augmented = ca_float(value)
    augmented.name = name
    augmented.ok = True
    augmented.element_count = element_count
    if fmt in (FORMAT_TIME, FORMAT_CTRL):
        stamp = float(info.get("timestamp") or time.time())
        augmented.timestamp = round(stamp, 6)
        augmented.raw_stamp = (int(stamp), round((stamp % 1) * 1e9))
        augmented.severity = int(info.get("severity") or 0)
        augmented.status = int(info.get("status") or 0)
    if fmt == FORMAT_CTRL:
        for key in (
            "units",
            "precision",
            "upper_disp_limit",
            "lower_disp_limit",
            "upper_alarm_limit",
            "lower_alarm_limit",
            "upper_warning_limit",
            "lower_warning_limit",
            "upper_ctrl_limit",
            "lower_ctrl_limit",
            "enum_strs",
        ):
            if key in info:
                setattr(augmented, "enums" if key == "enum_strs" else key, info[key])
    return augmented


def _deadline(timeout: float | tuple[float] | None) -> float | None:
    if timeout is None:
        return None
    if isinstance(timeout, tuple):
        return float(timeout[0])
    return time.time() + float(timeout)


def _left(deadline: float | None) -> float:
    return 1e9 if deadline is None else max(0.0, deadline - time.time())


def _names(pvs: Pvs) -> tuple[list[str], bool]:
    if isinstance(pvs, str):
        return [pvs], True
    return [str(p) for p in pvs], False


def _shape(results: list[Any], single: bool) -> Any:
    return results[0] if single else results


def _raise_first(results: list[Any]) -> None:
    for result in results:
        if isinstance(result, ca_nothing) and not result.ok:
            if result.errorcode == ECA_TIMEOUT:
                raise Timedout(str(result))
            raise result


def _run(func: Callable[..., Any], *args: Any, what: str) -> Any:
    """Run ``func`` in a worker thread; wait cooperatively, with no limit of ours.

    The functions run here end by their own deadlines.
    """
    return call_blocking(func, *args, source=what, limit=None)


# -- caget --------------------------------------------------------------------------
def _get_pv(name: str) -> Any:
    return load_pyepics().get_pv(name, form="time", connect=False)


def _get_all(
    names: list[str], deadline: float | None, datatype: Any, fmt: int, count: int
) -> list[Any]:
    pvs = [_get_pv(name) for name in names]
    results: list[Any] = []
    as_string = datatype in (str, DBR_STRING, DBR_CHAR_STR)
    for name, pv in zip(names, pvs, strict=True):
        if not pv.wait_for_connection(timeout=_left(deadline)):
            results.append(ca_nothing(name, ECA_TIMEOUT))
            continue
        value = pv.get(
            timeout=max(_left(deadline), 0.001),
            use_monitor=False,
            as_string=as_string,
            count=count if count > 0 else None,
            with_ctrlvars=fmt == FORMAT_CTRL,
        )
        if value is None:
            results.append(ca_nothing(name, ECA_TIMEOUT))
            continue
        if datatype in (float, DBR_DOUBLE, DBR_FLOAT) and not as_string:
            value = numpy.asarray(value, float) if pv.count != 1 else float(value)
        elif datatype in (int, DBR_LONG, DBR_SHORT, DBR_ENUM) and not as_string:
            value = numpy.asarray(value, int) if pv.count != 1 else int(value)
        info = {
            "timestamp": pv.timestamp,
            "severity": pv.severity,
            "status": pv.status,
        }
        if fmt == FORMAT_CTRL:
            info.update(pv.get_ctrlvars() or {})
        count_elements = 1 if as_string and pv.count == 1 else int(pv.count or 1)
        results.append(_augment(name, value, count_elements, info, fmt))
    return results


def caget(
    pvs: Pvs,
    timeout: float | tuple[float] | None = 5,
    datatype: Any = None,
    format: int = FORMAT_RAW,
    count: int = 0,
    throw: bool = True,
) -> Any:
    """Return the current value of each PV (connections and reads in parallel).

    Waits cooperatively in a greenlet (natively in a plain thread).

    Raises:
        Timedout: a PV did not connect or answer in time (``throw=True``).
    """
    names, single = _names(pvs)
    results = _run(
        _get_all, names, _deadline(timeout), datatype, format, count, what="caget"
    )
    if throw:
        _raise_first(results)
    return _shape(results, single)


# -- caput --------------------------------------------------------------------------
def _put_all(
    names: list[str], values: list[Any], wait: bool, deadline: float | None
) -> list[ca_nothing]:
    pvs = [_get_pv(name) for name in names]
    results = []
    for name, pv, value in zip(names, pvs, values, strict=True):
        if not pv.wait_for_connection(timeout=_left(deadline)):
            results.append(ca_nothing(name, ECA_TIMEOUT))
            continue
        try:
            status = pv.put(value, wait=wait, timeout=_left(deadline))
        except Exception as exc:
            log.warning("caput %s %r failed: %s", name, value, exc)
            results.append(ca_nothing(name, ECA_PUTFAIL))
            continue
        if wait and status is not None and status < 0:
            results.append(ca_nothing(name, ECA_TIMEOUT))
        else:
            results.append(ca_nothing(name))
    return results


def caput(
    pvs: Pvs,
    values: Any,
    repeat_value: bool = False,
    datatype: Any = None,
    wait: bool = False,
    timeout: float | tuple[float] | None = 5,
    callback: Callable[[ca_nothing], Any] | None = None,
    throw: bool = True,
) -> Any:
    """Write ``values`` to the PVs (in order); return a :class:`ca_nothing` each.

    With ``wait``, each put waits for the server's completion. With
    ``callback``, puts complete in the background and ``callback(result)``
    runs once per PV in the monitor-callback greenlet of this hub; ``caput``
    then returns at once (unless ``wait``).

    Raises:
        Timedout: a PV did not connect or complete in time (``throw=True``).
        ca_nothing: a put failed (``throw=True``).
    """
    names, single = _names(pvs)
    if single:
        value_list = [values]
    elif repeat_value or isinstance(values, (str, int, float)):
        value_list = [values] * len(names)
    else:
        value_list = list(values)
        if len(value_list) != len(names):
            raise ValueError(
                f"caput: {len(names)} PVs but {len(value_list)} values "
                "(repeat_value=True writes one value to all)"
            )
    if datatype in (float, DBR_DOUBLE):
        value_list = [float(v) for v in value_list]
    elif datatype in (int, DBR_LONG):
        value_list = [int(v) for v in value_list]
    elif datatype in (str, DBR_STRING):
        value_list = [str(v) for v in value_list]
    deadline = _deadline(timeout)
    if callback is not None and not wait:
        dispatcher = _dispatcher()

        def background() -> None:
            for result in _put_all(names, value_list, True, deadline):
                dispatcher.call(callback, result)

        call_blocking_background(background)
        return _shape([ca_nothing(name) for name in names], single)
    results = _run(
        _put_all,
        names,
        value_list,
        wait or callback is not None,
        deadline,
        what="caput",
    )
    if callback is not None:
        dispatcher = _dispatcher()
        for result in results:
            dispatcher.call(callback, result)
    if throw:
        _raise_first(results)
    return _shape(results, single)


def call_blocking_background(func: Callable[[], None]) -> None:
    """Run ``func()`` in a new native thread, not waited for (errors logged)."""

    def main() -> None:
        try:
            func()
        except Exception:
            log.exception("catools background work failed")

    _native.start_new_thread(main, ())


# -- connect / cainfo -----------------------------------------------------------------
class ca_info:
    """What Channel Access knows of one PV's connection."""

    state_strings = ("never connected", "previously connected", "connected", "closed")
    datatype_strings = (
        "string",
        "short",
        "float",
        "enum",
        "char",
        "long",
        "double",
        "no access",
    )

    def __init__(self, name: str, pv: Any) -> None:
        self.name = name
        self.ok = bool(pv.connected)
        self.state = 2 if self.ok else 0
        self.host = str(pv.host or "")
        self.read = bool(pv.read_access)
        self.write = bool(pv.write_access)
        self.count = int(pv.count or 0)
        ftype = pv.ftype if pv.ftype is not None else 7
        self.datatype = int(ftype) % 7 if ftype is not None else 7

    def __bool__(self) -> bool:
        """Return whether the result is a success."""
        return self.ok

    def __str__(self) -> str:
        """Return the message."""
        return (
            f"{self.name}:\n    State: {self.state_strings[self.state]}\n"
            f"    Host: {self.host}\n    Access: {self.read}, {self.write}\n"
            f"    Data type: {self.datatype_strings[self.datatype]}\n"
            f"    Count: {self.count}"
        )


def _connect_all(names: list[str], deadline: float | None, cainfo: bool) -> list[Any]:
    pvs = [_get_pv(name) for name in names]
    results: list[Any] = []
    for name, pv in zip(names, pvs, strict=True):
        if not pv.wait_for_connection(timeout=_left(deadline)):
            results.append(ca_nothing(name, ECA_TIMEOUT))
        else:
            results.append(ca_info(name, pv) if cainfo else ca_nothing(name))
    return results


def connect(
    pvs: Pvs,
    cainfo: bool = False,
    wait: bool = True,
    timeout: float | tuple[float] | None = 5,
    throw: bool = True,
) -> Any:
    """Connect the PVs; return a :class:`ca_nothing` (or :class:`ca_info`) each.

    With ``wait=False`` the connections are only requested and the call
    succeeds at once.

    Raises:
        Timedout: a PV did not connect in time (``throw=True``).
    """
    names, single = _names(pvs)
    if not wait:
        _run(lambda: [_get_pv(n) for n in names], what="connect")
        return _shape([ca_nothing(name) for name in names], single)
    results = _run(_connect_all, names, _deadline(timeout), cainfo, what="connect")
    if throw:
        _raise_first(results)
    return _shape(results, single)


def cainfo(
    pvs: Pvs, timeout: float | tuple[float] | None = 5, throw: bool = True
) -> Any:
    """Return a :class:`ca_info` for each PV (``connect`` with ``cainfo=True``)."""
    return connect(pvs, cainfo=True, wait=True, timeout=timeout, throw=throw)


# -- camonitor ------------------------------------------------------------------------
class _Dispatcher:
    """Run monitor callbacks in order, in one greenlet of one hub.

    :meth:`deliver` and :meth:`call` are safe from any thread; the greenlet
    runs while subscriptions exist or work is queued.
    """

    def __init__(self, bridge: HubBridge) -> None:
        self.bridge = bridge
        self._lock = _native.allocate_lock()
        # guarded by _lock: queued work, the merge slot of each subscription
        self._queue: deque[list[Any]] = deque()
        self._slots: dict[int, list[Any]] = {}
        self._wake = Event()
        self.users = 0  # hub thread only
        self._greenlet: gevent.Greenlet | None = None  # hub thread only

    def acquire(self) -> None:
        self.users += 1
        if self._greenlet is None or self._greenlet.dead:
            self._greenlet = gevent.spawn(self._run)

    def release(self) -> None:
        self.users -= 1
        self._wake.send()

    def deliver(self, subscription: Subscription, value: Any) -> None:
        """Queue an update of ``subscription`` (merged unless it wants all)."""
        with self._lock:
            slot = (
                None if subscription.all_updates else self._slots.get(id(subscription))
            )
            if slot is not None:
                slot[2] = value
                slot[3] += 1
            else:
                slot = [_monitor_call, subscription, value, 1]
                self._queue.append(slot)
                if not subscription.all_updates:
                    self._slots[id(subscription)] = slot
        self._wake.send()

    def call(self, func: Callable[..., Any], *args: Any) -> None:
        """Queue ``func(*args)`` after the updates already queued."""
        with self._lock:
            self._queue.append([_plain_call, func, args, 0])
        self._wake.send()
        if self._greenlet is None or self._greenlet.dead:
            self.bridge.post(self._ensure_running)

    def _ensure_running(self) -> None:
        if self._greenlet is None or self._greenlet.dead:
            self._greenlet = gevent.spawn(self._run)

    def _run(self) -> None:
        while True:
            with self._lock:
                slot = self._queue.popleft() if self._queue else None
                if slot is not None and slot[0] is not _plain_call:
                    self._slots.pop(id(slot[1]), None)
            if slot is None:
                if self.users <= 0:
                    return
                self._wake.clear()
                with self._lock:
                    empty = not self._queue
                if empty:
                    self._wake.wait()
                continue
            handler, target, value, count = slot
            try:
                handler(target, value, count)
            except Exception:
                log.exception("camonitor callback %r failed", target)


def _plain_call(func: Callable[..., Any], args: tuple[Any, ...], _count: int) -> None:
    func(*args)


_dispatchers: dict[int, _Dispatcher] = {}  # by id of the bridge; guarded by GIL


def _dispatcher() -> _Dispatcher:
    bridge = get_bridge()
    dispatcher = _dispatchers.get(id(bridge))
    if dispatcher is None or dispatcher.bridge is not bridge:
        dispatcher = _dispatchers[id(bridge)] = _Dispatcher(bridge)
    return dispatcher


class Subscription:
    """One ``camonitor`` subscription; :meth:`close` ends it.

    Created in the hub thread of the caller, whose monitor greenlet runs the
    callback.

    Attributes:
        name: the PV.
        all_updates: whether every update is delivered (else merged).
    """

    def __init__(
        self,
        name: str,
        callback: Callable[..., Any],
        index: int | None,
        *,
        fmt: int,
        datatype: Any,
        all_updates: bool,
        notify_disconnect: bool,
        connect_timeout: float | None,
    ) -> None:
        self.name = name
        self.callback = callback
        self.index = index
        self.all_updates = all_updates
        self.notify_disconnect = notify_disconnect
        self.format = fmt
        self.as_string = datatype in (str, DBR_STRING, DBR_CHAR_STR)
        self._closed = False
        self._ever_connected = False
        self._dispatcher = _dispatcher()
        self._dispatcher.acquire()
        self._timer: gevent.Greenlet | None = None
        if connect_timeout is not None:
            self._timer = gevent.spawn_later(connect_timeout, self._connect_timed_out)
        epics = load_pyepics()
        self._pv = epics.PV(
            name,
            callback=self._on_value,
            connection_callback=self._on_connection,
            form="ctrl" if fmt == FORMAT_CTRL else "time",
            auto_monitor=True,
        )

    def __repr__(self) -> str:
        """Describe the object for logs."""
        state = "closed" if self._closed else "open"
        return f"<Subscription {self.name} {state}>"

    # Channel Access threads
    def _on_value(self, value: Any = None, **info: Any) -> None:
        if self._closed:
            return
        if self.as_string:
            value = info.get("char_value", value)
        count = 1 if self.as_string else int(info.get("count") or 1)
        augmented = _augment(self.name, value, count, info, self.format)
        self._dispatcher.deliver(self, augmented)

    def _on_connection(self, conn: bool = False, **info: Any) -> None:
        if self._closed:
            return
        if conn:
            self._ever_connected = True
        elif self.notify_disconnect:
            self._dispatcher.deliver(self, ca_nothing(self.name, ECA_DISCONN))

    # the monitor greenlet
    def callback_for(self, value: Any, count: int) -> None:
        """Run the user callback with ``value`` (monitor greenlet)."""
        if self._closed:
            return
        if not self.all_updates and isinstance(value, _Augmented):
            value.update_count = count
        if self.index is None:
            self.callback(value)
        else:
            self.callback(value, self.index)

    def _connect_timed_out(self) -> None:
        self._timer = None
        if not self._ever_connected and not self._closed:
            self._dispatcher.deliver(self, ca_nothing(self.name, ECA_TIMEOUT))

    def close(self) -> None:
        """End the subscription; hub thread; idempotent. No callback runs after."""
        if self._closed:
            return
        self._closed = True
        if self._timer is not None:
            self._timer.kill()
            self._timer = None
        try:
            self._pv.clear_callbacks()
            self._pv.disconnect()
        except Exception:
            log.exception("closing the subscription to %s failed", self.name)
        self._dispatcher.release()


def _monitor_call(subscription: Subscription, value: Any, count: int) -> None:
    subscription.callback_for(value, count)


def camonitor(
    pvs: Pvs,
    callback: Callable[..., Any],
    events: int | None = None,
    datatype: Any = None,
    format: int = FORMAT_RAW,
    count: int = 0,
    all_updates: bool = False,
    notify_disconnect: bool = False,
    connect_timeout: float | None = None,
) -> Any:
    """Subscribe to the PVs; return a :class:`Subscription` each.

    ``callback(value)`` for one PV, ``callback(value, index)`` for a list, in
    this hub's monitor greenlet, in order. See the module doc for
    ``all_updates`` and the ``ca_nothing`` deliveries of ``notify_disconnect``
    (disconnections) and ``connect_timeout`` (no connection in time, even
    without ``notify_disconnect``).
    """
    names, single = _names(pvs)
    subscriptions = [
        Subscription(
            name,
            callback,
            None if single else index,
            fmt=format,
            datatype=datatype,
            all_updates=all_updates,
            notify_disconnect=notify_disconnect,
            connect_timeout=connect_timeout,
        )
        for index, name in enumerate(names)
    ]
    return _shape(subscriptions, single)
