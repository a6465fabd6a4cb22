"""Blocking Tango calls and the waits around them, shared by the backends.

The ``*_call`` functions below run in a device's worker threads or the
Poller's (never in the hub); :func:`await_call`, :func:`wait_released` and
:func:`lingering` run in the caller's greenlet (or plain thread) and wait
cooperatively.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from typing import Any

import tango
from greenlet import getcurrent

from ...bridge import native
from ...errors import Timeout
from ._device import DeviceLink, PendingCall, released_links
from ._errors import TangoTimeout

__all__ = [
    "attribute_config",
    "await_call",
    "command_inout",
    "health_listener",
    "lingering",
    "read_attribute",
    "wait_released",
    "write_attribute",
]

log = logging.getLogger("HardwareRepository.Command.Tango")

# seconds close() waits for a device's worker threads to end
_CLOSE_WAIT = 5.0


def command_inout(proxy: tango.DeviceProxy, command: str, args: tuple[Any, ...]) -> Any:
    """Run ``command``: no input, ``args[0]`` as input, or ``args`` as one array."""
    if not args:
        return proxy.command_inout(command)
    if len(args) == 1:
        return proxy.command_inout(command, args[0])
    return proxy.command_inout(command, list(args))


def read_attribute(
    proxy: tango.DeviceProxy, attribute: str, extract: Any
) -> tango.DeviceAttribute:
    """Read ``attribute``, its value extracted as ``extract`` (``tango.ExtractAs``)."""
    return proxy.read_attribute(attribute, extract_as=extract)


def write_attribute(proxy: tango.DeviceProxy, attribute: str, value: Any) -> None:
    """Write ``value`` to ``attribute``; an unreachable device raises its own error."""
    try:
        proxy.write_attribute(attribute, value)
    except TypeError:
        # PyTango converts the value with the attribute's configuration; when
        # the device cannot be reached that lookup fails and PyTango reports an
        # "unsupported data_format" TypeError. Let the real cause surface.
        proxy.ping()
        raise


def attribute_config(proxy: tango.DeviceProxy, attribute: str) -> tango.AttributeInfoEx:
    """Return the configuration of ``attribute``."""
    return proxy.get_attribute_config(attribute)


def await_call(
    call: PendingCall,
    timeout: float | None,
    device: str,
    target: str,
    what: str,
) -> Any:
    """Wait for ``call``; if the wait is given up, make sure it is never sent.

    The wait ends early on a :class:`Timeout` (``timeout`` here, or the
    caller's own ``gevent.Timeout``) or when the waiting greenlet is killed.
    A call still queued is then taken back and never reaches the device: the
    error says "not sent". A call already sent cannot be recalled: the error
    says "sent, outcome unknown" (the device may still act on it).

    :param timeout: seconds; ``None`` waits until the call ends (or the
        caller's own timeout fires).
    :param device: the device, for the error.
    :param target: ``"command Name"`` or ``"attribute name"``, for the error.
    :param what: the call in words (``"write of attribute x"``), for the error.
    :raises TangoTimeout: the wait timed out (whatever its source); its
        ``sent`` says whether the call had left.
    """
    try:
        return call.result.get(timeout)
    except BaseException as exc:
        if call.result.ready():
            raise  # the call's own outcome
        sent = not call.cancel()
        if sent:
            fate = "sent, outcome unknown: the device may still carry it out"
        else:
            fate = "not sent: dropped before it reached the device"
        if not isinstance(exc, Timeout):
            log.info(
                "%s: %s abandoned (%s); %s", device, what, type(exc).__name__, fate
            )
            raise
        if timeout is None:
            text = f"{exc}; {fate}"
        else:
            text = f"{device}: {what} did not complete within {timeout:g} s; {fate}"
        error = TangoTimeout(text)
        error.set_details(device, target, ())
        error.sent = sent
        raise error from exc


def _can_wait(bridge: Any) -> bool:
    return getcurrent() is not bridge.hub


def wait_released(link: DeviceLink, ended: Any, bridge: Any) -> None:
    """Wait for a released link's threads, unless a call holds them.

    A call in flight (a command on a frozen device) may hold a thread for the
    device's whole Tango timeout: then ``close()`` returns at once and the
    repository's shutdown reports the device (:func:`lingering`).
    """
    if ended is not None and _can_wait(bridge) and not link.busy():
        ended.wait(_CLOSE_WAIT)


def lingering(timeout: float = 0.0) -> list[str]:
    """Wait for released devices' threads; describe those still running.

    Called by the repository's ``shutdown()`` after closing every item. Waits
    cooperatively in a greenlet (natively in a plain thread) up to ``timeout``
    seconds in all.

    :returns: one line per device whose worker or health threads still run,
        naming the calls in flight.
    """
    deadline = native.monotonic() + timeout
    problems = []
    for link in released_links():
        if not link.ended.wait(max(0.0, deadline - native.monotonic())):
            calls = ", ".join(link.busy()) or "none"
            problems.append(
                f"Tango device {link.device}: threads still running after "
                f"shutdown (calls in flight: {calls})"
            )
    return problems


def health_listener(
    handler: Callable[[bool, str], None],
) -> Callable[[bool, str], None]:
    """Return a health listener that calls ``handler`` in the health thread.

    ``handler`` (a bound method that hands the verdict to its hub, any thread)
    is held weakly: the device's health must not keep a forgotten item alive.
    """
    ref = weakref.WeakMethod(handler)

    def listener(alive: bool, why: str) -> None:
        method = ref()
        if method is not None:
            method(alive, why)

    return listener
