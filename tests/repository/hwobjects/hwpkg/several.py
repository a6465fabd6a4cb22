from HardwareRepository.BaseHardwareObjects import HardwareObject


class Second(HardwareObject):
    """Found as class="hwpkg.several.Second" (module.Class)."""
