"""Recordings of the demo beamline's channels on real Tango device servers."""

from __future__ import annotations

import datetime

import h5py
import numpy
import pytest
from recording_helpers import Collector, wait_until

from HardwareRepository.demo.servers import copy_demo_configuration, demo_devices
from HardwareRepository.HardwareRepository import (
    init_hardware_repository,
    uninit_hardware_repository,
)
from HardwareRepository.recording import (
    ChannelRecorder,
    SessionRecorder,
    SessionState,
    SubscriberState,
)
from HardwareRepository.testing.tango_servers import TangoServerProcess

pytestmark = pytest.mark.tango

MODES = ["concurrent", "parallel"]


@pytest.fixture
def repo(demo_config):
    repository = init_hardware_repository(str(demo_config))
    yield repository
    uninit_hardware_repository()


def is_subsequence(part: list, whole: list) -> bool:
    """Whether ``part`` stands in ``whole`` as one contiguous run."""
    n = len(part)
    return any(whole[k : k + n] == part for k in range(len(whole) - n + 1))


@pytest.mark.parametrize("mode", MODES)
def test_a_demo_recording_holds_the_values_the_channels_emitted(repo, tmp_path, mode):
    omega = repo.get_hardware_object("/diff-omega")
    machine = repo.get_hardware_object("/machine-info")
    position = omega.get_channel_object("position")
    current = machine.get_channel_object("current")
    state = omega.get_channel_object("state")
    wait_until(lambda: current.is_connected(), 20, "the machine current")
    wait_until(lambda: position.is_connected(), 20, "omega's position")
    collectors = {
        "diff-omega.position": Collector(position),
        "machine-info.current": Collector(current),
        "diff-omega.state": Collector(state),
    }
    path = tmp_path / "demo.h5"
    recorder = ChannelRecorder(
        [
            "/diff-omega.position",
            "/machine-info.current",
            "/diff-omega.state",
            "/machine-info.no_such_channel",
            "/no-such-object.value",
        ],
        path,
        mode,
    )
    assert len(recorder.warnings) == 2  # the two that cannot be opened
    recorder.start()
    assert recorder.state is SubscriberState.ON
    target = (omega.get_value() or 0.0) + 20.0
    omega.set_value(target, wait=True, timeout=30)
    wait_until(
        lambda: recorder.info()["channels"]["/machine-info.current"]["received"] >= 5,
        20,
        "machine current events",
    )
    recorder.stop(wait=True, timeout=20)
    for collector in collectors.values():
        collector.close()
    assert recorder.state is SubscriberState.OFF

    with h5py.File(path, "r") as f:
        entry = f["entry"]
        assert entry.attrs["NX_class"] == "NXentry"
        assert entry["writer/data"][()] == b"SUCCEEDED"
        datetime.datetime.fromisoformat(entry["start_time"][()].decode())
        datetime.datetime.fromisoformat(entry["end_time"][()].decode())
        warnings = [w.decode() for w in entry["writer/warnings"][()]]
        assert any("no_such_channel" in w for w in warnings), warnings
        assert any("no-such-object" in w for w in warnings), warnings
        assert set(entry["logs"]) == set(collectors)
        for name, collector in collectors.items():
            log = entry["logs"][name]
            assert log.attrs["NX_class"] == "NXlog"
            assert "demo/" in log.attrs["source"]
            raw = log["value"][()]
            values = [v.decode() if isinstance(v, bytes) else v for v in raw.tolist()]
            emitted = [getattr(v, "name", None) or v for v in collector.values]
            emitted = [str(v) if name.endswith("state") else v for v in emitted]
            assert values, name
            assert is_subsequence(values, emitted), (name, values[:5], emitted[:5])
            start = datetime.datetime.fromisoformat(
                log["time"].attrs["start"]
            ).timestamp()
            stamps = log["time"][()] + start
            first = emitted.index(values[0])
            expected = collector.stamps[first : first + len(values)]
            assert numpy.allclose(stamps, expected, atol=1e-5), name
        positions = entry["logs/diff-omega.position/value"]
        assert positions.attrs["units"] == "deg"  # the motor's configured unit
        current_units = entry["logs/machine-info.current/value"].attrs["units"]
        assert current_units == "mA"  # the Tango attribute's unit
        assert positions[-1] == pytest.approx(target)
        states = {s.decode() for s in entry["logs/diff-omega.state/value"][()]}
        assert "MOVING" in states
        assert "ON" in states or "STANDBY" in states or "READY" in states, states


def test_a_server_killed_mid_recording_leaves_a_gap_and_a_valid_file(tmp_path):
    """The machine's server dies and comes back while its channel is recorded."""
    info_device = [d for d in demo_devices() if d.name == "demo/machine/info"]
    with TangoServerProcess(info_device) as server:
        config = copy_demo_configuration(
            tmp_path / "config", 1, {"machine-info.xml": server.port}
        )
        repo = init_hardware_repository(str(config))
        try:
            machine = repo.get_hardware_object("/machine-info")
            message = machine.get_channel_object("message")  # polled every second
            wait_until(message.is_connected, 20, "the message channel")
            path = tmp_path / "killed-server.h5"
            recorder = ChannelRecorder(["/machine-info.message"], path, "parallel")
            recorder.start()
            server.kill()
            wait_until(lambda: not message.is_connected(), 20, "the disconnection")
            server.start()
            wait_until(message.is_connected, 30, "the reconnection")
            recorder.stop(wait=True, timeout=20)
        finally:
            uninit_hardware_repository()
    assert recorder.state is SubscriberState.OFF
    with h5py.File(path, "r") as f:
        log = f["entry/logs/machine-info.message"]
        assert log["connected"][()].tolist() == [True, False, True]
        gap = log["connection_time"][()]
        assert gap[2] > gap[1] > gap[0]
        assert f["entry/writer/data"][()] == b"SUCCEEDED"
        assert log["value"].shape[0] >= 1
        assert b"INVALID" not in log["value"][()]  # values, not qualities
        warnings = [w.decode() for w in f["entry/writer/warnings"][()]]
        assert any("disconnected" in w for w in warnings), warnings


def test_a_session_starts_one_recorder_per_recording(repo, tmp_path):
    session = SessionRecorder(repo, mode="parallel")
    changes: list[SessionState] = []
    session.add_state_listener(lambda: changes.append(session.state))
    assert session.state is SessionState.INIT
    session.start()
    assert session.state is SessionState.ON
    first = session.start_recording(["/machine-info.current"], tmp_path / "one.h5")
    second = session.start_recording(["/diff-omega.position"], tmp_path / "two.h5")
    assert first is not second
    assert session.state is SessionState.RUNNING
    stopped = session.stop_recording(tmp_path / "one.h5")
    assert stopped == [first]
    assert first.state is SubscriberState.OFF
    assert session.state is SessionState.RUNNING  # the second still runs
    session.kill_recording()
    assert second.state is SubscriberState.FAULT
    assert session.state is SessionState.FAULT
    assert "killed" in session.reason
    third = session.start_recording(["/machine-info.current"], tmp_path / "three.h5")
    assert session.state is SessionState.RUNNING
    session.stop()
    assert third.state is SubscriberState.OFF
    assert session.state is SessionState.OFF
    assert SessionState.RUNNING in changes
    assert changes[-1] is SessionState.OFF
    with h5py.File(tmp_path / "two.h5", "r") as f:
        assert f["entry/writer/data"][()] == b"FAILED"
    status = session.status()
    assert "three.h5: OFF" in status
