"""One panel per hardware object, chosen by what the object can do.

:func:`panel_for` picks the first panel class whose ``accepts(obj)`` is true:
:class:`MotorPanel` (``set_value``/``get_value``/``stop``/``get_limits``),
:class:`ShutterPanel` (``open``/``close``/``get_shutter_state``),
:class:`MachineInfoPanel` (``get_current``), else :class:`GenericPanel`, which
shows the value of every channel and the objects referenced by role.

Panels follow their object through its signals (``obj.connect``), whose
receivers run in the hub thread, which is the Qt thread once
``qtloop.install`` ran: they update widgets directly. Buttons start the
hardware call in a greenlet through an :class:`~._actions.ActionRunner`, so
the window never waits for the hardware; failures go to the runner's
``failed`` signal (the window's status bar) and the log.

.. important:: GUI (hub) thread only. Call :meth:`ObjectPanel.detach` before
   the object is shut down (the window does it when it closes).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from qtpy import QtCore, QtGui, QtWidgets

from HardwareRepository.BaseHardwareObjects import HardwareObject, HardwareObjectState
from HardwareRepository.states import describe_state, native_state_name

from ._actions import ActionRunner
from ._style import state_colour, state_style

__all__ = [
    "PANEL_CLASSES",
    "GenericPanel",
    "MachineInfoPanel",
    "MotorPanel",
    "ObjectPanel",
    "ShutterPanel",
    "display_name",
    "format_value",
    "panel_for",
    "show_connected",
]

NO_VALUE = "—"
_LAST_ROW = 100  # an empty, stretching row below every panel's content
_TITLE_CHARS = 32
_MIN_WIDTH = 280  # pixels: a motor's target box and buttons fit
_BADGE_PADDING = 24  # pixels around a state badge's text (style sheet padding)
# Any: the PyQt5 stubs type ``flag | flag`` as int, not Qt.Alignment.
_ALIGN_RIGHT: Any = (
    QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter
)


def _shorten(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def display_name(obj: HardwareObject) -> str:
    """Return the object's ``username`` property, else its name without "/"."""
    username = obj.get_property("username")
    return str(username) if username else obj.name().lstrip("/")


def format_value(value: Any, decimals: int | None = None) -> str:
    """Return a short text for a channel value (numbers, states, text, arrays).

    :param decimals: fixed decimals for real numbers; default: 6 significant
        digits.
    """
    if value is None:
        return NO_VALUE
    name = getattr(value, "name", None)
    if isinstance(name, str):
        return name  # an enum: a Tango DevState, a HardwareObjectState
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) or (
        hasattr(value, "dtype") and getattr(value, "shape", None) == ()
    ):
        number = float(value)
        return f"{number:.{decimals}f}" if decimals is not None else f"{number:.6g}"
    shape = getattr(value, "shape", None)
    if shape:
        return f"array {'x'.join(str(n) for n in shape)}"
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


_STALE_STYLE = "color: gray; font-style: italic;"
_STALE_TIP = "not connected: the last value received, not the current one"


def show_connected(label: QtWidgets.QLabel, connected: bool) -> None:
    """Show a value label normally, or greyed as stale while not connected."""
    label.setStyleSheet("" if connected else _STALE_STYLE)
    label.setToolTip("" if connected else _STALE_TIP)


def _has_methods(obj: object, *names: str) -> bool:
    # Look at the class: HardwareObject.__getattr__ would also find commands
    # and properties of the same name.
    return all(callable(getattr(type(obj), name, None)) for name in names)


class ObjectPanel(QtWidgets.QGroupBox):
    """The base of the panels: a titled box with a state badge.

    :param obj: the hardware object shown.
    :param actions: runs the hardware calls of buttons and reports failures.
    """

    def __init__(
        self,
        obj: HardwareObject,
        actions: ActionRunner,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(_shorten(display_name(obj), _TITLE_CHARS), parent)
        self.hardware_object = obj
        # not ``actions``: that would hide QWidget.actions()
        self.runner = actions
        self._followed: list[tuple[Any, str, Callable[..., Any]]] = []
        self.setObjectName(f"panel:{obj.name()}")
        self.setToolTip(f"{display_name(obj)}: {obj.name()} ({type(obj).__name__})")
        # Share the row's width equally, whatever the title's length.
        self.setSizePolicy(
            QtWidgets.QSizePolicy.Ignored, QtWidgets.QSizePolicy.Preferred
        )
        self.setMinimumWidth(_MIN_WIDTH)
        self.layout_ = QtWidgets.QGridLayout(self)
        self.layout_.setColumnStretch(1, 1)
        self.state_label = QtWidgets.QLabel(NO_VALUE)
        self.state_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.state_label.setObjectName("state")
        self.state_label.setSizePolicy(
            QtWidgets.QSizePolicy.Minimum, QtWidgets.QSizePolicy.Fixed
        )
        # Content at the top when a row of panels is taller than this one.
        self.layout_.setRowStretch(_LAST_ROW, 1)
        self.show_state(HardwareObjectState.UNKNOWN, "")

    @classmethod
    def accepts(cls, obj: HardwareObject) -> bool:
        """Return whether this panel class can show ``obj``."""
        return True

    # -- following signals ----------------------------------------------------
    def follow(self, sender: Any, signal: str, slot: Callable[..., Any]) -> None:
        """Connect ``slot`` to ``signal`` of ``sender`` until :meth:`detach`.

        ``sender`` is a hardware object or one of its channels or commands.
        """
        if isinstance(sender, HardwareObject):
            sender.connect(signal, slot)
        else:
            sender.connect_signal(signal, slot)
        self._followed.append((sender, signal, slot))

    def follow_connection(self) -> None:
        """Show the object's connection if it reports one (``is_connected``).

        ``connectionChanged`` then calls :meth:`_on_connection` (hub thread,
        which is the Qt thread once the Qt loop is installed).
        """
        obj = self.hardware_object
        if _has_methods(obj, "is_connected"):
            self.follow(obj, "connectionChanged", self._on_connection)
            self._on_connection(obj.is_connected())

    def _on_connection(self, connected: bool) -> None:
        """Show ``connected``; panels that show values override this."""

    def detach(self) -> None:
        """Disconnect from the object's signals; the panel stops updating.

        Idempotent. Hub thread.
        """
        followed, self._followed = self._followed, []
        for sender, signal, slot in reversed(followed):
            if isinstance(sender, HardwareObject):
                sender.disconnect(signal, slot)
            else:
                sender.disconnect_signal(signal, slot)

    # -- state ------------------------------------------------------------------
    def show_state(self, state: HardwareObjectState, name: str | None = None) -> None:
        """Show ``state`` in the badge, in the vocabulary of every view.

        The text is the general state with the object's own name of it beside
        it where that differs ("READY (ON)", "READY (CLOSED)",
        "UNKNOWN (DISCONNECTED)"), as in ``hwr`` and the terminal table
        (:mod:`HardwareRepository.states`).

        Args:
            state: the general state.
            name: the object's own name of the state; default: asked from
                the object (:func:`~HardwareRepository.states.native_state_name`).
        """
        if name is None:
            name = native_state_name(self.hardware_object)
        text = describe_state(state, name)
        self.state_label.setStyleSheet(state_style(state_colour(state, name)))
        self.state_label.setText(text)
        # The badge's style sheet makes it bold, which its size hint ignores:
        # reserve the bold text's width so "BUSY (MOVING)" is never clipped.
        bold = QtGui.QFont(self.state_label.font())
        bold.setBold(True)
        width = QtGui.QFontMetrics(bold).horizontalAdvance(text)
        self.state_label.setMinimumWidth(width + _BADGE_PADDING)

    def state_text(self) -> str:
        """Return the text of the state badge."""
        return self.state_label.text()

    def _on_state(self, state: HardwareObjectState) -> None:
        self.show_state(state)


class MotorPanel(ObjectPanel):
    """Position with unit, state, limits; target, Move and Stop.

    Move calls ``set_value(target)`` without waiting, in a greenlet; Stop calls
    ``stop()``. The target box starts at the first known position and then
    belongs to the user.
    """

    def __init__(
        self,
        obj: HardwareObject,
        actions: ActionRunner,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(obj, actions, parent)
        self.unit = str(obj.get_unit()) if _has_methods(obj, "get_unit") else ""
        self.decimals = int(obj.get_property("decimals", 3))
        self.position_label = QtWidgets.QLabel(NO_VALUE)
        self.position_label.setObjectName("position")
        font = self.position_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        self.position_label.setFont(font)
        self.position_label.setAlignment(_ALIGN_RIGHT)
        self.limits_label = QtWidgets.QLabel(f"limits {NO_VALUE}")
        self.limits_label.setObjectName("limits")
        self.target = QtWidgets.QDoubleSpinBox()
        self.target.setObjectName("target")
        self.target.setDecimals(self.decimals)
        # The box takes any number: the limits are checked on Move. (A box
        # limited to [-360, 360] would silently turn a typed 500 into 50.)
        self.target.setRange(-1e9, 1e9)
        self.target.setKeyboardTracking(False)
        self._limits: tuple[Any, Any] = (None, None)
        self.target.valueChanged.connect(self._on_target_changed)
        if self.unit:
            self.target.setSuffix(f" {self.unit}")
        self.move_button = QtWidgets.QPushButton("Move")
        self.move_button.setObjectName("move")
        self.stop_button = QtWidgets.QPushButton("Stop")
        self.stop_button.setObjectName("stop")
        self.move_button.clicked.connect(self.start_move)
        self.stop_button.clicked.connect(self.stop)
        self.target.editingFinished.connect(self._on_target_entered)

        grid = self.layout_
        # One row each for the badge, the position and the limits: a long
        # state ("UNKNOWN (DISCONNECTED)") never covers the position.
        grid.addWidget(self.state_label, 0, 0, 1, 3)
        grid.addWidget(self.position_label, 1, 0, 1, 3)
        grid.addWidget(self.limits_label, 2, 0, 1, 3)
        grid.addWidget(self.target, 3, 0, 1, 1)
        grid.addWidget(self.move_button, 3, 1)
        grid.addWidget(self.stop_button, 3, 2)
        self._target_set = False

        self.follow(obj, "valueChanged", self._on_value)
        self.follow(obj, "stateChanged", self._on_state)
        self.follow(obj, "limitsChanged", self._on_limits)
        self._on_value(obj.get_value())
        self._on_limits(obj.get_limits())
        self.follow_connection()

    @classmethod
    def accepts(cls, obj: HardwareObject) -> bool:
        """A motor: ``set_value``, ``get_value``, ``stop`` and ``get_limits``."""
        return _has_methods(obj, "set_value", "get_value", "stop", "get_limits")

    def start_move(self) -> None:
        """Start a move to the target box's value (returns at once).

        A target beyond the limits is refused: nothing moves, and the status
        line says why.
        """
        target = self.target.value()
        problem = self._check_target()
        if problem:
            self.runner.failed.emit(f"move {self.title()} refused: {problem}")
            return
        self.runner.run(
            f"move {self.title()} to {target:.{self.decimals}f} {self.unit}".rstrip(),
            self.hardware_object.set_value,
            target,
        )

    def stop(self) -> None:
        """Ask the motor to stop (returns at once)."""
        self.runner.run(f"stop {self.title()}", self.hardware_object.stop)

    def _on_target_entered(self) -> None:
        self._target_set = True

    def _on_value(self, position: Any) -> None:
        if position is None:
            self.position_label.setText(NO_VALUE)
            return
        text = format_value(position, self.decimals)
        self.position_label.setText(f"{text} {self.unit}".rstrip())
        if not self._target_set:
            self._target_set = True
            self.target.setValue(float(position))

    def _on_connection(self, connected: bool) -> None:
        show_connected(self.position_label, connected)
        self.show_state(self.hardware_object.get_state())

    def _on_limits(self, limits: Any) -> None:
        low, high = limits if limits else (None, None)
        self._limits = (low, high)
        self.limits_label.setText(
            f"limits {format_value(low)} … {format_value(high)} {self.unit}".rstrip()
        )
        self._check_target()

    def _on_target_changed(self, _value: float) -> None:
        self._check_target()

    def _check_target(self) -> str:
        """Mark the target box red while it is beyond a limit; return why."""
        low, high = self._limits
        target = self.target.value()
        problem = ""
        if (low is not None and target < low) or (high is not None and target > high):
            problem = (
                f"{target:.{self.decimals}f} {self.unit} is out of limits "
                f"[{format_value(low)}, {format_value(high)}] {self.unit}"
            ).rstrip()
        self.target.setStyleSheet("background-color: #ffcdd2;" if problem else "")
        self.target.setToolTip(problem)
        return problem

    def position_text(self) -> str:
        """Return the displayed position ("12.345 deg")."""
        return self.position_label.text()


class ShutterPanel(ObjectPanel):
    """Shutter state (OPEN, CLOSED, MOVING...) with Open and Close buttons."""

    def __init__(
        self,
        obj: HardwareObject,
        actions: ActionRunner,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(obj, actions, parent)
        self.open_button = QtWidgets.QPushButton("Open")
        self.open_button.setObjectName("open")
        self.close_button = QtWidgets.QPushButton("Close")
        self.close_button.setObjectName("close")
        self.open_button.clicked.connect(self.open)
        self.close_button.clicked.connect(self.close_shutter)
        grid = self.layout_
        grid.addWidget(self.state_label, 0, 0, 1, 2)
        grid.addWidget(self.open_button, 1, 0)
        grid.addWidget(self.close_button, 1, 1)
        grid.setColumnStretch(0, 1)
        self.follow(obj, "shutterStateChanged", self._on_shutter_state)
        self.follow(obj, "stateChanged", self._on_state)

    @classmethod
    def accepts(cls, obj: HardwareObject) -> bool:
        """A shutter: ``open``, ``close`` and ``get_shutter_state``."""
        return _has_methods(obj, "open", "close", "get_shutter_state")

    def open(self) -> None:
        """Ask the shutter to open (returns at once)."""
        self.runner.run(f"open {self.title()}", self.hardware_object.open)

    def close_shutter(self) -> None:
        """Ask the shutter to close (returns at once).

        (Not ``close``: that is ``QWidget.close``.)
        """
        self.runner.run(f"close {self.title()}", self.hardware_object.close)

    def _on_shutter_state(self, _name: str) -> None:
        self.show_state(self.hardware_object.get_state())


class MachineInfoPanel(ObjectPanel):
    """Machine current (mA) and the operator's message."""

    def __init__(
        self,
        obj: HardwareObject,
        actions: ActionRunner,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(obj, actions, parent)
        self.current_label = QtWidgets.QLabel(NO_VALUE)
        self.current_label.setObjectName("current")
        font = self.current_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        self.current_label.setFont(font)
        self.current_label.setAlignment(_ALIGN_RIGHT)
        self.message_label = QtWidgets.QLabel("")
        self.message_label.setObjectName("message")
        self.message_label.setWordWrap(True)
        grid = self.layout_
        grid.addWidget(self.state_label, 0, 0)
        grid.addWidget(self.current_label, 0, 1)
        grid.addWidget(self.message_label, 1, 0, 1, 2)
        self.follow(obj, "currentChanged", self._on_current)
        self.follow(obj, "stateChanged", self._on_state)
        if _has_methods(obj, "get_message"):
            self.follow(obj, "messageChanged", self._on_message)
            self._on_message(obj.get_message())
        self._on_current(obj.get_current())
        self.follow_connection()

    @classmethod
    def accepts(cls, obj: HardwareObject) -> bool:
        """Machine information: ``get_current``."""
        return _has_methods(obj, "get_current")

    def _on_current(self, current: Any) -> None:
        text = format_value(current, 2)
        self.current_label.setText(NO_VALUE if current is None else f"{text} mA")

    def _on_connection(self, connected: bool) -> None:
        show_connected(self.current_label, connected)
        show_connected(self.message_label, connected)
        self._on_state(self.hardware_object.get_state())

    def _on_message(self, message: Any) -> None:
        self.message_label.setText(str(message or ""))


class GenericPanel(ObjectPanel):
    """Any other object: the value of each channel, and the objects by role."""

    def __init__(
        self,
        obj: HardwareObject,
        actions: ActionRunner,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(obj, actions, parent)
        grid = self.layout_
        grid.addWidget(self.state_label, 0, 0, 1, 2)
        self.value_labels: dict[str, QtWidgets.QLabel] = {}
        row = 1
        for channel in obj.get_channels():
            label = QtWidgets.QLabel(NO_VALUE)
            label.setObjectName(f"channel:{channel.name()}")
            label.setTextInteractionFlags(
                QtCore.Qt.TextInteractionFlag.TextSelectableByMouse
            )
            grid.addWidget(QtWidgets.QLabel(channel.userName()), row, 0)
            grid.addWidget(label, row, 1)
            self.value_labels[channel.name()] = label
            self.follow(channel, "update", functools.partial(self._on_update, label))
            self.follow(
                channel,
                "connectionStateChanged",
                functools.partial(self._show_connection, label),
            )
            self._show_connection(label, channel.is_connected())
            row += 1
        for role in obj.get_roles():
            child = obj.get_object_by_role(role)
            if child is None:
                continue
            text = display_name(child) if isinstance(child, HardwareObject) else ""
            label = QtWidgets.QLabel(f"{role} → {text or child.name()}")
            label.setWordWrap(True)
            grid.addWidget(label, row, 0, 1, 2)
            row += 1
        self.follow(obj, "stateChanged", self._on_state)

    def show_state(self, state: HardwareObjectState, name: str | None = None) -> None:
        """Show ``state``; the badge is hidden while it is UNKNOWN.

        Plain objects and equipment often never set a state: their channels
        say whether they are connected.
        """
        super().show_state(state, name)
        self.state_label.setVisible(state is not HardwareObjectState.UNKNOWN)

    def _on_update(self, label: QtWidgets.QLabel, value: Any) -> None:
        label.setText(format_value(value))
        label.setStyleSheet("")

    def _show_connection(self, label: QtWidgets.QLabel, connected: bool) -> None:
        if not connected:
            label.setText("not connected")
            label.setStyleSheet(_STALE_STYLE)


PANEL_CLASSES: list[type[ObjectPanel]] = [MotorPanel, ShutterPanel, MachineInfoPanel]


def panel_for(
    obj: HardwareObject,
    actions: ActionRunner,
    parent: QtWidgets.QWidget | None = None,
) -> ObjectPanel:
    """Build the panel for ``obj``.

    The panel is the first of :data:`PANEL_CLASSES` that accepts ``obj``, else
    a :class:`GenericPanel`.
    """
    for cls in PANEL_CLASSES:
        if cls.accepts(obj):
            return cls(obj, actions, parent)
    return GenericPanel(obj, actions, parent)
