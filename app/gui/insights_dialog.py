"""Insights… (Ctrl+Shift+I): what the models did — tokens per day, per model and per thread, TTFT and tokens/s per
model, the share of prompt tokens read from saved state, local against hosted, hosted calls per provider, time spent
embedding, and the ratings given — over a chosen period, with a CSV export.

The figures are read in one call on the window's read lane (`InsightsService.dashboard`), never on the GUI thread;
a reading that a newer one overtook is dropped.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import InvalidInput
from app.core.insights import Dashboard, UsageTotals
from app.gui.charts import BarChart, SpreadChart
from app.gui.status import StatusBridge
from app.gui.tasks import TaskRunner
from app.services.insights import InsightsService

PERIODS = ((7, "Last 7 days"), (30, "Last 30 days"), (90, "Last 90 days"), (None, "All time"))
CSV_COLUMNS = ("group", "key", "calls", "prompt_tokens", "completion_tokens", "cached_tokens", "seconds",
               "mean_ttft_s", "mean_tokens_per_s")  # fmt: skip


def utc_today() -> date:
    return datetime.now(UTC).date()


def csv_rows(board: Dashboard) -> list[tuple]:
    """The dashboard's sums as CSV rows: per day, per model and per busiest thread (its title as the key)."""

    def row(group: str, key: str | None, totals: UsageTotals) -> tuple:
        return (group, key, totals.calls, totals.prompt_tokens, totals.completion_tokens, totals.cached_tokens,
                round(totals.seconds, 6), totals.mean_ttft_s, totals.mean_tokens_per_s)  # fmt: skip

    return [
        *(row("day", each.key, each) for each in board.per_day),
        *(row("model", each.key, each) for each in board.per_model),
        *(row("thread", title, each) for each, title in board.per_thread),
    ]


def _share(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"


class InsightsDialog(QDialog):
    """Signals (GUI thread): `loaded()` once a reading is shown."""

    loaded = Signal()

    def __init__(
        self,
        insights: InsightsService,
        *,
        reads: TaskRunner,
        status: StatusBridge,
        today: Callable[[], date] = utc_today,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("insightsDialog")
        self.setWindowTitle(self.tr("Insights"))
        self.resize(760, 720)
        self._insights, self._reads, self._status, self._today = insights, reads, status, today
        self._reading = 0  # the newest reading asked for; older ones are dropped when they land
        self.board: Dashboard | None = None

        self.period = QComboBox()
        self.period.setAccessibleName(self.tr("Period"))
        self.period.setAccessibleDescription(self.tr("Which model calls the figures cover"))
        for days, label in PERIODS:
            self.period.addItem(self.tr(label), days)
        self.period.setCurrentIndex(1)
        self.period.currentIndexChanged.connect(self.reload)
        self.export_button = QPushButton(self.tr("Export CSV…"))
        self.export_button.setAccessibleName(self.tr("Export CSV"))
        self.export_button.setAccessibleDescription(self.tr("Save the sums per day, model and thread as a CSV file"))
        self.export_button.clicked.connect(self._choose_csv_file)
        self.export_button.setEnabled(False)
        self.state = QLabel(self.tr("Reading…"))
        self.state.setAccessibleName(self.tr("Insights status"))
        top = QHBoxLayout()
        top.addWidget(self.period)
        top.addWidget(self.state, 1)
        top.addWidget(self.export_button)

        self.cache_share = QLabel()
        self.local_share = QLabel()
        self.hosted = QLabel()
        self.embedding = QLabel()
        self.ratings = QLabel()
        figures = QFormLayout()
        for text, label in (
            (self.tr("Prompt tokens from saved state (local)"), self.cache_share),
            (self.tr("Tokens run on this computer"), self.local_share),
            (self.tr("Hosted calls"), self.hosted),
            (self.tr("Time spent embedding"), self.embedding),
            (self.tr("Ratings"), self.ratings),
        ):
            label.setAccessibleName(text)
            label.setWordWrap(True)
            figures.addRow(text, label)

        tokens = (self.tr("prompt"), self.tr("completion"))
        self.per_day = BarChart(self.tr("Tokens per day"), tokens)
        self.per_model = BarChart(self.tr("Tokens per model"), tokens)
        self.ttft = SpreadChart(self.tr("Time to first token per model"), "s")
        self.speed = SpreadChart(self.tr("Tokens per second per model"), "tok/s")
        self.threads = QTableWidget(0, 3)
        self.threads.setAccessibleName(self.tr("Busiest threads"))
        self.threads.setHorizontalHeaderLabels([self.tr("Thread"), self.tr("Calls"), self.tr("Tokens")])
        self.threads.horizontalHeader().setStretchLastSection(False)
        self.threads.horizontalHeader().setSectionResizeMode(0, self.threads.horizontalHeader().ResizeMode.Stretch)
        self.threads.verticalHeader().hide()
        self.threads.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.threads.setMinimumHeight(160)

        page = QWidget()
        column = QVBoxLayout(page)
        column.setSizeConstraint(QVBoxLayout.SizeConstraint.SetMinimumSize)  # scroll rather than squeeze the charts
        column.addLayout(figures)
        for title, chart in (
            (self.tr("Tokens per day"), self.per_day),
            (self.tr("Tokens per model"), self.per_model),
            (self.tr("Time to first token (10th–90th percentile, box 25th–75th, line at the median)"), self.ttft),
            (self.tr("Tokens per second"), self.speed),
            (self.tr("Busiest threads"), self.threads),
        ):
            heading = QLabel(f"<b>{title}</b>")
            heading.setBuddy(chart)
            column.addWidget(heading)
            column.addWidget(chart)
        scroller = QScrollArea()
        scroller.setWidgetResizable(True)
        scroller.setWidget(page)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(scroller, 1)

    def since(self) -> date | None:
        days = self.period.currentData()
        return None if days is None else self._today() - timedelta(days=days - 1)

    def reload(self) -> None:
        self._reading += 1
        reading, since = self._reading, self.since()
        self.state.setText(self.tr("Reading…"))
        self._reads.run(
            lambda: self._insights.dashboard(since=since),
            on_result=lambda board: self._show(board) if reading == self._reading else None,
            on_error=self._failed,
        )

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self.board is None and self._reading == 0:
            self.reload()

    def _failed(self, error: BaseException) -> None:
        self.state.setText(self.tr("Could not read the figures"))
        self._status.report(error, doing=self.tr("Insights"))

    def _show(self, board: Dashboard) -> None:
        self.board = board
        calls = sum(day.calls for day in board.per_day)
        self.state.setText(self.tr("{0:,} model calls").format(calls))
        self.export_button.setEnabled(bool(calls))
        self.cache_share.setText(_share(board.cache_hit_share))
        self.local_share.setText(_share(board.local_share))
        self.hosted.setText(
            ", ".join(f"{provider}: {count:,}" for provider, count in board.hosted_calls_by_provider)
            or self.tr("none: nothing left this computer")
        )
        self.embedding.setText(self.tr("{0:.1f} s").format(board.embedding_seconds))
        self.ratings.setText(
            self.tr("{0:,} up, {1:,} down").format(board.ratings.get("up", 0), board.ratings.get("down", 0))
        )
        self.per_day.set_bars([d.key or "?" for d in board.per_day],
                              [(d.prompt_tokens, d.completion_tokens) for d in board.per_day])  # fmt: skip
        self.per_model.set_bars([m.key or self.tr("unknown") for m in board.per_model],
                                [(m.prompt_tokens, m.completion_tokens) for m in board.per_model])  # fmt: skip
        self.ttft.set_spreads(board.ttft)
        self.speed.set_spreads(board.tokens_per_s)
        self.threads.setRowCount(len(board.per_thread))
        for index, (totals, title) in enumerate(board.per_thread):
            cells = (title or self.tr("(deleted thread)"), f"{totals.calls:,}",
                     f"{totals.prompt_tokens + totals.completion_tokens:,}")  # fmt: skip
            for column, text in enumerate(cells):
                self.threads.setItem(index, column, QTableWidgetItem(text))
        self.loaded.emit()

    def _choose_csv_file(self) -> None:
        path, _filter = QFileDialog.getSaveFileName(
            self, self.tr("Export CSV"), str(Path.home() / "threadloom-usage.csv"), self.tr("CSV files (*.csv)")
        )
        if path:
            self.export_csv(Path(path))

    def export_csv(self, path: Path) -> None:
        """Write the shown figures to `path` on the read lane; the status line says where, or why it could not."""
        if self.board is None:
            return
        rows = csv_rows(self.board)

        def write() -> Path:
            try:
                with path.open("w", newline="", encoding="utf-8") as file:
                    writer = csv.writer(file)
                    writer.writerow(CSV_COLUMNS)
                    writer.writerows(rows)
            except OSError as exc:
                raise InvalidInput(f"cannot write {path}: {exc.strerror}") from exc
            return path

        self._reads.run(
            write,
            on_result=lambda written: self._status.show_info(self.tr("Saved the usage figures to {0}").format(written)),
            on_error=lambda error: self._status.report(error, doing=self.tr("Could not save the CSV file")),
        )
