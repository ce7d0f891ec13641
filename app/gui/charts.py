"""The Insights window's charts, painted with QPainter: stacked bars (tokens per day, per model) and box plots
(TTFT and tokens/s per model).

Why not a chart library: QtCharts is not in the PySide6-Essentials wheel the app ships (it comes with
PySide6-Addons, a 59 MB wheel that installs 160 MB, for 3.3 MB of charts), and pyqtgraph (MIT, 9 MB) takes half a
second to import on the GUI thread and brings more than these two kinds of chart need. Painting them is a page of
code that draws in about a millisecond.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from app.core.insights import Distribution
from app.gui import theme

MARGIN = 8
AXIS_WIDTH = 56  # room for the largest value's label on the left
FEW_BARS = 12  # up to this many bars, each is labelled
ROW_HEIGHT = 28  # of a box plot's row


def series_colours() -> list[QColor]:
    colours = theme.current()
    return [QColor(colours.accent), QColor(colours.muted), QColor(colours.warning_text)]


def compact(value: float) -> str:
    """12_345 -> "12.3k"; short enough for an axis."""
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.1f}{suffix}"
    return f"{value:.3g}"


class BarChart(QWidget):
    """One stacked bar per label; `series` names the parts of each bar (e.g. prompt and completion tokens). Hover a
    bar for its figures; the accessible description says what the chart shows in words."""

    def __init__(self, title: str, series: Sequence[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("barChart")
        self.setAccessibleName(title)
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumHeight(180)
        self.series = tuple(series)
        self.labels: list[str] = []
        self.values: list[tuple[float, ...]] = []
        self.set_bars([], [])

    def sizeHint(self) -> QSize:
        return QSize(520, 180)

    def set_bars(self, labels: Sequence[str], values: Sequence[Sequence[float]]) -> None:
        self.labels, self.values = list(labels), [tuple(each) for each in values]
        if self.values:
            top = max(range(len(self.values)), key=lambda i: sum(self.values[i]))
            self.setAccessibleDescription(
                self.tr("{0} bars; the largest is {1}: {2}").format(
                    len(self.values), self.labels[top], self._figures(top)
                )
            )
        else:
            self.setAccessibleDescription(self.tr("Nothing to show yet"))
        self.update()

    def bar_at(self, x: float) -> int | None:
        plot = self._plot_area()
        if not self.values or not plot.left() <= x < plot.right():
            return None
        return min(int((x - plot.left()) / (plot.width() / len(self.values))), len(self.values) - 1)

    def _figures(self, index: int) -> str:
        return ", ".join(f"{name} {value:,.0f}" for name, value in zip(self.series, self.values[index], strict=True))

    def _plot_area(self) -> QRectF:
        legend = self.fontMetrics().height() + 4
        labels = self.fontMetrics().height() + 4
        return QRectF(AXIS_WIDTH, MARGIN + legend, self.width() - AXIS_WIDTH - MARGIN,
                      self.height() - 2 * MARGIN - legend - labels)  # fmt: skip

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        colours, parts = theme.current(), series_colours()
        painter.setPen(QColor(colours.muted))
        metrics = self.fontMetrics()
        x = AXIS_WIDTH
        for name, colour in zip(self.series, parts, strict=False):  # the legend
            painter.fillRect(QRectF(x, MARGIN + 3, 10, 10), colour)
            painter.drawText(QPointF(x + 14, MARGIN + metrics.ascent()), name)
            x += 14 + metrics.horizontalAdvance(name) + 16
        plot = self._plot_area()
        if not self.values or plot.width() <= 0 or plot.height() <= 0:
            painter.drawText(plot, Qt.AlignmentFlag.AlignCenter, self.tr("No model calls in this period"))
            return
        top = max(sum(each) for each in self.values) or 1.0
        painter.drawText(QRectF(0, plot.top() - metrics.ascent() / 2, AXIS_WIDTH - 6, metrics.height()),
                         Qt.AlignmentFlag.AlignRight, compact(top))  # fmt: skip
        painter.drawText(QRectF(0, plot.bottom() - metrics.height(), AXIS_WIDTH - 6, metrics.height()),
                         Qt.AlignmentFlag.AlignRight, "0")  # fmt: skip
        painter.setPen(QPen(QColor(colours.border)))
        painter.drawLine(QPointF(plot.left(), plot.bottom()), QPointF(plot.right(), plot.bottom()))
        slot = plot.width() / len(self.values)
        gap = min(2.0, slot * 0.2)
        for index, parts_of_bar in enumerate(self.values):
            bottom = plot.bottom()
            for value, colour in zip(parts_of_bar, parts, strict=False):
                height = plot.height() * value / top
                painter.fillRect(QRectF(plot.left() + index * slot + gap / 2, bottom - height, slot - gap, height),
                                 colour)  # fmt: skip
                bottom -= height
        painter.setPen(QColor(colours.muted))
        few = len(self.labels) <= FEW_BARS
        # Few bars: each its label, cut to its width; many (days): the first, middle and last, which cannot overlap.
        shown = range(len(self.labels)) if few else {0, len(self.labels) - 1, len(self.labels) // 2}
        for index in sorted(shown):
            label = self.labels[index]
            if few:
                label = metrics.elidedText(label, Qt.TextElideMode.ElideMiddle, int(slot - 4))
            width = metrics.horizontalAdvance(label)
            left = min(max(plot.left() + index * slot + slot / 2 - width / 2, plot.left()), plot.right() - width)
            painter.drawText(QPointF(left, plot.bottom() + metrics.ascent() + 3), label)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        index = self.bar_at(event.position().x())
        if index is None:
            QToolTip.hideText()
        else:
            QToolTip.showText(event.globalPosition().toPoint(), f"{self.labels[index]}: {self._figures(index)}", self)


class SpreadChart(QWidget):
    """A box plot per model: whiskers from the 10th to the 90th percentile, the box from the 25th to the 75th, a line
    at the median. `unit` follows the figures ("s", "tok/s")."""

    def __init__(self, title: str, unit: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("spreadChart")
        self.setAccessibleName(title)
        self.unit = unit
        self.spreads: list[Distribution] = []
        self.set_spreads([])

    def sizeHint(self) -> QSize:
        return QSize(520, 2 * MARGIN + ROW_HEIGHT * max(1, len(self.spreads)))

    def set_spreads(self, spreads: Sequence[Distribution]) -> None:
        self.spreads = list(spreads)
        self.setFixedHeight(self.sizeHint().height())
        self.setAccessibleDescription(
            "; ".join(
                self.tr("{0}: median {1:.2f} {2}, 10th to 90th percentile {3:.2f} to {4:.2f}").format(
                    s.model, s.p50, self.unit, s.p10, s.p90
                )
                for s in self.spreads
            )
            or self.tr("Nothing to show yet")
        )
        self.updateGeometry()
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        colours = theme.current()
        metrics = self.fontMetrics()
        painter.setPen(QColor(colours.muted))
        if not self.spreads:
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.tr("No timed model calls in this period"))
            return
        names = max(metrics.horizontalAdvance(s.model) for s in self.spreads) + 12
        medians = max(metrics.horizontalAdvance(f"{s.p50:.2f} {self.unit}") for s in self.spreads) + 12
        left, right = min(names, self.width() // 3), self.width() - MARGIN - medians
        top_value = max(s.p90 for s in self.spreads) or 1.0
        row = (self.height() - 2 * MARGIN) / len(self.spreads)

        def at(value: float) -> float:
            return left + (right - left) * min(value, top_value) / top_value

        accent = QColor(colours.accent)
        for index, spread in enumerate(self.spreads):
            middle = MARGIN + row * index + row / 2
            painter.setPen(QColor(colours.text))
            painter.drawText(QRectF(0, middle - metrics.height() / 2, left - 6, metrics.height()),
                             Qt.AlignmentFlag.AlignRight, metrics.elidedText(spread.model, Qt.TextElideMode.ElideMiddle,
                                                                              int(left - 6)))  # fmt: skip
            painter.setPen(QPen(accent, 1))
            painter.drawLine(QPointF(at(spread.p10), middle), QPointF(at(spread.p90), middle))
            box = QRectF(at(spread.p25), middle - row * 0.3, max(at(spread.p75) - at(spread.p25), 1), row * 0.6)
            painter.fillRect(box, QColor(colours.accent_soft))
            painter.drawRect(box)
            painter.setPen(QPen(accent, 2))
            painter.drawLine(QPointF(at(spread.p50), box.top()), QPointF(at(spread.p50), box.bottom()))
            painter.setPen(QColor(colours.muted))
            painter.drawText(QPointF(right + 6, middle + metrics.ascent() / 2), f"{spread.p50:.2f} {self.unit}")
