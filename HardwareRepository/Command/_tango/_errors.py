"""Tango errors -> the package's exceptions, naming device, item and reasons."""

from __future__ import annotations

from typing import Any

import tango

from ...errors import (
    CommandFailedError,
    CommunicationError,
    NotConnectedError,
    Timeout,
)

__all__ = [
    "FALLBACK_REASONS",
    "TangoCommandFailedError",
    "TangoCommunicationError",
    "TangoErrorDetails",
    "TangoNotConnectedError",
    "TangoTimeout",
    "error_stack",
    "stack_of",
    "translate",
]

#: Subscription failures meaning "this server does not send change events for
#: that attribute": the channel polls it itself instead (taurus #1092, #412).
FALLBACK_REASONS = frozenset(
    {
        "API_AttributePollingNotStarted",
        "API_EventPropertiesNotSet",
        "API_PollObjNotFound",
    }
)

_TIMEOUT_REASONS = frozenset({"API_DeviceTimedOut"})

# Reasons meaning "the device cannot be reached", as opposed to "it answered
# with an error".
_CONNECTION_REASONS = frozenset(
    {
        "API_CantConnectToDevice",
        "API_CantConnectToDatabase",
        "API_ConnectionFailed",
        "API_CommunicationFailed",
        "API_CorbaException",
        "API_DeviceNotExported",
        "API_EventTimeout",
        "API_ServerNotRunning",
        "API_ZmqFailed",
    }
)


def error_stack(exc: BaseException) -> tuple[tuple[str, str, str], ...]:
    """Return ``(reason, desc, origin)`` for each error of a ``DevFailed``.

    Empty for any other exception.
    """
    if not isinstance(exc, tango.DevFailed):
        return ()
    return stack_of(exc.args)


def stack_of(errors: Any) -> tuple[tuple[str, str, str], ...]:
    """Return ``(reason, desc, origin)`` for each ``DevError`` of ``errors``."""
    return tuple((e.reason, e.desc.strip(), e.origin) for e in errors)


class TangoErrorDetails:
    """Where a Tango failure happened and what Tango said (mixin of the errors).

    :ivar device: the device name as configured.
    :ivar target: ``"command <Name>"`` or ``"attribute <name>"``.
    :ivar reasons: Tango's error reasons, outermost first (empty for a failure
        that is not a Tango ``DevFailed``, e.g. a wrong argument type).
    :ivar errors: ``(reason, desc, origin)`` triples, outermost first.
    """

    device: str
    target: str
    reasons: tuple[str, ...]
    errors: tuple[tuple[str, str, str], ...]

    def set_details(
        self, device: str, target: str, errors: tuple[tuple[str, str, str], ...]
    ) -> None:
        """Record where the failure happened and Tango's errors (see the class)."""
        self.device = device
        self.target = target
        self.errors = errors
        self.reasons = tuple(e[0] for e in errors)


class TangoCommandFailedError(TangoErrorDetails, CommandFailedError):
    """A Tango command reached its device and failed there."""


class TangoCommunicationError(TangoErrorDetails, CommunicationError):
    """A Tango attribute read, write or query failed."""


class TangoNotConnectedError(TangoErrorDetails, NotConnectedError):
    """The Tango device could not be reached."""


class TangoTimeout(TangoErrorDetails, Timeout):
    """A Tango call did not complete in time.

    :ivar sent: when the caller gave up waiting: ``False`` if the call was
        still queued and was dropped (it never reaches the device), ``True``
        if it had been sent (its outcome is unknown); ``None`` when Tango
        itself reported the timeout (the call was sent).
    """

    sent: bool | None = None


def _describe(errors: tuple[tuple[str, str, str], ...], exc: BaseException) -> str:
    if not errors:
        return f"{type(exc).__name__}: {exc}"
    # The innermost error is the device's own; the outer ones say how it travelled.
    return "; ".join(f"{reason}: {desc}" for reason, desc, _ in errors)


def translate(
    exc: BaseException, device: str, target: str, *, command: bool = False
) -> Exception:
    """Return the package exception for ``exc`` raised by a Tango call.

    The result names ``device`` and ``target`` and carries Tango's reasons
    (:class:`TangoErrorDetails`); the caller raises it ``from exc``.

    :param target: ``"command Name"`` or ``"attribute name"``.
    :param command: a command execution (failures become
        :class:`TangoCommandFailedError` rather than
        :class:`TangoCommunicationError`).
    """
    errors = error_stack(exc)
    reasons = {e[0] for e in errors}
    text = _describe(errors, exc)
    cls: Any
    if reasons & _TIMEOUT_REASONS:
        cls, verb = TangoTimeout, "timed out"
    elif reasons & _CONNECTION_REASONS or isinstance(exc, tango.ConnectionFailed):
        cls, verb = TangoNotConnectedError, "cannot reach the device"
    elif command:
        cls, verb = TangoCommandFailedError, "failed"
    else:
        cls, verb = TangoCommunicationError, "failed"
    error = cls(f"{device}: {target} {verb}: {text}")
    error.set_details(device, target, errors)
    return error
