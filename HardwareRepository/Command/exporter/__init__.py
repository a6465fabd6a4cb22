"""The Exporter protocol of MD2/MD3 microdiffractometers: wire format and client.

:mod:`.protocol` holds the framing and value rules, :mod:`.client` the
connection to one server with its reader thread, :mod:`.servers` one shared
connection per server and its deliveries into each hub. The hardware-object side
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
from .servers import (
    PropertyFollower,
    ReadingSink,
    ServerDispatch,
    SharedServer,
    acquire_server,
    release_server,
)

__all__ = [
    "EventMessage",
    "ExporterClient",
    "ExporterListener",
    "ExporterProtocolError",
    "FrameDecoder",
    "FrameError",
    "PendingReply",
    "PropertyFollower",
    "ReadingSink",
    "Request",
    "ServerDispatch",
    "SharedServer",
    "acquire_server",
    "parse_value",
    "release_server",
]
