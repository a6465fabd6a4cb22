"""A hardware object written the way mxcubecore 2.x classes are (test helper)."""

import enum

from HardwareRepository.BaseHardwareObjects import ConfiguredObject, HardwareObject


class Specific(enum.Enum):
    IDLE = "IDLE"
    HOMING = "HOMING"


class MxcubeStyle(HardwareObject):
    """Reads its state from 'hardware' in get_state(); has specific states."""

    SPECIFIC_STATES = Specific

    def __init__(self, name):
        super().__init__(name)
        self.hardware_state = self.STATES.READY
        self.missing_channel = "not asked"
        self.missing_command = "not asked"

    def init(self):
        super().init()
        self.missing_channel = self.get_channel_object("absent")
        self.missing_command = self.get_command_object("absent")
        self.connect(self.get_object_by_role("no_such_role"), "valueChanged", print)
        self.log.info("initialised %s", self.name)

    def get_state(self):
        return self.hardware_state


class OldStyle(HardwareObject):
    """Code of 2012-2019: camelCase calls and connectNotify."""

    def __init__(self, name):
        HardwareObject.__init__(self, name)
        self.notified = []

    def init(self):
        self.position = self.getChannelObject("position")
        self.setIsReady(True)

    def connectNotify(self, signal):
        self.notified.append(signal)


class Exporting(HardwareObject):
    """mxcubeweb's exported methods: by the exports property and by __exported__."""

    def move_to(self, position: float, speed: int) -> tuple:
        return (position, speed)

    def home(self) -> None:
        pass

    home.__exported__ = True


class Session(HardwareObject):
    """A YAML-configured object with a pydantic configuration model."""

    class HOConfig(ConfiguredObject.HOConfig):
        beamline_name: str
        synchrotron_name: str = "ESRF"
