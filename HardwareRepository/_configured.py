"""The base of objects configured from YAML, with a pydantic configuration model.

Imported on first use of ``BaseHardwareObjects.ConfiguredObject`` (it needs
pydantic, which nothing else at import time does).
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from ._node import HardwareObjectNode

__all__ = ["ConfiguredObject"]


class ConfiguredObject(HardwareObjectNode):
    """An object whose configuration is a pydantic model (mxcubecore's base).

    A subclass declares its configuration as fields of a nested ``HOConfig``
    (a subclass of :class:`ConfiguredObject.HOConfig`); undeclared keys are
    kept as extra fields. The YAML loader validates the configuration into it
    (``obj.config``, and each value as a property). On its own (mxcubecore's
    procedures) it is a configuration node with roles; mixed with
    :class:`~HardwareRepository.BaseHardwareObjects.HardwareObject` it is a
    hardware object too. Hub thread.

    :param name: the role of the object in its container.
    """

    class HOConfig(BaseModel):
        """The configuration model: declared fields plus any extra key."""

        model_config: ClassVar[ConfigDict] = ConfigDict(
            extra="allow", arbitrary_types_allowed=True
        )
