from HardwareRepository.BaseHardwareObjects import HardwareObject


class Widget(HardwareObject):
    """Found as class="hwpkg.Widget" (module and class share the name)."""
