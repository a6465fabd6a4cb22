"""The registry of command/channel types: a name in XML -> a provider.

A provider is a module (given by its dotted path and imported on first use, so
an absent client library only matters to configurations that use it) or any
object with ``make_command`` / ``make_channel`` factories. The contract a
provider fulfils is written at the top of
:mod:`HardwareRepository.commands`.

Built in: ``sim``, ``tango``, ``taco`` and ``tine`` (the modules of
:mod:`HardwareRepository.Command`, named by path so this module imports none
of them). Third parties add theirs with
:func:`register_type`. There is no chain of ``if type == ...`` anywhere: the
loader asks :func:`get_type`.

Registry functions are safe from any thread (a native lock guards the tables).
"""

from __future__ import annotations

import importlib
from typing import Any

from ..bridge import native
from ..errors import ConfigError

__all__ = [
    "get_type",
    "lingering",
    "register_type",
    "registered_types",
    "unregister_type",
]

# name -> dotted module path or provider object; guarded by _lock.
_registry: dict[str, Any] = {
    "sim": "HardwareRepository.Command.Sim",
    "tango": "HardwareRepository.Command.Tango",
    "taco": "HardwareRepository.Command.Taco",
    "tine": "HardwareRepository.Command.Tine",
}
_loaded: dict[str, Any] = {}  # name -> imported provider; guarded by _lock
_lock = native.allocate_lock()


def register_type(name: str, provider: Any, *, replace: bool = False) -> None:
    """Bind the XML type ``name`` to ``provider``.

    :param name: the ``type=`` value, case-insensitive.
    :param provider: a dotted module path (imported lazily) or an object with
        ``make_command`` and/or ``make_channel``.
    :param replace: allow rebinding a name that is already registered.
    :raises ValueError: ``name`` is taken and ``replace`` is false.
    :raises TypeError: ``provider`` is neither a string nor has a factory.
    """
    key = name.lower()
    if not isinstance(provider, str) and not (
        hasattr(provider, "make_command") or hasattr(provider, "make_channel")
    ):
        raise TypeError(
            f"provider {provider!r} for type {name!r} has neither make_command "
            "nor make_channel"
        )
    with _lock:
        if key in _registry and not replace:
            raise ValueError(
                f"command/channel type {name!r} is already registered "
                f"({_registry[key]!r}); pass replace=True to rebind it"
            )
        _registry[key] = provider
        _loaded.pop(key, None)


def unregister_type(name: str) -> None:
    """Forget the type ``name`` (a no-op if unknown)."""
    key = name.lower()
    with _lock:
        _registry.pop(key, None)
        _loaded.pop(key, None)


def registered_types() -> list[str]:
    """Return the registered type names, sorted."""
    with _lock:
        return sorted(_registry)


def get_type(name: str) -> Any:
    """Return the provider of type ``name``, importing its module if needed.

    :raises ConfigError: the type is unknown, or its module failed to import
        (the import error is the ``__cause__``; e.g. a missing client library).
    """
    key = name.lower()
    with _lock:
        provider = _loaded.get(key)
        if provider is not None:
            return provider
        target = _registry.get(key)
    if target is None:
        raise ConfigError(
            f"unknown command/channel type {name!r} "
            f"(registered: {', '.join(registered_types())})"
        )
    if isinstance(target, str):
        try:
            provider = importlib.import_module(target)
        except Exception as exc:
            raise ConfigError(
                f"command/channel type {name!r} is unavailable: importing "
                f"{target} failed: {exc!r}"
            ) from exc
    else:
        provider = target
    with _lock:
        _loaded[key] = provider
    return provider


def lingering(timeout: float = 0.0) -> list[str]:
    """Ask every type in use what it left running after its items closed.

    Each provider imported so far may define ``lingering(timeout) ->
    list[str]`` (threads still running, naming device and call); the
    repository's shutdown reports them. Safe from any thread.

    Args:
        timeout: seconds to wait in all for what is still running to end.

    Returns:
        One problem per line, from every provider.
    """
    with _lock:
        providers = list(_loaded.values())
    deadline = native.monotonic() + timeout
    problems: list[str] = []
    for provider in providers:
        report = getattr(provider, "lingering", None)
        if callable(report):
            problems.extend(report(max(0.0, deadline - native.monotonic())))
    return problems
