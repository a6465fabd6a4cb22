"""The base of objects configured from YAML, with a pydantic configuration model.

Imported on first use of ``BaseHardwareObjects.ConfiguredObject`` (it needs
pydantic, which nothing else at import time does).
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

__all__ = ["ConfiguredObject"]


class ConfiguredObject:
    """Mixin of objects whose configuration is a pydantic model (mxcubecore).

    A subclass declares its configuration as fields of a nested ``HOConfig``
    (a subclass of :class:`ConfiguredObject.HOConfig`); undeclared keys are
    kept as extra fields. The YAML loader builds ``HOConfig(**configuration)``
    and stores it as ``_config``; :meth:`get_property` reads it.

    :param name: the role of the object in its container.
    """

    class HOConfig(BaseModel):
        """The configuration model: declared fields plus any extra key."""

        model_config: ClassVar[ConfigDict] = ConfigDict(
            extra="allow", arbitrary_types_allowed=True
        )

    def __init__(self, name: str) -> None:
        self._name = name
        self._config: Any = None

    def get_property(self, name: str, default: Any = None) -> Any:
        """Return configuration value ``name``, or ``default``."""
        config = self._config
        if config is not None and hasattr(config, name):
            return getattr(config, name)
        return default
