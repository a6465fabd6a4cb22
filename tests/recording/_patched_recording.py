"""Record in a process patched as argv[1] says, in both modes; print the counts."""

from __future__ import annotations

import sys

from HardwareRepository.testing.patching import patch_as

patch_as(sys.argv[1])

import os  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

import gevent  # noqa: E402
import h5py  # noqa: E402

from HardwareRepository.CommandContainer import ChannelObject  # noqa: E402
from HardwareRepository.recording import ChannelRecorder  # noqa: E402


def record(mode: str, directory: str) -> str:
    channel = ChannelObject("value")
    channel.set_connected(True)
    path = os.path.join(directory, f"{mode}.h5")
    recorder = ChannelRecorder([("/x.value", channel)], path, mode)
    recorder.start()

    def produce() -> None:  # a control-system thread
        for i in range(200):
            channel.update_threadsafe(float(i))

    producer = threading.Thread(target=produce)
    producer.start()
    producer.join()
    deadline = time.monotonic() + 30
    while channel.value != 199.0:  # the hub applies the thread's last value
        assert time.monotonic() < deadline, "the thread's values never arrived"
        gevent.sleep(0.01)
    for i in range(200, 300):
        channel.update(float(i))
        gevent.sleep(0)
    recorder.stop(wait=True, timeout=30)
    with h5py.File(path, "r") as f:
        values = f["entry/logs/x.value/value"][()]
        status = f["entry/writer/data"][()].decode()
    received = recorder.info()["channels"]["/x.value"]["received"]
    return (
        f"{mode} {recorder.state.name} {status} {received} {len(values)} {values[-1]}"
    )


with tempfile.TemporaryDirectory() as directory:
    for mode in ("concurrent", "parallel"):
        print(record(mode, directory), flush=True)
