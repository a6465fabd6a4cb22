"""The window's parts on simulated channels (no Tango): panels, plot, run_gui."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy
import pytest
import tango
from qtpy import QtCore, QtGui, QtWidgets

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


def test_history_records_stale_spans_and_breaks_the_line_there():
    history = History(span=100.0)
    history.add(1.0, when=10.0)
    history.add(2.0, when=11.0)
    history.set_connected(False, when=11.5)
    history.set_connected(False, when=11.7)  # still the same span
    assert not history.is_connected()
    history.set_connected(True, when=13.0)
    history.add(3.0, when=13.5)
    assert history.stale_spans() == [(11.5, 13.0)]
    x, y = history.arrays()
    assert list(y[:2]) == [1.0, 2.0]
    assert numpy.isnan(y[2])  # the gap: no line across the stale span
    assert y[3] == 3.0
    assert x[1] < x[2] < x[3]
    assert x[0] == pytest.approx(10.0 + (time.time() - time.monotonic()), abs=1.0)


def test_live_plot_draws_several_curves_with_stale_spans(qapp, qtbot):
    plot = LivePlot(span=30.0)
    qtbot.addWidget(plot)
    plot.resize(400, 200)
    plot.show()
    now = time.monotonic()
    current, phi = History(60.0), History(60.0)
    for i in range(20):
        current.add(190.0 + i, when=now - 10.0 + i * 0.5)
        phi.add(float(i), when=now - 10.0 + i * 0.5)
    phi.set_connected(False, when=now - 2.0)
    plot.show_history("current", current, "Machine: current [mA]")
    plot.show_history("phi", phi, "Phi: position [deg]")
    assert plot.shown() == ["current", "phi"]
    x, y = plot.curve_data("current")
    assert len(x) == 20
    assert list(y) == [190.0 + i for i in range(20)]
    assert plot.curve_colour("current") != plot.curve_colour("phi")
    ((start, end),) = plot.stale_regions("phi")
    wall = time.time() - time.monotonic()
    assert start == pytest.approx(now - 2.0 + wall)
    assert end >= start
    assert plot.stale_regions("current") == []
    # Following: the time axis ends now, a span wide.
    low, high = plot.plot_item.getViewBox().viewRange()[0]
    assert high - low == pytest.approx(30.0, rel=0.05)
    assert high == pytest.approx(time.monotonic() + wall, abs=2.0)

    plot.hide_history("current")
    assert plot.shown() == ["phi"]


def test_live_plot_zoom_stops_following_and_follow_resumes(qapp, qtbot):
    plot = LivePlot(span=30.0)
    qtbot.addWidget(plot)
    plot.resize(400, 200)
    plot.show()
    qtbot.waitExposed(plot)
    history = History(60.0)
    history.add(1.0)
    plot.show_history("x", history)
    viewport = plot.view.viewport()
    centre = QtCore.QPointF(viewport.width() / 2, viewport.height() / 2)
    wheel = QtGui.QWheelEvent(
        centre,
        viewport.mapToGlobal(centre.toPoint()),
        QtCore.QPoint(0, 0),
        QtCore.QPoint(0, 240),
        QtCore.Qt.NoButton,
        QtCore.Qt.NoModifier,
        QtCore.Qt.NoScrollPhase,
        False,
    )
    QtWidgets.QApplication.sendEvent(viewport, wheel)
    assert not plot.following()
    low, high = plot.plot_item.getViewBox().viewRange()[0]
    assert high - low < 29.0  # zoomed in
    plot.follow()
    assert plot.following()
    low, high = plot.plot_item.getViewBox().viewRange()[0]
    assert high - low == pytest.approx(30.0, rel=0.05)


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


@pytest.fixture
def machine_window(qt_hub, sim_config, slot_errors):
    """The window on a simulated motor, machine and thing; closed afterwards."""
    (sim_config / "machine.xml").write_text(SIM_MACHINE)
    repository = HardwareRepository(str(sim_config))
    repository.load_all()
    window = BeamlineWindow.from_repository(repository)
    yield window, repository
    window.close()
    repository.shutdown()
    assert slot_errors() == []


def test_panels_grey_the_last_value_while_not_connected(machine_window):
    # The window must never show a stale value as a live one.
    window, repository = machine_window
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


def test_the_window_plots_several_sources_and_shades_a_disconnection(
    machine_window, qtbot
):
    window, repository = machine_window
    panel = window.plot_panel
    assert panel.source_labels() == ["machine: current", "Sim motor: position"]
    assert panel.shown_labels() == ["machine: current"]  # the first, at first
    panel.select("Sim motor: position")
    assert panel.shown_labels() == ["machine: current", "Sim motor: position"]
    motor = repository.get_hardware_object("sim-motor")
    motor.position_channel.update(1.75)
    qtbot.waitUntil(
        lambda: list(panel.plot.curve_data("Sim motor: position")[1]) == [1.5, 1.75],
        timeout=WAIT_MS,
    )
    motor.position_channel.set_connected(False)
    qtbot.waitUntil(
        lambda: len(panel.plot.stale_regions("Sim motor: position")) == 1,
        timeout=WAIT_MS,
    )
    assert panel.plot.stale_regions("machine: current") == []
    panel.select("machine: current", shown=False)
    assert panel.shown_labels() == ["Sim motor: position"]
    # A clean place for more tools (the recorder's button, for one).
    extra = QtWidgets.QPushButton("Extra")
    panel.add_tool(extra)
    assert panel.tools.indexOf(extra) == 1
