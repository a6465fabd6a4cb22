"""The beamline window on real demo Tango servers, driven with pytest-qt."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from qtpy import QtCore

from HardwareRepository.gui import (
    GenericPanel,
    MachineInfoPanel,
    MotorPanel,
    ShutterPanel,
)
from HardwareRepository.testing.tango_servers import find_free_port

pytestmark = [pytest.mark.qt, pytest.mark.tango]

WAIT_MS = 30_000  # generous: two cores shared with other test runs


class Seen:
    """The distinct texts a widget showed, sampled while qtbot waits."""

    def __init__(self, read) -> None:
        self._read = read
        self.values: list[str] = []

    def sample(self) -> str:
        text = self._read()
        if not self.values or self.values[-1] != text:
            self.values.append(text)
        return text


def _target_away_from(start: float, distance: float, high: float) -> float:
    return start + distance if start + distance <= high else start - distance


def test_panels_are_chosen_by_capability(open_window, demo_config, slot_errors):
    window, _ = open_window(demo_config)
    kinds = {name: type(panel) for name, panel in window.panels.items()}
    chosen = {
        "/diff-omega": MotorPanel,
        "/diff-phi": MotorPanel,
        "/sample-x": MotorPanel,
        "/sample-y": MotorPanel,
        "/energy": MotorPanel,
        "/safety-shutter": ShutterPanel,
        "/machine-info": MachineInfoPanel,
        "/beamline": GenericPanel,
    }
    assert {name: kinds[name] for name in chosen} == chosen
    # Everything else in the demo (TINE/Taco channels on plain objects) is generic.
    assert {kinds[name] for name in kinds.keys() - chosen.keys()} <= {GenericPanel}
    assert slot_errors() == []


def test_move_a_motor_through_the_window(open_window, demo_config, qtbot, slot_errors):
    window, repository = open_window(demo_config)
    phi = repository.get_hardware_object("diff-phi")
    panel = window.panel("diff-phi")
    qtbot.waitUntil(lambda: panel.state_text() == "READY (ON)", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: phi.get_value() is not None, timeout=WAIT_MS)
    start = phi.get_value()
    assert panel.position_text() == f"{start:.3f} deg"
    target = _target_away_from(start, 40.0, 170.0)

    panel.target.setValue(target)
    qtbot.mouseClick(panel.move_button, QtCore.Qt.LeftButton)
    # The click returned before the motor moved: the window did not wait.
    assert panel.position_text() == f"{start:.3f} deg"

    states = Seen(panel.state_text)
    positions = Seen(panel.position_text)

    def moving() -> bool:
        positions.sample()
        return states.sample() == "BUSY (MOVING)"

    qtbot.waitUntil(moving, timeout=WAIT_MS)

    def arrived() -> bool:
        positions.sample()
        return states.sample() == "READY (ON)" and phi.get_value() == pytest.approx(
            target, abs=1e-6
        )

    qtbot.waitUntil(arrived, timeout=WAIT_MS)
    assert states.values[-2:] == ["BUSY (MOVING)", "READY (ON)"]
    assert panel.position_text() == f"{target:.3f} deg"
    between = [
        float(text.split()[0])
        for text in positions.values
        if min(start, target) < float(text.split()[0]) < max(start, target)
    ]
    assert between, f"no intermediate position shown: {positions.values}"
    assert "background-color: #4caf50" in panel.state_label.styleSheet()

    history = window.plot_panel.sources[
        window.plot_panel.source_labels().index("Phi: position")
    ].history
    plotted = [value for _, value in history.points()]
    assert plotted[-1] == pytest.approx(target, abs=1e-6)
    assert any(min(start, target) < v < max(start, target) for v in plotted)
    assert slot_errors() == []


def test_open_the_shutter_through_the_window(
    open_window, demo_config, qtbot, slot_errors
):
    window, repository = open_window(demo_config)
    panel = window.panel("safety-shutter")
    qtbot.waitUntil(
        lambda: panel.state_text() in ("READY (OPEN)", "READY (CLOSED)"),
        timeout=WAIT_MS,
    )
    if panel.state_text() == "READY (OPEN)":  # left open by an earlier test
        qtbot.mouseClick(panel.close_button, QtCore.Qt.LeftButton)
        qtbot.waitUntil(lambda: panel.state_text() == "READY (CLOSED)", timeout=WAIT_MS)

    states = Seen(panel.state_text)
    qtbot.mouseClick(panel.open_button, QtCore.Qt.LeftButton)
    qtbot.waitUntil(lambda: states.sample() == "READY (OPEN)", timeout=WAIT_MS)
    shutter = repository.get_hardware_object("safety-shutter")
    assert shutter.get_shutter_state() == "OPEN"
    assert states.values[0] == "READY (CLOSED)"

    qtbot.mouseClick(panel.close_button, QtCore.Qt.LeftButton)
    qtbot.waitUntil(lambda: panel.state_text() == "READY (CLOSED)", timeout=WAIT_MS)
    assert window.message_text() == ""
    assert slot_errors() == []


def test_status_line_reports_disconnected_objects_and_load_errors(
    open_window, demo_servers, config_copy, tmp_path, qtbot, caplog, slot_errors
):
    unused = find_free_port()
    config = config_copy(
        tmp_path / "partly-down", demo_servers.port, {"safety-shutter.xml": unused}
    )
    (config / "broken.xml").write_text('<object class="NoSuchModule">\n</object>\n')
    window, _ = open_window(config)

    qtbot.waitUntil(
        lambda: window.disconnected_objects() == ["/safety-shutter"], timeout=WAIT_MS
    )
    text = window.status_text()
    assert "Not connected: Safety shutter" in text
    assert "Phi" not in text
    assert "Failed to load: broken" in text
    details = window.connection_status.toolTip()
    assert "broken.xml" in details
    assert "/safety-shutter: not connected (state)" in details

    # A button whose command fails reports it in the status line and the log.
    caplog.set_level(logging.ERROR, logger="HardwareRepository.gui")
    panel = window.panel("safety-shutter")
    qtbot.mouseClick(panel.open_button, QtCore.Qt.LeftButton)
    qtbot.waitUntil(
        lambda: window.message_text().startswith("open Safety shutter failed:"),
        timeout=WAIT_MS,
    )
    assert f"127.0.0.1:{unused}" in window.message_text()
    logged = [r for r in caplog.records if r.name == "HardwareRepository.gui"]
    assert logged
    assert logged[0].exc_info is not None
    assert window.isVisible()
    assert window.runner.running == 0
    assert slot_errors() == []


def test_screenshot(open_window, demo_config, qtbot, tmp_path, slot_errors):
    """Drive the demo a little and save the window (HWR_SCREENSHOT=path keeps it).

    The picture is taken while Phi moves: a yellow badge and a ramp in the plot.
    """
    window, repository = open_window(demo_config)
    qtbot.waitUntil(
        lambda: window.status_text().endswith("all channels connected"),
        timeout=WAIT_MS,
    )
    shutter = window.panel("safety-shutter")
    phi_panel = window.panel("diff-phi")
    qtbot.waitUntil(lambda: phi_panel.state_text() == "READY (ON)", timeout=WAIT_MS)
    qtbot.waitUntil(
        lambda: shutter.state_text() in ("READY (OPEN)", "READY (CLOSED)"),
        timeout=WAIT_MS,
    )
    if shutter.state_text() == "READY (CLOSED)":
        qtbot.mouseClick(shutter.open_button, QtCore.Qt.LeftButton)
        qtbot.waitUntil(lambda: shutter.state_text() == "READY (OPEN)", timeout=WAIT_MS)

    phi = repository.get_hardware_object("diff-phi")
    start = phi.get_value()
    target = _target_away_from(start, 60.0, 170.0)
    window.plot_panel.select("Phi: position")
    phi_panel.target.setValue(target)
    qtbot.mouseClick(phi_panel.move_button, QtCore.Qt.LeftButton)
    qtbot.waitUntil(
        lambda: (
            phi_panel.state_text() == "BUSY (MOVING)"
            and abs(phi.get_value() - start) > 0.6 * abs(target - start)
        ),
        timeout=WAIT_MS,
    )

    image = window.grab()
    assert not image.isNull()
    assert (image.width(), image.height()) == (window.width(), window.height())
    path = Path(os.environ.get("HWR_SCREENSHOT") or tmp_path / "screenshot.png")
    assert image.save(str(path)), f"could not write {path}"
    assert path.stat().st_size > 10_000

    qtbot.waitUntil(lambda: phi_panel.state_text() == "READY (ON)", timeout=WAIT_MS)
    qtbot.mouseClick(shutter.close_button, QtCore.Qt.LeftButton)
    qtbot.waitUntil(lambda: shutter.state_text() == "READY (CLOSED)", timeout=WAIT_MS)
    assert slot_errors() == []
