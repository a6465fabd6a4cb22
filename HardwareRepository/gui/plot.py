"""The live plot: several quantities over time, drawn with pyqtgraph.

:class:`History` keeps the recent points of one quantity and the spans when
its source was not connected. :class:`LivePlot` draws any number of them as
curves on a wall-clock time axis; the mouse zooms (wheel) and pans (drag),
and the plot follows the newest points until the user does so (the Follow
button, or :meth:`LivePlot.follow`, resumes). Spans without a connection are
shaded and leave a gap in their curve: a stale value never looks live.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass, field

import numpy
import pyqtgraph
from qtpy import QtCore, QtGui, QtWidgets

__all__ = ["COLOURS", "History", "LivePlot"]

# Monotonic seconds + this = seconds since the epoch, fixed once: the time
# axis shows wall-clock time, but points keep the monotonic order they had.
_WALL_OFFSET = time.time() - time.monotonic()

#: curve colours, one per quantity shown, in order
COLOURS = ("#1565c0", "#c62828", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f")
_STALE_BRUSH = QtGui.QColor(158, 158, 158, 60)
_FOLLOW_PERIOD_MS = 1000  # the time axis scrolls while shown, even if idle
_REDRAW_DELAY_MS = 50  # points arriving within this delay share one redraw


class History:
    """The recent values of one quantity, and when its source was not connected.

    Times are ``time.monotonic()`` seconds. Points older than ``span`` seconds
    before the newest one are dropped as new ones arrive; at most
    ``max_points`` are kept. Not thread-safe: use it in the GUI thread.

    Args:
        span: seconds of history kept.
        max_points: hard bound on memory for fast sources.

    Raises:
        ValueError: ``span`` is not positive.
    """

    def __init__(self, span: float = 60.0, max_points: int = 20_000) -> None:
        if span <= 0:
            raise ValueError(f"History span must be positive, not {span!r}")
        self.span = float(span)
        self._points: deque[tuple[float, float]] = deque(maxlen=max_points)
        self._stale: list[list[float | None]] = []  # [start, end or None]

    def add(self, value: float, when: float | None = None) -> None:
        """Append ``value`` (a number) at ``when`` (default: now).

        Raises:
            TypeError: ``value`` is not a real number.
        """
        number = float(value)
        now = time.monotonic() if when is None else float(when)
        self._points.append((now, number))
        self._forget_before(now - self.span)

    def set_connected(self, connected: bool, when: float | None = None) -> None:
        """Record that the source was (dis)connected at ``when`` (default: now).

        A stale span starts at a disconnection and ends at the next
        connection; consecutive calls with the same value change nothing.
        """
        now = time.monotonic() if when is None else float(when)
        open_span = bool(self._stale) and self._stale[-1][1] is None
        if not connected and not open_span:
            self._stale.append([now, None])
        elif connected and open_span:
            self._stale[-1][1] = now

    def stale_spans(self) -> list[tuple[float, float | None]]:
        """Return ``(start, end)`` of each span without a connection, oldest first.

        ``end`` is ``None`` while the source is still not connected.
        """
        return [(start, end) for start, end in self._stale if start is not None]

    def is_connected(self) -> bool:
        """Return whether the source is connected (no open stale span)."""
        return not self._stale or self._stale[-1][1] is not None

    def points(self) -> list[tuple[float, float]]:
        """Return the points, oldest first."""
        return list(self._points)

    def last(self) -> tuple[float, float] | None:
        """Return the newest point, or ``None``."""
        return self._points[-1] if self._points else None

    def clear(self) -> None:
        """Forget every point and stale span."""
        self._points.clear()
        self._stale.clear()

    def arrays(self) -> tuple[numpy.ndarray, numpy.ndarray]:
        """Return wall-clock times (s since the epoch) and values, for drawing.

        A NaN separates points on either side of a stale span's start, so a
        curve shows a gap where the source was not connected.
        """
        times: list[float] = []
        values: list[float] = []
        starts = [start for start, _ in self.stale_spans()]
        index = 0
        for when, value in self._points:
            while index < len(starts) and starts[index] <= when:
                if times:
                    times.append(starts[index])
                    values.append(math.nan)
                index += 1
            times.append(when)
            values.append(value)
        return numpy.asarray(times) + _WALL_OFFSET, numpy.asarray(values)

    def _forget_before(self, limit: float) -> None:
        while self._points and self._points[0][0] < limit:
            self._points.popleft()
        self._stale = [s for s in self._stale if s[1] is None or s[1] >= limit]

    def __len__(self) -> int:
        """Return the number of points kept."""
        return len(self._points)


@dataclass
class _Curve:
    history: History
    item: pyqtgraph.PlotDataItem
    stale_items: list[pyqtgraph.LinearRegionItem] = field(default_factory=list)


class LivePlot(QtWidgets.QWidget):
    """Draw :class:`History` objects as curves over a wall-clock time axis.

    Wheel zooms, drag pans, right-click offers pyqtgraph's menu (export,
    axis ranges). While it follows, the x axis shows the last ``span``
    seconds; zooming or panning stops following, :meth:`follow` resumes.

    .. important:: GUI thread only.

    Args:
        span: seconds shown while following.
    """

    def __init__(
        self, span: float = 60.0, parent: QtWidgets.QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.span = float(span)
        self._curves: dict[str, _Curve] = {}
        self._following = True
        self._redraw_timer = QtCore.QTimer(self)
        self._redraw_timer.setSingleShot(True)
        self._redraw_timer.setInterval(_REDRAW_DELAY_MS)
        self._redraw_timer.timeout.connect(self.redraw)
        self.view = pyqtgraph.PlotWidget(
            background="w", axisItems={"bottom": pyqtgraph.DateAxisItem()}
        )
        self.view.setObjectName("plot-view")
        self.view.showGrid(x=True, y=True, alpha=0.25)
        self.view.setMouseEnabled(x=True, y=True)
        self.legend = self.view.addLegend(offset=(10, 10))
        self.plot_item = self.view.getPlotItem()
        self.plot_item.getViewBox().sigRangeChangedManually.connect(self._on_user_range)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        self._scroll = QtCore.QTimer(self)
        self._scroll.setInterval(_FOLLOW_PERIOD_MS)
        self._scroll.timeout.connect(self._scroll_now)

    # -- what is shown -----------------------------------------------------------
    def show_history(self, key: str, history: History, label: str = "") -> None:
        """Draw ``history`` as a curve named ``label`` (default ``key``).

        Showing the same ``key`` again replaces its curve.
        """
        self.hide_history(key)
        colour = COLOURS[len(self._curves) % len(COLOURS)]
        item = self.view.plot(
            [], [], pen=pyqtgraph.mkPen(colour, width=2), name=label or key
        )
        item.setObjectName(key)
        self._curves[key] = _Curve(history, item)
        self._draw(self._curves[key])
        self._scroll_now()

    def hide_history(self, key: str) -> None:
        """Stop drawing the curve ``key`` (nothing if it is not shown)."""
        curve = self._curves.pop(key, None)
        if curve is None:
            return
        self.plot_item.removeItem(curve.item)
        self.legend.removeItem(curve.item)
        for region in curve.stale_items:
            self.plot_item.removeItem(region)

    def shown(self) -> list[str]:
        """Return the keys of the curves drawn, in the order they were added."""
        return list(self._curves)

    def curve_data(self, key: str) -> tuple[numpy.ndarray, numpy.ndarray]:
        """Return the x (s since the epoch) and y arrays drawn for ``key``."""
        x, y = self._curves[key].item.getData()
        empty = numpy.asarray([])
        return (empty if x is None else x), (empty if y is None else y)

    def curve_colour(self, key: str) -> QtGui.QColor:
        """Return the colour of the curve ``key``."""
        return self._curves[key].item.opts["pen"].color()

    def stale_regions(self, key: str) -> list[tuple[float, float]]:
        """Return the shaded spans (s since the epoch) drawn for ``key``."""
        return [r.getRegion() for r in self._curves[key].stale_items]

    # -- updates -------------------------------------------------------------------
    def refresh(self) -> None:
        """Redraw soon (coalesced: many points in a burst cost one redraw)."""
        if not self._redraw_timer.isActive():
            self._redraw_timer.start()

    def redraw(self) -> None:
        """Redraw every curve now."""
        self._redraw_timer.stop()
        for curve in self._curves.values():
            self._draw(curve)
        self._scroll_now()

    def add_point(self, key: str, value: float, when: float | None = None) -> None:
        """Add a point to the history of the curve ``key`` and redraw now."""
        self._curves[key].history.add(value, when)
        self.redraw()

    # -- following the newest points ------------------------------------------------
    def following(self) -> bool:
        """Return whether the x axis follows the newest points."""
        return self._following

    def follow(self) -> None:
        """Follow the newest points again (after a zoom or pan), y autoscaled."""
        self._following = True
        self.plot_item.enableAutoRange(axis="y")
        self._scroll_now()

    def _on_user_range(self, *_args: object) -> None:
        self._following = False

    def _scroll_now(self) -> None:
        if self._following:
            now = time.monotonic() + _WALL_OFFSET
            self.plot_item.setXRange(now - self.span, now, padding=0)

    def showEvent(self, event: QtGui.QShowEvent | None) -> None:
        """Scroll the time axis while shown (Qt event handler)."""
        self._scroll.start()
        super().showEvent(event)

    def hideEvent(self, event: QtGui.QHideEvent | None) -> None:
        """Stop scrolling while hidden (Qt event handler)."""
        self._scroll.stop()
        super().hideEvent(event)

    def _draw(self, curve: _Curve) -> None:
        x, y = curve.history.arrays()
        curve.item.setData(x, y, connect="finite")
        for region in curve.stale_items:
            self.plot_item.removeItem(region)
        curve.stale_items = []
        now = time.monotonic()
        for start, end in curve.history.stale_spans():
            region = pyqtgraph.LinearRegionItem(
                values=(
                    start + _WALL_OFFSET,
                    (now if end is None else end) + _WALL_OFFSET,
                ),
                movable=False,
                brush=_STALE_BRUSH,
                pen=pyqtgraph.mkPen(None),
            )
            region.setToolTip("not connected: no live values")
            self.plot_item.addItem(region, ignoreBounds=True)
            curve.stale_items.append(region)
