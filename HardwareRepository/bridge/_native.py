"""The former name of :mod:`HardwareRepository.bridge.native`.

Kept so that code written against the old private name still imports; new code
imports ``native`` from :mod:`HardwareRepository.bridge` (the layer contracts
reject imports of this module from outside the bridge).
"""

from .native import (
    allocate_lock,
    get_ident,
    monotonic,
    sleep,
    start_new_thread,
    thread_local,
)

__all__ = [
    "allocate_lock",
    "get_ident",
    "monotonic",
    "sleep",
    "start_new_thread",
    "thread_local",
]
