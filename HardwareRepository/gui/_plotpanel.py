"""The window's plot: machine currents and motor positions, any several at once."""

from __future__ import annotations

import functools
import numbers
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from qtpy import QtCore, QtWidgets

from HardwareRepository.BaseHardwareObjects import HardwareObject

from .panels import MachineInfoPanel, MotorPanel, display_name
from .plot import History, LivePlot

__all__ = ["PlotPanel", "PlotSource"]


@dataclass
class PlotSource:
    """One plottable quantity: a signal of a hardware object carrying a number.

    Args:
        label: the name shown ("Phi: position").
        obj: the hardware object.
        signal: its signal carrying the value ("valueChanged").
        read: returns the current value.
        unit: shown in the legend.
    """

    label: str
    obj: HardwareObject
    signal: str
    read: Callable[[], Any]
    unit: str
    history: History = field(default_factory=History)

    def legend(self) -> str:
        """Return the label with the unit ("Phi: position [deg]")."""
        return f"{self.label} [{self.unit}]" if self.unit else self.label


def plot_sources(objects: Iterable[HardwareObject], span: float) -> list[PlotSource]:
    """Return the plottable quantities of ``objects``: machine current first."""
    currents, positions = [], []
    for obj in objects:
        name = display_name(obj)
        if MachineInfoPanel.accepts(obj):
            currents.append(
                PlotSource(
                    f"{name}: current",
                    obj,
                    "currentChanged",
                    obj.get_current,
                    "mA",
                    History(span),
                )
            )
        elif MotorPanel.accepts(obj):
            unit = str(obj.get_unit()) if hasattr(type(obj), "get_unit") else ""
            positions.append(
                PlotSource(
                    f"{name}: position",
                    obj,
                    "valueChanged",
                    obj.get_value,
                    unit,
                    History(span),
                )
            )
    return currents + positions


class PlotSourceRecorder:
    """Record every source's values and connection, whether shown or not.

    Showing another source then shows its past at once. Receivers run in the
    hub thread (the GUI thread).
    """

    def __init__(self, sources: list[PlotSource], on_point: Any) -> None:
        self._slots: list[tuple[PlotSource, str, Any]] = []
        for index, source in enumerate(sources):
            value_slot = functools.partial(self._record, index, source, on_point)
            self._follow(source, source.signal, value_slot)
            if callable(getattr(type(source.obj), "is_connected", None)):
                link_slot = functools.partial(self._link, index, source, on_point)
                self._follow(source, "connectionChanged", link_slot)
                link_slot(source.obj.is_connected())
            value_slot(source.read())

    def _follow(self, source: PlotSource, signal: str, slot: Any) -> None:
        source.obj.connect(signal, slot)
        self._slots.append((source, signal, slot))

    @staticmethod
    def _record(index: int, source: PlotSource, on_point: Any, value: Any) -> None:
        if isinstance(value, numbers.Real):
            source.history.add(float(value))
            on_point(index)
        # A non-number (None before the first reading) has no place on a plot.

    @staticmethod
    def _link(index: int, source: PlotSource, on_point: Any, connected: bool) -> None:
        source.history.set_connected(bool(connected))
        on_point(index)

    def detach(self) -> None:
        """Stop recording. Idempotent."""
        slots, self._slots = self._slots, []
        for source, signal, slot in slots:
            source.obj.disconnect(signal, slot)


class PlotPanel(QtWidgets.QGroupBox):
    """A :class:`~.plot.LivePlot` with a checkable list of what it shows.

    The first source (a machine current, else a motor position) is shown at
    first; tick others to add them. The tool row (:attr:`tools`) holds the
    Follow button; other parts of the window may add their own buttons to it
    with :meth:`add_tool`.

    .. important:: GUI (hub) thread only; :meth:`detach` before the objects
       are shut down.

    Args:
        objects: the hardware objects; machine currents and motor positions
            become sources.
        span: seconds of history shown and kept.
    """

    def __init__(
        self,
        objects: Iterable[HardwareObject],
        span: float = 60.0,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__("Live plot", parent)
        self.sources = plot_sources(objects, span)
        self.plot = LivePlot(span)
        self.plot.setObjectName("plot")
        self.choice = QtWidgets.QListWidget()
        self.choice.setObjectName("plot-sources")
        self.choice.setMaximumWidth(260)
        for source in self.sources:
            item = QtWidgets.QListWidgetItem(source.legend())
            item.setFlags(item.flags() | QtCore.Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(QtCore.Qt.CheckState.Unchecked)
            self.choice.addItem(item)
        self.follow_button = QtWidgets.QPushButton("Follow")
        self.follow_button.setObjectName("plot-follow")
        self.follow_button.setToolTip(
            "show the last seconds again after zooming (wheel) or panning (drag)"
        )
        self.follow_button.clicked.connect(self.plot.follow)
        self.tools = QtWidgets.QHBoxLayout()
        self.tools.addWidget(self.follow_button)
        self.tools.addStretch(1)
        side = QtWidgets.QVBoxLayout()
        side.addWidget(self.choice, 1)
        side.addLayout(self.tools)
        layout = QtWidgets.QHBoxLayout(self)
        layout.addLayout(side)
        layout.addWidget(self.plot, 1)
        self.choice.itemChanged.connect(self._on_item_changed)
        self._recorder = PlotSourceRecorder(self.sources, self._on_point)
        if self.sources:
            self.select(self.sources[0].label)
        else:
            self.choice.setEnabled(False)

    def add_tool(self, widget: QtWidgets.QWidget) -> None:
        """Add a button (or any widget) to the plot's tool row, before the stretch."""
        self.tools.insertWidget(self.tools.count() - 1, widget)

    def select(self, label: str, shown: bool = True) -> None:
        """Show (or hide) the source named ``label`` ("Phi: position").

        Raises:
            KeyError: no such source.
        """
        labels = self.source_labels()
        if label not in labels:
            raise KeyError(f"no plot source {label!r}; have {labels}")
        state = (
            QtCore.Qt.CheckState.Checked if shown else QtCore.Qt.CheckState.Unchecked
        )
        item = self.choice.item(labels.index(label))
        assert item is not None  # the list has one item per source
        item.setCheckState(state)

    def source_labels(self) -> list[str]:
        """Return the labels of the sources."""
        return [source.label for source in self.sources]

    def shown_labels(self) -> list[str]:
        """Return the labels of the sources shown."""
        return self.plot.shown()

    def _on_item_changed(self, item: QtWidgets.QListWidgetItem) -> None:
        source = self.sources[self.choice.row(item)]
        if item.checkState() == QtCore.Qt.CheckState.Checked:
            self.plot.show_history(source.label, source.history, source.legend())
        else:
            self.plot.hide_history(source.label)

    def _on_point(self, index: int) -> None:
        if self.sources[index].label in self.plot.shown():
            self.plot.refresh()

    def detach(self) -> None:
        """Stop following the sources. Idempotent."""
        self._recorder.detach()
