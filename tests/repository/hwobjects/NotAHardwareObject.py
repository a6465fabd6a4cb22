"""A module with a class of the right name that is not a hardware object."""


class NotAHardwareObject:
    def __init__(self, name):
        self.name = name
