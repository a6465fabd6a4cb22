"""A hardware object that records what it found at init() (test helper)."""

from HardwareRepository.BaseHardwareObjects import HardwareObject


class RecordingObject(HardwareObject):
    """Records the lifecycle: what existed when init() ran."""

    instances: list = []

    def __init__(self, name):
        super().__init__(name)
        self.seen_at_init = None
        self.updates = []
        RecordingObject.instances.append(self)

    def init(self):
        self.seen_at_init = {
            "roles": self.get_roles(),
            "channels": self.get_channel_names_list(),
            "commands": self.get_command_names_list(),
            "speed": self.get_property("speed"),
        }
        channel = self.get_channel_object("position", optional=True)
        if channel is not None:
            channel.connect_signal("update", self.position_changed)

    def position_changed(self, value):
        self.updates.append(value)
        self.emit("valueChanged", value)

    def connect_notify(self, signal):
        if signal == "valueChanged" and self.updates:
            self.emit("valueChanged", self.updates[-1])
