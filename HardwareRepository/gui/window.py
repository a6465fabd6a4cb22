"""The beamline window: a panel per hardware object, a live plot, a status line."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from qtpy import QtCore, QtGui, QtWidgets

from HardwareRepository.BaseHardwareObjects import HardwareObject

from ._actions import ActionRunner
from ._plotpanel import PlotPanel
from ._record import add_record_bar
from ._status import ConnectionStatus
from .panels import (
    GenericPanel,
    MachineInfoPanel,
    MotorPanel,
    ObjectPanel,
    ShutterPanel,
    panel_for,
)

__all__ = ["BeamlineWindow"]

log = logging.getLogger("HardwareRepository.gui")

# Panels are laid out by kind, then in the order the objects were given.
_ORDER = {MotorPanel: 0, ShutterPanel: 1, MachineInfoPanel: 2, GenericPanel: 3}

#: milliseconds a failure stays in the status line
MESSAGE_TIME_MS = 20_000


class BeamlineWindow(QtWidgets.QMainWindow):
    """A main window showing hardware objects live, with their controls.

    One panel per object (see :mod:`HardwareRepository.gui.panels`), a live
    plot (pyqtgraph: several quantities, zoom, pan, stale spans shaded), and a
    status line: its permanent part lists objects with disconnected channels
    and objects that failed to load; failures of button actions appear in it
    for a while (and in the ``HardwareRepository.gui`` log with their
    traceback).

    .. important:: Build and use it in the GUI thread after
       ``HardwareRepository.qtloop.install(app)``, with hardware objects
       loaded in that thread (their signals then arrive in the GUI thread).
       Closing the window (or :meth:`detach`) disconnects it from the objects
       and kills the button actions still running; the objects themselves
       belong to the caller (shut the repository down afterwards).

    :param objects: the hardware objects, as an iterable or a mapping of name
        to object.
    :param summary: load records to report (``HardwareRepository.summary()``).
    :param title: the window title.
    :param columns: panels per row.
    :param plot_span: seconds of history in the plot.
    """

    def __init__(
        self,
        objects: Iterable[HardwareObject] | Mapping[str, HardwareObject],
        *,
        summary: Iterable[Any] = (),
        title: str = "HardwareRepository",
        columns: int = 4,
        plot_span: float = 60.0,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        if isinstance(objects, Mapping):
            objects = objects.values()
        self.objects = list(objects)
        self.setWindowTitle(title)
        self.runner = ActionRunner(self)
        self.runner.failed.connect(self.show_error)

        panels = [panel_for(obj, self.runner) for obj in self.objects]
        panels.sort(key=lambda panel: _ORDER.get(type(panel), len(_ORDER)))
        self.panels: dict[str, ObjectPanel] = {
            panel.hardware_object.name(): panel for panel in panels
        }

        grid_widget = QtWidgets.QWidget()
        grid = QtWidgets.QGridLayout(grid_widget)
        for index, panel in enumerate(panels):
            grid.addWidget(panel, index // columns, index % columns)
        for column in range(columns):
            grid.setColumnStretch(column, 1)
        grid.setRowStretch(len(panels) // columns + 1, 1)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.NoFrame)
        scroll.setWidget(grid_widget)

        self.plot_panel = PlotPanel(self.objects, span=plot_span)
        self.record_bar = add_record_bar(self.plot_panel)
        splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        splitter.addWidget(scroll)
        splitter.addWidget(self.plot_panel)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        self.setCentralWidget(splitter)
        self._splitter = splitter
        self._sized = False

        self.connection_status = ConnectionStatus(self.objects, summary)
        self._status_bar().addPermanentWidget(self.connection_status)
        self._detached = False

    @classmethod
    def from_repository(cls, repository: Any, **kwargs: Any) -> BeamlineWindow:
        """Build the window for every object loaded by ``repository``.

        :param repository: a loaded
            :class:`~HardwareRepository.HardwareRepository.HardwareRepository`;
            its summary feeds the status line.
        :param kwargs: see the class.
        """
        kwargs.setdefault("title", f"HardwareRepository: {', '.join(repository.path)}")
        return cls(repository.hardware_objects, summary=repository.summary(), **kwargs)

    # -- access (also for tests) ------------------------------------------------
    def panel(self, name: str) -> ObjectPanel:
        """Return the panel of object ``name`` ("diff-phi" or "/diff-phi").

        :raises KeyError: no such object in the window.
        """
        key = name if name.startswith("/") else "/" + name
        try:
            return self.panels[key]
        except KeyError:
            raise KeyError(
                f"no panel for {name!r}; have {sorted(self.panels)}"
            ) from None

    def status_text(self) -> str:
        """Return the permanent status text (connection problems, load errors)."""
        return self.connection_status.text()

    def message_text(self) -> str:
        """Return the temporary status message (the last failure), or ``""``."""
        return self._status_bar().currentMessage()

    def disconnected_objects(self) -> list[str]:
        """Return the names of objects with a channel not connected."""
        return list(self.connection_status.disconnected())

    def _status_bar(self) -> QtWidgets.QStatusBar:
        bar = self.statusBar()
        assert bar is not None  # QMainWindow.statusBar() creates one if absent
        return bar

    # -- reporting ----------------------------------------------------------------
    def show_error(self, message: str) -> None:
        """Show ``message`` in the status line for a while (GUI thread).

        The caller logs it; this only displays it.
        """
        self._status_bar().showMessage(message, MESSAGE_TIME_MS)

    # -- closing ----------------------------------------------------------------
    def detach(self) -> None:
        """Disconnect from every object and kill running actions. Idempotent."""
        if self._detached:
            return
        self._detached = True
        self.runner.stop()
        for panel in self.panels.values():
            panel.detach()
        self.record_bar.detach()
        self.plot_panel.detach()
        self.connection_status.detach()

    def showEvent(self, event: QtGui.QShowEvent | None) -> None:
        """Split the height between panels and plot the first time (Qt event)."""
        if not self._sized:
            # Three quarters for the panels, the rest for the plot.
            self._sized = True
            height = max(self._splitter.height(), 400)
            self._splitter.setSizes([height * 3 // 4, height - height * 3 // 4])
        super().showEvent(event)

    def closeEvent(self, event: QtGui.QCloseEvent | None) -> None:
        """Detach from the hardware objects before closing (Qt event)."""
        self.detach()
        super().closeEvent(event)
