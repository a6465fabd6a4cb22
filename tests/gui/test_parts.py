"""The window's parts on simulated channels (no Tango): panels, plot, run_gui."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy
import pytest
import tango
from qtpy import QtCore

from HardwareRepository import qtloop
from HardwareRepository.BaseHardwareObjects import HardwareObjectState
from HardwareRepository.errors import HardwareRepositoryError
from HardwareRepository.gui import (
    BeamlineWindow,
    GenericPanel,
    History,
    LivePlot,
    MotorPanel,
    run_gui,
)
from HardwareRepository.gui._style import state_colour
from HardwareRepository.gui.panels import format_value
from HardwareRepository.HardwareRepository import (
    HardwareRepository,
    get_hardware_repository,
)

pytestmark = pytest.mark.qt

WAIT_MS = 20_000

SIM_MOTOR = """\
<device class="TangoMotor">
  <username>Sim motor</username>
  <unit>mm</unit>
  <channel type="sim" name="position" value="1.5">Position</channel>
  <channel type="sim" name="state" value="ON">State</channel>
  <command type="sim" name="stop" fail="motor is stalled">Stop</command>
</device>
"""

THING = """\
<object>
  <username>Thing</username>
  <channel type="sim" name="counts" value="5">Counts</channel>
  <channel type="sim" name="beam" connected="False">Beam</channel>
</object>
"""


@pytest.fixture
def sim_config(tmp_path: Path) -> Path:
    """A configuration of simulated objects: a motor and a generic object."""
    (tmp_path / "sim-motor.xml").write_text(SIM_MOTOR)
    (tmp_path / "thing.xml").write_text(THING)
    return tmp_path


def test_generic_panel_shows_channel_values_and_the_status_line_the_disconnected(
    qt_hub, qtbot, sim_config, slot_errors
):
    repository = HardwareRepository(str(sim_config))
    repository.load_all()
    thing = repository.get_hardware_object("thing")
    window = BeamlineWindow([thing])
    try:
        panel = window.panel("thing")
        assert isinstance(panel, GenericPanel)
        counts = panel.value_labels["counts"]
        assert counts.text() == "5"
        assert panel.value_labels["beam"].text() == "not connected"
        assert window.status_text() == "Not connected: Thing"
        assert window.disconnected_objects() == ["/thing"]
        assert panel.state_label.isHidden()  # UNKNOWN: the channels say more

        thing.get_channel_object("counts").update(7.25)
        assert counts.text() == "7.25"
        beam = thing.get_channel_object("beam")
        beam.set_connected(True)
        beam.update(3)
        assert panel.value_labels["beam"].text() == "3"
        assert window.status_text() == "1 object, all channels connected"

        thing.update_state(HardwareObjectState.FAULT)
        assert panel.state_text() == "FAULT"
        assert not panel.state_label.isHidden()
        assert "#e53935" in panel.state_label.styleSheet()
    finally:
        window.close()
        repository.shutdown()
    # Closed: the window no longer follows the object.
    thing.get_channel_object("counts").update(9)
    assert counts.text() == "7.25"
    assert slot_errors() == []


def test_a_failing_button_reports_in_the_status_line_and_the_log(
    qt_hub, qtbot, sim_config, caplog, slot_errors
):
    caplog.set_level(logging.ERROR, logger="HardwareRepository.gui")
    repository = HardwareRepository(str(sim_config))
    repository.load_all()
    window = BeamlineWindow.from_repository(repository)
    try:
        panel = window.panel("sim-motor")
        assert isinstance(panel, MotorPanel)
        assert panel.position_text() == "1.500 mm"
        assert panel.state_text() == "READY (ON)"
        qtbot.mouseClick(panel.stop_button, QtCore.Qt.LeftButton)
        qtbot.waitUntil(lambda: window.message_text() != "", timeout=WAIT_MS)
        assert window.message_text() == (
            "stop Sim motor failed: CommandFailedError: "
            "sim command 'stop' (Stop): motor is stalled"
        )
        records = [r for r in caplog.records if r.name == "HardwareRepository.gui"]
        assert [r.getMessage() for r in records] == ["stop Sim motor failed"]
        assert records[0].exc_info is not None

        panel.target.setValue(2.25)
        qtbot.mouseClick(panel.move_button, QtCore.Qt.LeftButton)
        qtbot.waitUntil(lambda: panel.position_text() == "2.250 mm", timeout=WAIT_MS)
    finally:
        window.close()
        repository.shutdown()
    assert slot_errors() == []


def test_run_gui_loads_shows_and_cleans_up(plain_hub_aside, qapp, sim_config):
    seen = {}

    def on_ready(window: BeamlineWindow) -> None:
        seen["hub"] = qtloop.installed_hub()
        seen["panels"] = sorted(window.panels)
        seen["status"] = window.status_text()
        seen["visible"] = window.isVisible()
        QtCore.QTimer.singleShot(0, qapp.quit)

    assert run_gui(str(sim_config), title="test", on_ready=on_ready) == 0
    assert seen["hub"] is not None
    assert seen["panels"] == ["/sim-motor", "/thing"]
    assert seen["status"] == "Not connected: Thing"
    assert seen["visible"]
    assert qtloop.installed_hub() is None
    with pytest.raises(HardwareRepositoryError):
        get_hardware_repository()


def test_run_gui_quits_after_duration(plain_hub_aside, qapp, sim_config):
    shown = []
    started = time.monotonic()
    code = run_gui(str(sim_config), duration=0.3, on_ready=shown.append)
    assert code == 0
    assert len(shown) == 1
    assert time.monotonic() - started >= 0.3
    assert qtloop.installed_hub() is None


def test_history_keeps_the_last_span_seconds():
    history = History(span=10.0)
    for t in range(30):
        history.add(t * 2, when=100.0 + t)
    points = history.points()
    assert points[0] == (119.0, 38.0)
    assert points[-1] == (129.0, 58.0)
    assert len(history) == 11
    with pytest.raises(ValueError, match="positive"):
        History(span=0)


def test_live_plot_draws_points_and_nothing(qapp, qtbot):
    plot = LivePlot(span=5.0)
    qtbot.addWidget(plot)
    plot.resize(300, 160)
    empty = plot.grab().toImage()
    now = time.monotonic()
    for i in range(20):
        plot.add_point(190.0 + i, when=now - 4.0 + i * 0.2)
    drawn = plot.grab().toImage()
    assert empty.size() == drawn.size()
    assert empty != drawn
    line = plot.LINE.rgb()
    assert any(
        drawn.pixel(x, y) == line
        for x in range(drawn.width())
        for y in range(drawn.height())
    )
    assert not any(
        empty.pixel(x, y) == line
        for x in range(empty.width())
        for y in range(empty.height())
    )


@pytest.mark.parametrize(
    ("state", "name", "colour"),
    [
        (HardwareObjectState.READY, "ON", "#4caf50"),
        (HardwareObjectState.BUSY, "MOVING", "#fdd835"),
        (HardwareObjectState.WARNING, "ALARM", "#fb8c00"),
        (HardwareObjectState.FAULT, "", "#e53935"),
        (HardwareObjectState.OFF, "", "#78909c"),
        (HardwareObjectState.UNKNOWN, "", "#bdbdbd"),
        (HardwareObjectState.UNKNOWN, "DISCONNECTED", "#a1887f"),
        (HardwareObjectState.READY, "ALARM", "#fb8c00"),
        (HardwareObjectState.READY, "OPEN", "#4caf50"),
        (HardwareObjectState.READY, "CLOSED", "#64b5f6"),
    ],
)
def test_state_colours(state, name, colour):
    assert state_colour(state, name) == colour


def test_different_states_have_different_colours():
    shown = [(state, "") for state in HardwareObjectState] + [
        (HardwareObjectState.READY, "CLOSED"),
        (HardwareObjectState.UNKNOWN, "DISCONNECTED"),
    ]
    colours = [state_colour(state, name) for state, name in shown]
    assert len(set(colours)) == len(colours), dict(zip(shown, colours, strict=True))


@pytest.mark.parametrize(
    ("value", "decimals", "text"),
    [
        (None, None, "—"),
        (HardwareObjectState.BUSY, None, "BUSY"),
        (3, None, "3"),
        (2.5, None, "2.5"),
        (1 / 3, None, "0.333333"),
        (1.23456, 2, "1.23"),
        (True, None, "True"),
        ("x" * 70, None, "x" * 57 + "..."),
    ],
)
def test_format_value(value, decimals, text):
    assert format_value(value, decimals) == text


def test_format_value_of_tango_and_numpy_values():
    # Imported at module level: importing tango opens omniORB's pipes for good.
    assert format_value(tango.DevState.MOVING) == "MOVING"
    assert format_value(numpy.float64(0.5), 3) == "0.500"
    assert format_value(numpy.zeros((2, 3))) == "array 2x3"


SIM_MACHINE = """\
<object class="MachineInfo">
  <channel type="sim" name="current" value="199.5">Current</channel>
  <channel type="sim" name="message" value="Beam delivered">Message</channel>
</object>
"""


def test_panels_grey_the_last_value_while_not_connected(
    qt_hub, qtbot, sim_config, slot_errors
):
    # The window must never show a stale value as a live one.
    (sim_config / "machine.xml").write_text(SIM_MACHINE)
    repository = HardwareRepository(str(sim_config))
    repository.load_all()
    window = BeamlineWindow.from_repository(repository)
    try:
        motor = window.panel("sim-motor")
        machine = window.panel("machine")
        assert motor.position_label.styleSheet() == ""
        assert machine.current_label.text() == "199.50 mA"
        assert machine.current_label.styleSheet() == ""
        assert machine.state_text() == "READY"

        motor_obj = repository.get_hardware_object("sim-motor")
        motor_obj.position_channel.set_connected(False)
        assert motor.state_text() == "UNKNOWN (DISCONNECTED)"
        assert motor.position_text() == "1.500 mm"
        assert "gray" in motor.position_label.styleSheet()
        assert "not connected" in motor.position_label.toolTip()

        machine_obj = repository.get_hardware_object("machine")
        machine_obj.current_channel.set_connected(False)
        assert machine.state_text() == "UNKNOWN (DISCONNECTED)"
        assert "gray" in machine.current_label.styleSheet()
        assert "not connected" in machine.current_label.toolTip()

        machine_obj.current_channel.set_connected(True)
        machine_obj.current_channel.update(198.25)
        assert machine.current_label.text() == "198.25 mA"
        assert machine.current_label.styleSheet() == ""
        assert machine.state_text() == "READY"
        motor_obj.position_channel.set_connected(True)
        assert motor.position_label.styleSheet() == ""
    finally:
        window.close()
        repository.shutdown()
    assert slot_errors() == []


SIM_LIMITED_MOTOR = """\
<device class="TangoMotor">
  <username>Omega</username>
  <unit>deg</unit>
  <channel type="sim" name="position" value="0.0">Position</channel>
  <channel type="sim" name="state" value="ON">State</channel>
  <channel type="sim" name="low_limit" value="-360.0">LowLimit</channel>
  <channel type="sim" name="high_limit" value="360.0">HighLimit</channel>
  <command type="sim" name="stop">Stop</command>
</device>
"""


def test_a_typed_target_beyond_the_limits_is_refused_not_truncated(
    qt_hub, qtbot, tmp_path, slot_errors
):
    # Issue #18: a box limited to [-360, 360] turned a typed 500 into 50 and
    # moved there.
    (tmp_path / "omega.xml").write_text(SIM_LIMITED_MOTOR)
    repository = HardwareRepository(str(tmp_path))
    repository.load_all()
    window = BeamlineWindow.from_repository(repository)
    try:
        panel = window.panel("omega")
        assert panel.limits_label.text() == "limits -360 … 360 deg"
        editor = panel.target.lineEdit()
        editor.selectAll()
        qtbot.keyClicks(editor, "500")
        qtbot.keyClick(editor, QtCore.Qt.Key_Return)
        assert panel.target.value() == 500.0
        assert "background-color" in panel.target.styleSheet()
        qtbot.mouseClick(panel.move_button, QtCore.Qt.LeftButton)
        assert window.message_text() == (
            "move Omega refused: 500.000 deg is out of limits [-360, 360] deg"
        )
        assert window.runner.running == 0
        omega = repository.get_hardware_object("omega")
        assert omega.position_channel.get_value() == 0.0

        editor.selectAll()
        qtbot.keyClicks(editor, "50")
        qtbot.keyClick(editor, QtCore.Qt.Key_Return)
        assert panel.target.styleSheet() == ""
        qtbot.mouseClick(panel.move_button, QtCore.Qt.LeftButton)
        qtbot.waitUntil(lambda: panel.position_text() == "50.000 deg", timeout=WAIT_MS)
    finally:
        window.close()
        repository.shutdown()
    assert slot_errors() == []
