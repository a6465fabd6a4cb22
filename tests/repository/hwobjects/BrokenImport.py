"""A module whose optional dependency is missing (as mxcubeqt #228)."""

import f90nml_is_not_installed  # noqa: F401

from HardwareRepository.BaseHardwareObjects import HardwareObject


class BrokenImport(HardwareObject):
    pass
