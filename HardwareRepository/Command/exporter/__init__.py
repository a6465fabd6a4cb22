"""The Exporter protocol of MD2/MD3 microdiffractometers: wire format and client.

:mod:`.protocol` holds the framing and value rules, :mod:`.client` the
connection to one server with its reader thread. The hardware-object side
(commands, channels, the mxCuBE ``Exporter`` class) is
:mod:`HardwareRepository.Command.Exporter`.
"""

from .client import (
    ExporterClient,
    ExporterListener,
    ExporterProtocolError,
    PendingReply,
)
from .protocol import EventMessage, FrameDecoder, FrameError, Request, parse_value

__all__ = [
    "EventMessage",
    "ExporterClient",
    "ExporterListener",
    "ExporterProtocolError",
    "FrameDecoder",
    "FrameError",
    "PendingReply",
    "Request",
    "parse_value",
]
