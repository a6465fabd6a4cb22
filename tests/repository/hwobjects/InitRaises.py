"""A hardware object whose init() fails."""

from HardwareRepository.BaseHardwareObjects import HardwareObject


class InitRaises(HardwareObject):
    def init(self):
        raise RuntimeError("detector calibration file /data/calib.h5 is missing")
