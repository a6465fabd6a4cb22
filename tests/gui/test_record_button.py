"""The window's Record button records the plotted channel (real servers, real Qt)."""

from __future__ import annotations

import h5py
import pytest
from qtpy import QtCore

pytestmark = [pytest.mark.qt, pytest.mark.tango]

WAIT_MS = 30_000


def test_record_button_records_the_plotted_channel(
    open_window, demo_config, qtbot, tmp_path, slot_errors
):
    window, _ = open_window(demo_config)
    panel = window.plot_panel
    label = next(text for text in panel.source_labels() if text.endswith(": current"))
    panel.select(label)
    bar = window.record_bar
    bar.directory = str(tmp_path)
    assert bar.button.text() == "Record"

    qtbot.mouseClick(bar.button, QtCore.Qt.MouseButton.LeftButton)
    assert bar.is_recording()
    assert bar.button.text() == "Stop"
    path = bar.recorder.path
    assert path.startswith(str(tmp_path))
    qtbot.waitUntil(
        lambda: (
            bar.recorder.info()["channels"]["/machine-info.current"]["written"] >= 3
        ),
        timeout=WAIT_MS,
    )
    assert "recording /machine-info.current" in bar.label.text()

    qtbot.mouseClick(bar.button, QtCore.Qt.MouseButton.LeftButton)
    assert not bar.is_recording()
    assert bar.button.text() == "Record"
    assert "saved" in bar.label.text()
    with h5py.File(path, "r") as f:
        assert f["entry/writer/data"][()] == b"SUCCEEDED"
        log = f["entry/logs/machine-info.current"]
        assert log["value"].shape[0] >= 3
        assert log["value"].attrs["units"] == "mA"
    assert slot_errors() == []


def test_closing_the_window_closes_a_running_recording(
    open_window, demo_config, qtbot, tmp_path
):
    window, _ = open_window(demo_config)
    panel = window.plot_panel
    label = next(text for text in panel.source_labels() if text.endswith(": position"))
    panel.select(label)
    window.record_bar.directory = str(tmp_path)
    window.record_bar.button.click()
    recorder = window.record_bar.recorder
    qtbot.waitUntil(lambda: recorder.info()["consumed"] >= 2, timeout=WAIT_MS)
    window.close()
    assert recorder.done()
    with h5py.File(recorder.path, "r") as f:
        assert f["entry/writer/data"][()] == b"SUCCEEDED"
        name = next(iter(f["entry/logs"]))
        assert name.endswith(".position")
