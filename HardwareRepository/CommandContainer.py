"""mxCuBE-compatible import path of the command and channel classes.

The implementation and the plug-in contract for control-system types live in
:mod:`HardwareRepository.commands`; this module re-exports the same objects
under the path mxCuBE code imports (``from HardwareRepository.CommandContainer
import CommandObject``).
"""

from .commands import (
    ARGUMENT_TYPE_JSON_SCHEMA,
    ARGUMENT_TYPE_LIST,
    NOT_INITIALIZED,
    PROCEDURE_COMMAND_T,
    TWO_STATE_COMMAND_T,
    ChannelObject,
    CommandContainer,
    CommandObject,
    Quality,
)

__all__ = [
    "ARGUMENT_TYPE_JSON_SCHEMA",
    "ARGUMENT_TYPE_LIST",
    "NOT_INITIALIZED",
    "PROCEDURE_COMMAND_T",
    "TWO_STATE_COMMAND_T",
    "ChannelObject",
    "CommandContainer",
    "CommandObject",
    "Quality",
]
