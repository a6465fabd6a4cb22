"""Runtime settings of the polling engine: name, environment key, default.

Each setting is read from its environment variable when the engine first
needs it (never at import time); :func:`configure` overrides it at run time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

__all__ = ["SETTINGS", "Setting", "configure", "get"]


@dataclass(frozen=True)
class Setting:
    """One runtime setting of the polling engine.

    :param name: the keyword accepted by :func:`configure`.
    :param env: the environment variable read when the engine starts.
    :param default: the value used when the variable is not set.
    :param minimum: the smallest accepted value.
    :param description: what it controls, with its unit.
    """

    name: str
    env: str
    default: float
    minimum: float
    description: str


SETTINGS = {
    s.name: s
    for s in (
        Setting(
            "max_threads",
            "HWR_POLLER_MAX_THREADS",
            16,
            1,
            "most OS threads the shared pool runs polled calls in (the "
            "scheduler thread is not counted)",
        ),
        Setting(
            "idle_timeout",
            "HWR_POLLER_IDLE_TIMEOUT",
            1.0,
            0.01,
            "seconds an idle pool thread (or the scheduler thread, when no "
            "poller is scheduled) waits for work before it ends",
        ),
    )
}

_overrides: dict[str, float] = {}


def get(name: str) -> float:
    """Return the current value of setting ``name``.

    :raises ValueError: the environment variable holds no number or one below
        the setting's minimum.
    """
    if name in _overrides:
        return _overrides[name]
    setting = SETTINGS[name]
    text = os.environ.get(setting.env)
    if text is None:
        return setting.default
    try:
        value = float(text)
    except ValueError:
        raise ValueError(
            f"environment variable {setting.env}={text!r} is not a number "
            f"({setting.description})"
        ) from None
    return _check(setting, value, f"environment variable {setting.env}")


def _check(setting: Setting, value: float, source: str) -> float:
    if value < setting.minimum:
        raise ValueError(
            f"{source}: {setting.name}={value!r} is below the minimum "
            f"{setting.minimum:g} ({setting.description})"
        )
    return value


def configure(**values: float | None) -> None:
    """Override settings at run time; ``None`` restores the environment/default.

    :raises TypeError: an unknown setting name.
    :raises ValueError: a value below the setting's minimum.
    """
    for name, value in values.items():
        if name not in SETTINGS:
            raise TypeError(
                f"unknown poller setting {name!r}; known: {', '.join(SETTINGS)}"
            )
        if value is None:
            _overrides.pop(name, None)
        else:
            _overrides[name] = _check(SETTINGS[name], float(value), "configure()")
