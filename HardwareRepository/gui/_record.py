"""The window's Record button: record the plotted channel to a NeXus file."""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from qtpy import QtCore, QtWidgets

__all__ = ["RecordBar", "add_record_bar", "plotted_channel"]

log = logging.getLogger("HardwareRepository.gui")

#: the channel behind each kind of plot source (the signal it plots)
_CHANNEL_OF_SIGNAL = {"currentChanged": "current", "valueChanged": "position"}
_REFRESH_MS = 500


def plotted_channel(source: Any) -> tuple[str, Any] | None:
    """Return ``("/object.channel", channel)`` for a plot source, or ``None``."""
    item = _CHANNEL_OF_SIGNAL.get(source.signal)
    if item is None:
        return None
    channel = source.obj.get_channel_object(item, optional=True)
    if channel is None:
        return None
    return f"{source.obj.name()}.{item}", channel


class RecordBar(QtWidgets.QWidget):
    """A Record/Stop button and a line saying what is recorded where.

    Records the channel behind the plot's current source (a machine current,
    a motor position) with a :class:`~HardwareRepository.recording.ChannelRecorder`
    in parallel mode, into ``directory`` (default: ``$HWR_RECORD_DIR``, else
    the working directory) as ``object-channel-YYYYmmdd-HHMMSS.h5``. Changing
    the plot's source does not change a running recording.

    .. important:: GUI (hub) thread only; :meth:`detach` before the objects
       are shut down (it stops a running recording and closes its file).

    Args:
        plot_panel: the window's plot panel (its ``sources`` and ``choice``).
        directory: where files go.
    """

    def __init__(
        self,
        plot_panel: Any,
        directory: str | None = None,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.plot_panel = plot_panel
        self.directory = directory or os.environ.get("HWR_RECORD_DIR") or os.getcwd()
        self.recorder: Any = None
        self.button = QtWidgets.QPushButton("Record")
        self.button.setObjectName("record")
        self.button.setToolTip("record the plotted channel to a NeXus (HDF5) file")
        self.label = QtWidgets.QLabel("")
        self.label.setObjectName("record-status")
        self.label.setTextInteractionFlags(
            QtCore.Qt.TextInteractionFlag.TextSelectableByMouse
        )
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.button)
        layout.addWidget(self.label, 1)
        self.button.clicked.connect(self.toggle)
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(_REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self.button.setEnabled(bool(plot_panel.sources))

    def is_recording(self) -> bool:
        """Return whether a recording runs."""
        return self.recorder is not None and not self.recorder.done()

    def toggle(self) -> None:
        """Start recording the plotted channel, or stop the running recording."""
        if self.is_recording():
            self.stop()
        else:
            self.start()

    def start(self) -> None:
        """Start recording the plotted channel; a failure shows in the label."""
        from HardwareRepository.recording import ChannelRecorder

        index = self.plot_panel.choice.currentIndex()
        if not 0 <= index < len(self.plot_panel.sources):
            return
        target = plotted_channel(self.plot_panel.sources[index])
        if target is None:
            self.label.setText("this plot has no channel to record")
            return
        name, channel = target
        stamp = time.strftime("%Y%m%d-%H%M%S")
        base = name.lstrip("/").replace("/", "-").replace(".", "-")
        path = os.path.join(self.directory, f"{base}-{stamp}.h5")
        try:
            recorder = ChannelRecorder([(name, channel)], path, "parallel")
            recorder.start()
        except Exception as exc:
            log.exception("recording %s into %s failed to start", name, path)
            self.label.setText(f"not recording: {' '.join(str(exc).split())}")
            return
        self.recorder = recorder
        self.button.setText("Stop")
        self._timer.start()
        self.refresh()

    def stop(self) -> None:
        """Stop the running recording; its file is closed."""
        recorder = self.recorder
        if recorder is None:
            return
        if not recorder.done():
            recorder.stop(wait=True, timeout=30)
        self.refresh()

    def refresh(self) -> None:
        """Show the recording's file, samples written, and its end or failure."""
        recorder = self.recorder
        if recorder is None:
            return
        info = recorder.info()
        written = sum(c["written"] for c in info["channels"].values())
        name = next(iter(info["channels"]), "")
        if recorder.done():
            self._timer.stop()
            self.button.setText("Record")
            verdict = f"FAILED: {recorder.reason}" if recorder.reason else "saved"
            self.label.setText(
                f"{name}: {written} samples {verdict} in {recorder.path}"
            )
        else:
            self.label.setText(
                f"recording {name}: {written} samples in {recorder.path}"
            )

    def detach(self) -> None:
        """Stop a running recording (closing its file). Idempotent."""
        self._timer.stop()
        self.stop()


def add_record_bar(plot_panel: Any) -> RecordBar:
    """Add a :class:`RecordBar` under ``plot_panel``'s plot and return it."""
    bar = RecordBar(plot_panel, parent=plot_panel)
    bar.setObjectName("record-bar")
    layout = plot_panel.layout()
    assert layout is not None  # the panel lays out its plot
    layout.addWidget(bar)
    return bar
