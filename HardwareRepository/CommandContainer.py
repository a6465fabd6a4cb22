"""mxCuBE-compatible import path of the command and channel classes.

The implementation and the plug-in contract for control-system types live in
:mod:`HardwareRepository.commands`; this module re-exports the same objects
under the path mxCuBE code imports (``from HardwareRepository.CommandContainer
import CommandObject``).
"""

from .commands import (
    NOT_INITIALIZED,
    ChannelObject,
    CommandContainer,
    CommandObject,
    Quality,
)

__all__ = [
    "NOT_INITIALIZED",
    "ChannelObject",
    "CommandContainer",
    "CommandObject",
    "Quality",
]
