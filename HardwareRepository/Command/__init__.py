"""One module per control system: ``Sim``, ``Tango``, ``Taco``, ``Tine``.

The registry of command/channel types lives in :mod:`HardwareRepository.commands`
(below these backends, so the object layer never imports a backend); its
functions are re-exported here because mxCuBE-style code and configurations
register their types as ``HardwareRepository.Command.register_type``.
"""

from ..commands import (
    get_type,
    lingering,
    register_type,
    registered_types,
    unregister_type,
)

__all__ = [
    "get_type",
    "lingering",
    "register_type",
    "registered_types",
    "unregister_type",
]
