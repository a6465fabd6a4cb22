"""Record channels of hardware objects to NeXus files.

* :class:`Subscriber`: a listener and a consumer of events with a state machine
  (INIT/ON/OFF/FAULT), in one thread (*concurrent*) or two (*parallel*).
* :class:`ChannelRecorder`: a subscriber that writes the updates of chosen
  channels to an HDF5/NeXus file, one ``NXlog`` per channel.
* :class:`SessionRecorder`: starts one recorder per recording and follows them
  (what the recorder's Tango device serves).

Needs h5py; imports neither Qt nor any control-system library. The Tango
device is in :mod:`HardwareRepository.recording.tango_device`.
"""

from ._nexus import DiskSpaceError, RecordingError, check_free_space
from ._recorder import ChannelRecorder
from ._session import SessionRecorder, SessionState
from ._subscriber import Subscriber, SubscriberError, SubscriberState

__all__ = [
    "ChannelRecorder",
    "DiskSpaceError",
    "RecordingError",
    "SessionRecorder",
    "SessionState",
    "Subscriber",
    "SubscriberError",
    "SubscriberState",
    "check_free_space",
]
