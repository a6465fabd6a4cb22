"""EPICS Channel Access through pyepics, without the hub.

:class:`PVLink` wraps one ``epics.PV``. Its value and connection callbacks run
in Channel Access's own threads; the caller turns them into hub deliveries
(:mod:`HardwareRepository.Command.Epics` for channels,
:mod:`HardwareRepository.compat.cothread.catools` for ``camonitor``). Its
blocking calls (:meth:`PVLink.get`, :meth:`PVLink.put` with ``wait``,
:meth:`PVLink.wait_connected`) must run off the hub: :func:`call_blocking`
runs one in a worker thread and waits cooperatively.

pyepics is imported on first use (:func:`load_pyepics`), so an application
without EPICS channels never loads libca. libca reads ``EPICS_CA_ADDR_LIST``
and ``EPICS_CA_AUTO_ADDR_LIST`` once, when its context is created: set them
before the first EPICS channel of the process.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any, TypeVar

from ..bridge import native as _native
from ..errors import CommandFailedError, NotConnectedError, Timeout
from ._common import call_and_wait

__all__ = [
    "SEVERITY_NAMES",
    "PVLink",
    "call_blocking",
    "default_address_list",
    "load_pyepics",
]

log = logging.getLogger("HardwareRepository.epics")

T = TypeVar("T")

#: EPICS alarm severities: NO_ALARM, MINOR, MAJOR, INVALID
SEVERITY_NAMES = ("NO_ALARM", "MINOR", "MAJOR", "INVALID")

_load_lock = _native.allocate_lock()
_epics: ModuleType | None = None  # guarded by _load_lock


def load_pyepics() -> ModuleType:
    """Return the ``epics`` module (pyepics) with its libca context created.

    Safe from any thread; the first call creates Channel Access's context.

    Raises:
        ImportError: pyepics is not installed (the message says so).
    """
    global _epics
    with _load_lock:
        if _epics is None:
            try:
                import epics
            except ImportError as exc:
                raise ImportError(
                    "EPICS channels need pyepics (pip install pyepics), which "
                    f"could not be imported: {exc}"
                ) from exc
            _create_context(epics)
            _epics = epics
        return _epics


def _create_context(epics: ModuleType) -> None:
    """Create libca's context, quietly when no ``caRepeater`` can be started.

    libca starts the CA repeater (``caRepeater`` on the PATH) when its first
    channel is created; pyepics' wheel ships none for Linux, and the failed
    start prints four lines on the standard error. So the context and one
    short-lived channel are created here with the standard error muted.
    Without a repeater, beacons are not seen and a server that comes back is
    found by libca's search retries.
    """
    if shutil.which("caRepeater") is not None:
        epics.ca.initialize_libca()
        return
    log.debug("no caRepeater on the PATH: Channel Access runs without a repeater")
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        epics.ca.initialize_libca()
        chid = epics.ca.create_channel("HWR:ca-context-start", connect=False)
        epics.ca.clear_channel(chid)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def default_address_list(addresses: str) -> None:
    """Make ``addresses`` the Channel Access address list, unless one is set.

    Sets ``EPICS_CA_ADDR_LIST`` and ``EPICS_CA_AUTO_ADDR_LIST=NO`` when the
    environment sets neither, so a configuration can keep its searches on
    known servers (the demo: loopback only). Has no effect once libca's
    context exists (it read the environment then), which is logged.
    """
    with _load_lock:
        if (
            "EPICS_CA_ADDR_LIST" in os.environ
            or "EPICS_CA_AUTO_ADDR_LIST" in os.environ
        ):
            return
        if _epics is not None:
            log.warning(
                "EPICS address list %r comes too late: Channel Access already "
                "started with the environment's settings",
                addresses,
            )
            return
        os.environ["EPICS_CA_ADDR_LIST"] = addresses
        os.environ["EPICS_CA_AUTO_ADDR_LIST"] = "NO"


def call_blocking(
    func: Callable[..., T], *args: Any, source: str, limit: float | None
) -> T:
    """Run the blocking ``func(*args)`` in a new thread and wait for it.

    The wait is cooperative in a greenlet and native in a plain thread; the
    call itself is never interrupted (pyepics has its own timeouts).

    Raises:
        Timeout: no answer within ``limit`` seconds.
    """
    return call_and_wait(func, *args, source=source, limit=limit)


ValueCallback = Callable[[Any, int, float], None]
ConnectionCallback = Callable[[bool], None]


class PVLink:
    """One process variable; safe to use from any thread.

    ``on_value(value, severity, timestamp)`` and ``on_connection(connected)``
    run in a Channel Access thread: they must be quick and must not block.
    Values arrive while ``monitor`` is true (a CA subscription); otherwise read
    them with :meth:`get`.

    Args:
        pvname: the PV name (``"BL:m1.RBV"``).
        on_value: receives each monitored value.
        on_connection: receives each connection change.
        monitor: subscribe to value changes.
        as_string: deliver and read values as strings (enum labels,
            char-array text).
    """

    def __init__(
        self,
        pvname: str,
        *,
        on_value: ValueCallback | None = None,
        on_connection: ConnectionCallback | None = None,
        monitor: bool = True,
        as_string: bool = False,
    ) -> None:
        epics = load_pyepics()
        self.pvname = pvname
        self.as_string = as_string
        self._on_value = on_value
        self._on_connection = on_connection
        self._closed = False
        self._pv = epics.PV(
            pvname,
            callback=self._value_changed if on_value is not None else None,
            connection_callback=self._connection_changed,
            form="time",
            auto_monitor=monitor,
        )

    def __repr__(self) -> str:
        """Describe the object for logs."""
        state = "connected" if self.connected else "not connected"
        return f"<PVLink {self.pvname} {state}>"

    @property
    def connected(self) -> bool:
        """Whether Channel Access has the PV connected now."""
        return bool(self._pv.connected) and not self._closed

    @property
    def host(self) -> str:
        """The server serving the PV (``host:port``), or ``""``."""
        return str(self._pv.host or "")

    def _value_changed(self, value: Any = None, **info: Any) -> None:
        if self._closed or self._on_value is None:
            return
        if self.as_string:
            value = info.get("char_value", value)
        severity = int(info.get("severity") or 0)
        stamp = info.get("timestamp") or time.time()
        try:
            self._on_value(value, severity, float(stamp))
        except Exception:
            log.exception("EPICS %s: value callback failed", self.pvname)

    def _connection_changed(self, conn: bool = False, **info: Any) -> None:
        if self._closed or self._on_connection is None:
            return
        try:
            self._on_connection(bool(conn))
        except Exception:
            log.exception("EPICS %s: connection callback failed", self.pvname)

    def wait_connected(self, timeout: float) -> bool:
        """Wait (blocking) until connected; return whether it is."""
        return bool(self._pv.wait_for_connection(timeout=timeout))

    def get(self, timeout: float, *, count: int | None = None) -> Any:
        """Read the value from the server (blocking, not the monitor's cache).

        Raises:
            NotConnectedError: the PV is not connected within ``timeout``.
            Timeout: the server did not answer within ``timeout``.
        """
        if not self._pv.wait_for_connection(timeout=timeout):
            raise NotConnectedError(
                f"EPICS PV {self.pvname}: not connected within {timeout:g} s"
            )
        value = self._pv.get(
            timeout=timeout,
            use_monitor=False,
            as_string=self.as_string,
            count=count,
        )
        if value is None:
            raise Timeout(f"EPICS PV {self.pvname}: no value within {timeout:g} s")
        return value

    def put(self, value: Any, *, wait: bool, timeout: float) -> None:
        """Write ``value``; with ``wait``, until the server reports completion.

        Blocks while connecting and, with ``wait``, until the put completes.

        Raises:
            NotConnectedError: the PV is not connected within ``timeout``.
            Timeout: ``wait`` and the put did not complete within ``timeout``.
            CommandFailedError: Channel Access refused the put.
        """
        if not self._pv.wait_for_connection(timeout=timeout):
            raise NotConnectedError(
                f"EPICS PV {self.pvname}: not connected within {timeout:g} s"
            )
        try:
            status = self._pv.put(value, wait=wait, timeout=timeout)
        except Exception as exc:
            raise CommandFailedError(
                f"EPICS PV {self.pvname}: put {value!r} failed: {exc}"
            ) from exc
        if wait and status is not None and status < 0:
            raise Timeout(
                f"EPICS PV {self.pvname}: put {value!r} not completed within "
                f"{timeout:g} s"
            )

    def close(self) -> None:
        """Drop the callbacks and disconnect the PV; idempotent, any thread."""
        if self._closed:
            return
        self._closed = True
        try:
            self._pv.clear_callbacks()
            self._pv.disconnect()
        except Exception:
            log.exception("EPICS %s: disconnect failed", self.pvname)
