"""First run: one clear card that fetches the starter model, with progress and errors in place."""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from app.core.domain import ModelSpec

PHASES = {
    "download": QT_TRANSLATE_NOOP("StarterCard", "Downloading"),
    "extract": QT_TRANSLATE_NOOP("StarterCard", "Unpacking"),
    "verify": QT_TRANSLATE_NOOP("StarterCard", "Checking"),
}


class StarterModelCard(QFrame):
    """Emits `download_requested` (GUI thread) when the user asks for the model; the window runs the download."""

    download_requested = Signal()

    def __init__(self, spec: ModelSpec, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("starterCard")
        self.setAccessibleName(self.tr("Get the starter model"))
        megabytes = round(spec.size_bytes / 1_000_000)
        title = QLabel(self.tr("Get the starter model ({0} MB)").format(megabytes))
        title.setObjectName("starterTitle")
        detail = QLabel(
            self.tr("{0} Licence: {1}. It runs on this computer; your conversations never leave it.").format(
                spec.description or spec.name, spec.license
            )
        )
        detail.setObjectName("starterDetail")
        detail.setWordWrap(True)
        self._button = QPushButton(self.tr("Download"))
        self._button.setObjectName("starterButton")
        self._button.setAccessibleName(self.tr("Download the starter model"))
        self._button.setCursor(Qt.CursorShape.PointingHandCursor)
        self._button.clicked.connect(self.download_requested)
        self.progress = QProgressBar()
        self.progress.setAccessibleName(self.tr("Download progress"))
        self.progress.hide()
        self._error = QLabel()
        self._error.setObjectName("starterError")
        self._error.setWordWrap(True)
        self._error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._error.hide()
        row = QHBoxLayout()
        row.addWidget(self.progress, 1)
        row.addStretch(0)
        row.addWidget(self._button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 16, 18, 16)
        layout.setSpacing(8)
        layout.addWidget(title)
        layout.addWidget(detail)
        layout.addLayout(row)
        layout.addWidget(self._error)

    def set_running(self) -> None:
        self._error.hide()
        self._button.setEnabled(False)
        self._button.setText(self.tr("Downloading…"))
        self.progress.setRange(0, 0)  # busy until pip reports sizes
        self.progress.show()

    def set_progress(self, done: int, total: int, phase: str) -> None:
        if total <= 0 or phase == "verify":  # the checksum reports no steps: show a busy bar
            self.progress.setRange(0, 0)
            return
        self.progress.setRange(0, 1000)
        self.progress.setValue(min(1000, 1000 * done // total))
        self.progress.setFormat(
            self.tr("{0} · %p% · {1:.0f} of {2:.0f} MB").format(
                QCoreApplication.translate("StarterCard", PHASES.get(phase, phase)), done / 1e6, total / 1e6
            )
        )

    def set_failed(self, message: str) -> None:
        self.progress.hide()
        self._button.setEnabled(True)
        self._button.setText(self.tr("Try again"))
        self._error.setText(self.tr("The download did not finish: {0}").format(message))
        self._error.show()

    def error_text(self) -> str:
        return self._error.text() if self._error.isVisibleTo(self) else ""
