"""The window's plot: a choice of sources (machine current, motor positions)."""

from __future__ import annotations

import functools
import numbers
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from qtpy import QtWidgets

from HardwareRepository.BaseHardwareObjects import HardwareObject

from .panels import MachineInfoPanel, MotorPanel, display_name
from .plot import History, LivePlot

__all__ = ["PlotPanel", "PlotSource"]


@dataclass
class PlotSource:
    """One plottable quantity: a signal of a hardware object carrying a number.

    :param unit: shown beside the last value.
    """

    label: str
    obj: HardwareObject
    signal: str
    read: Callable[[], Any]
    unit: str
    history: History = field(default_factory=History)


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
    """Record every source's values into its history, whether shown or not.

    Switching the plot to another source then shows its past at once.
    """

    def __init__(self, sources: list[PlotSource], on_point: Any) -> None:
        self._slots = []
        for index, source in enumerate(sources):
            slot = functools.partial(self._record, index, source, on_point)
            source.obj.connect(source.signal, slot)
            self._slots.append((source, slot))
            slot(source.read())

    @staticmethod
    def _record(index: int, source: PlotSource, on_point: Any, value: Any) -> None:
        if isinstance(value, numbers.Real):
            source.history.add(float(value))
            on_point(index)
        # A non-number (None before the first reading) has no place on a plot.

    def detach(self) -> None:
        """Stop recording. Idempotent."""
        slots, self._slots = self._slots, []
        for source, slot in slots:
            source.obj.disconnect(source.signal, slot)


class PlotPanel(QtWidgets.QGroupBox):
    """A :class:`~.plot.LivePlot` with a combo box choosing what it shows.

    .. important:: GUI (hub) thread only; :meth:`detach` before the objects
       are shut down.

    :param objects: the hardware objects; machine currents and motor
        positions become sources.
    :param span: seconds of history shown and kept.
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
        self.choice = QtWidgets.QComboBox()
        self.choice.setObjectName("plot-source")
        for source in self.sources:
            self.choice.addItem(source.label)
        layout = QtWidgets.QVBoxLayout(self)
        top = QtWidgets.QHBoxLayout()
        top.addWidget(QtWidgets.QLabel("Show"))
        top.addWidget(self.choice, 1)
        layout.addLayout(top)
        layout.addWidget(self.plot, 1)
        self.choice.currentIndexChanged.connect(self._show)
        self._recorder = PlotSourceRecorder(self.sources, self._on_point)
        if self.sources:
            self._show(0)
        else:
            self.choice.setEnabled(False)

    def select(self, label: str) -> None:
        """Show the source named ``label`` ("Phi: position").

        :raises KeyError: no such source.
        """
        index = self.choice.findText(label)
        if index < 0:
            raise KeyError(f"no plot source {label!r}; have {self.source_labels()}")
        self.choice.setCurrentIndex(index)

    def source_labels(self) -> list[str]:
        """Return the labels of the sources."""
        return [source.label for source in self.sources]

    def _show(self, index: int) -> None:
        if 0 <= index < len(self.sources):
            source = self.sources[index]
            self.plot.show_history(source.history, source.label, source.unit)

    def _on_point(self, index: int) -> None:
        if index == self.choice.currentIndex():
            self.plot.update()

    def detach(self) -> None:
        """Stop following the sources. Idempotent."""
        self._recorder.detach()
