"""cppTango's stderr lines that tell a user nothing, and how to keep them away.

When a change-event subscription ends, an event the server had already sent
may still be in the client's ZMQ queue; cppTango then finds no callback for
it and prints, from its own event thread, straight to file descriptor 2::

    Thu Dec  3 13:50:13 2026: Event tango://h:1/d/f/m/a#dbase=no.idl5_change
    not found in event callback map !!!          (one line, cut here)

It is harmless (the event belonged to a subscription that was just closed on
purpose), it cannot be turned off or routed into logging, and in a short
``hwr`` command it appears after most runs. This module names those lines
and routes stderr through :func:`HardwareRepository.toolkit.filter_stderr`
without them. ``hwr`` and the window do it at start-up (not with
``--log-level DEBUG``); an application embedding the library (the mxCuBE GUI)
may call :func:`keep_cpptango_noise_off_stderr` once, early, from its main
thread. Importing this module does not import PyTango.
"""

from __future__ import annotations

from ..toolkit import StderrFilter, filter_stderr

__all__ = [
    "CALLBACK_MAP_LINE",
    "CALLBACK_MAP_LINE_START",
    "keep_cpptango_noise_off_stderr",
]

#: A whole line cppTango prints for an event that arrived after its
#: subscription ended (``ZmqEventConsumer::push_zmq_event``); the date is
#: ``ctime()``'s.
CALLBACK_MAP_LINE = (
    r"[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}: "
    r"Event \S+ not found in event callback map !!!"
)

#: The start of such a line: cppTango writes it in pieces (date, message,
#: newline), so a partial line like this one is held back until its end.
CALLBACK_MAP_LINE_START = r"[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}"


def keep_cpptango_noise_off_stderr() -> StderrFilter | None:
    """Leave cppTango's "not found in event callback map" lines out of stderr.

    Process-wide and installed once (see
    :func:`~HardwareRepository.toolkit.filter_stderr`); everything else on
    stderr goes through unchanged, in order. Call from the main thread.

    Returns:
        The filter, or ``None`` if it could not be started (logged).
    """
    return filter_stderr([CALLBACK_MAP_LINE], [CALLBACK_MAP_LINE_START])
