"""A small live plot of one value over the last seconds, drawn with QPainter."""

from __future__ import annotations

import math
import time
from collections import deque

from qtpy import QtCore, QtGui, QtWidgets

__all__ = ["History", "LivePlot"]


class History:
    """The recent values of one quantity: ``(time, value)`` pairs.

    Times are ``time.monotonic()`` seconds. Points older than ``span`` seconds
    before the newest one are dropped as new ones arrive; at most
    ``max_points`` are kept. Not thread-safe: use it in the GUI thread.

    :param span: seconds of history kept.
    :param max_points: hard bound on memory for fast sources.
    """

    def __init__(self, span: float = 60.0, max_points: int = 20_000) -> None:
        if span <= 0:
            raise ValueError(f"History span must be positive, not {span!r}")
        self.span = float(span)
        self._points: deque[tuple[float, float]] = deque(maxlen=max_points)

    def add(self, value: float, when: float | None = None) -> None:
        """Append ``value`` (a number) at ``when`` (default: now).

        :raises TypeError: ``value`` is not a real number.
        """
        number = float(value)
        now = time.monotonic() if when is None else float(when)
        self._points.append((now, number))
        limit = now - self.span
        while self._points and self._points[0][0] < limit:
            self._points.popleft()

    def points(self) -> list[tuple[float, float]]:
        """Return the points, oldest first."""
        return list(self._points)

    def last(self) -> tuple[float, float] | None:
        """Return the newest point, or ``None``."""
        return self._points[-1] if self._points else None

    def clear(self) -> None:
        """Forget every point."""
        self._points.clear()

    def __len__(self) -> int:
        """Return how many points are kept."""
        return len(self._points)


class LivePlot(QtWidgets.QWidget):
    """Draw a :class:`History` as a line over the last ``span`` seconds.

    The time axis ends at "now" and scrolls once a second while the widget is
    visible; new points repaint at once (Qt coalesces repaints). The value axis
    fits the visible points.

    .. important:: GUI thread only.

    :param span: seconds shown (the history may hold more or less).
    """

    LINE = QtGui.QColor("#1565c0")
    GRID = QtGui.QColor("#d0d0d0")

    def __init__(
        self, span: float = 60.0, parent: QtWidgets.QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.span = float(span)
        self._history = History(span)
        self._title = ""
        self._unit = ""
        self.setMinimumSize(240, 140)
        self.setSizePolicy(
            QtWidgets.QSizePolicy.Expanding, QtWidgets.QSizePolicy.Expanding
        )
        self._scroll = QtCore.QTimer(self)
        self._scroll.setInterval(1000)
        self._scroll.timeout.connect(self.update)

    # -- data ----------------------------------------------------------------
    @property
    def history(self) -> History:
        """The history shown."""
        return self._history

    @property
    def title(self) -> str:
        """The title drawn in the top-left corner."""
        return self._title

    def show_history(self, history: History, title: str = "", unit: str = "") -> None:
        """Show ``history`` (shared, not copied) under ``title`` in ``unit``."""
        self._history = history
        self._title = title
        self._unit = unit
        self.update()

    def add_point(self, value: float, when: float | None = None) -> None:
        """Add a point to the history shown and repaint (see :meth:`History.add`)."""
        self._history.add(value, when)
        self.update()

    # -- Qt ------------------------------------------------------------------
    def showEvent(self, event: QtGui.QShowEvent | None) -> None:
        """Start scrolling the time axis while the plot is shown (Qt event)."""
        self._scroll.start()
        super().showEvent(event)

    def hideEvent(self, event: QtGui.QHideEvent | None) -> None:
        """Stop scrolling while the plot is hidden (Qt event)."""
        self._scroll.stop()
        super().hideEvent(event)

    def paintEvent(self, event: QtGui.QPaintEvent | None) -> None:
        """Draw the axes and the curve (Qt event)."""
        painter = QtGui.QPainter(self)
        try:
            self._paint(painter)
        finally:
            painter.end()

    def _paint(self, painter: QtGui.QPainter) -> None:
        painter.setRenderHint(QtGui.QPainter.Antialiasing)
        painter.fillRect(self.rect(), QtGui.QColor("white"))
        metrics = painter.fontMetrics()
        line_height = metrics.height()
        left, right = metrics.horizontalAdvance("-000.000") + 12, 12
        top, bottom = line_height + 10, line_height + 8
        area = QtCore.QRectF(
            left,
            top,
            max(1, self.width() - left - right),
            max(1, self.height() - top - bottom),
        )
        now = time.monotonic()
        start = now - self.span
        points = [(t, v) for t, v in self._history.points() if t >= start]

        painter.setPen(QtGui.QColor("black"))
        painter.drawText(QtCore.QPointF(left, line_height), self._title)
        last = self._history.last()
        if last is not None:
            text = f"{last[1]:.6g} {self._unit}".strip()
            painter.drawText(
                QtCore.QPointF(
                    self.width() - right - metrics.horizontalAdvance(text),
                    line_height,
                ),
                text,
            )

        low, high = _value_range([v for _, v in points])
        ticks = _ticks(low, high)
        painter.setPen(QtGui.QPen(self.GRID, 1))
        for value in ticks:
            y = _map(value, low, high, area.bottom(), area.top())
            painter.drawLine(
                QtCore.QPointF(area.left(), y), QtCore.QPointF(area.right(), y)
            )
        painter.setPen(QtGui.QColor("#404040"))
        for value in ticks:
            y = _map(value, low, high, area.bottom(), area.top())
            label = f"{value:.6g}"
            painter.drawText(
                QtCore.QPointF(
                    area.left() - 6 - metrics.horizontalAdvance(label),
                    y + metrics.ascent() / 2 - 1,
                ),
                label,
            )
        for fraction in (0.0, 0.5, 1.0):
            x = area.left() + fraction * area.width()
            ago = self.span * (1.0 - fraction)
            label = "now" if ago == 0 else f"-{ago:.0f} s"
            width = metrics.horizontalAdvance(label)
            x_text = min(max(x - width / 2, area.left()), area.right() - width)
            painter.drawText(
                QtCore.QPointF(x_text, area.bottom() + line_height + 2), label
            )
        painter.setPen(QtGui.QPen(QtGui.QColor("#808080"), 1))
        painter.drawRect(area)

        if not points:
            painter.drawText(area, QtCore.Qt.AlignmentFlag.AlignCenter, "no data yet")
            return
        polyline = QtGui.QPolygonF(
            [
                QtCore.QPointF(
                    _map(t, start, now, area.left(), area.right()),
                    _map(v, low, high, area.bottom(), area.top()),
                )
                for t, v in points
            ]
        )
        # Hold the last value up to "now": sources only send changes.
        polyline.append(QtCore.QPointF(area.right(), polyline[polyline.size() - 1].y()))
        painter.setClipRect(area.adjusted(-1, -1, 1, 1))
        painter.setPen(QtGui.QPen(self.LINE, 2))
        painter.drawPolyline(polyline)


def _map(
    value: float, low: float, high: float, out_low: float, out_high: float
) -> float:
    if high == low:
        return (out_low + out_high) / 2
    return out_low + (value - low) * (out_high - out_low) / (high - low)


def _value_range(values: list[float]) -> tuple[float, float]:
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return 0.0, 1.0
    low, high = min(finite), max(finite)
    if high - low < 1e-12:
        pad = max(abs(low) * 0.01, 0.5)
        return low - pad, high + pad
    pad = (high - low) * 0.08
    return low - pad, high + pad


def _ticks(low: float, high: float, count: int = 4) -> list[float]:
    """Return round values between ``low`` and ``high`` (about ``count``)."""
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    return ticks
