"""The model manager: local models (list, add by drag-and-drop or file picker, download, remove, default), hosted
providers (with the API key going straight to the OS keyring), and the offline switch.

Every service call (and every settings file read or write) runs on the dialog's own TaskRunner thread; results and
errors come back on the GUI thread. What the dialog says goes through the window's StatusBridge (logged, and shown
in the status bar); while the dialog is open its message line shows the bridge too. Errors are the one-line
messages the services write (they never carry a key).
"""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import DownloadCancelled
from app.core.routing import Provider
from app.gui.status import StatusBridge
from app.gui.tasks import TaskRunner
from app.services.download import DownloadProgress, format_eta
from app.services.session import Session

MODEL_COLUMNS = ("Name", "Size", "Quantization", "Context", "License", "Source", "State")
PROVIDER_COLUMNS = ("Name", "Model", "Base URL")


def _table(columns: tuple[str, ...]) -> QTableWidget:
    table = QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(columns)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    return table


class ModelManagerDialog(QDialog):
    def __init__(self, session: Session, status: StatusBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Models and providers"))
        self.setAcceptDrops(True)
        self.resize(860, 560)
        self._session = session
        self._status = status
        self._tasks = TaskRunner(self, name="model-manager", status=status)
        self._cancel_download: threading.Event | None = None
        self._build()
        self.refresh()

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(self.tr("<b>Local models</b> — drop a .gguf file here to add it")))
        self.models_table = _table(MODEL_COLUMNS)
        layout.addWidget(self.models_table, 2)
        buttons = QHBoxLayout()
        self.add_button = QPushButton(self.tr("Add .gguf…"))
        self.download_button = QPushButton(self.tr("Download"))
        self.cancel_button = QPushButton(self.tr("Cancel download"))
        self.default_button = QPushButton(self.tr("Use for new threads"))
        self.remove_button = QPushButton(self.tr("Remove"))
        for button in (self.add_button, self.download_button, self.cancel_button, self.default_button, self.remove_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.progress_label = QLabel()
        layout.addWidget(self.progress)
        layout.addWidget(self.progress_label)
        self.cancel_button.setEnabled(False)

        layout.addWidget(
            QLabel(self.tr("<b>Hosted providers</b> (OpenAI-compatible; keys are kept in the OS keyring)"))
        )
        self.providers_table = _table(PROVIDER_COLUMNS)
        layout.addWidget(self.providers_table, 1)
        form = QFormLayout()
        self.provider_name = QLineEdit(placeholderText="a short name, e.g. openai")
        self.provider_url = QLineEdit(placeholderText="https://api.example.com/v1")
        self.provider_model = QLineEdit(placeholderText="the model id")
        self.provider_key = QLineEdit(placeholderText="API key")
        self.provider_key.setEchoMode(QLineEdit.EchoMode.Password)
        for label, field in (("Name", self.provider_name), ("Base URL", self.provider_url),
                             ("Model", self.provider_model), ("API key", self.provider_key)):  # fmt: skip
            form.addRow(label, field)
        layout.addLayout(form)
        provider_buttons = QHBoxLayout()
        self.add_provider_button = QPushButton(self.tr("Add provider"))
        self.remove_provider_button = QPushButton(self.tr("Remove provider"))
        provider_buttons.addWidget(self.add_provider_button)
        provider_buttons.addWidget(self.remove_provider_button)
        provider_buttons.addStretch(1)
        layout.addLayout(provider_buttons)

        self.offline_box = QCheckBox(self.tr("Offline: no hosted model is used and nothing is downloaded"))
        layout.addWidget(self.offline_box)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.message)

        self.add_button.clicked.connect(self._pick_file)
        self.download_button.clicked.connect(self.download_selected)
        self.cancel_button.clicked.connect(self.cancel_download)
        self.default_button.clicked.connect(self.make_selected_default)
        self.remove_button.clicked.connect(self.remove_selected)
        self.add_provider_button.clicked.connect(self.add_provider)
        self.remove_provider_button.clicked.connect(self.remove_selected_provider)
        self.offline_box.setChecked(self._session.settings.offline)  # the file's value arrives with the listing
        self.offline_box.toggled.connect(self.set_offline)
        for signal, slot in self._listening():
            signal.connect(slot)

    # Listing

    def refresh(self) -> None:
        session = self._session

        def listing():
            stored = session.settings_service.stored()
            default = session.models.spec(stored.default_model).name
            return session.models.installed(), default, session.providers.list(), stored.offline

        self._tasks.run(listing, on_result=self._show)

    def _show(self, listing) -> None:
        models, default, providers, offline = listing
        self.offline_box.blockSignals(True)  # showing the stored switch is not the user flipping it
        self.offline_box.setChecked(offline)
        self.offline_box.blockSignals(False)
        self.models_table.setRowCount(len(models))
        for row, model in enumerate(models):
            spec = model.spec
            state = "installed" if model.installed else "not installed"
            if spec.name == default:
                state += " · default"
            cells = (spec.name, f"{spec.size_bytes / 1e6:,.0f} MB", spec.quantization, f"{spec.context_length:,}",
                     spec.license, spec.source, state)  # fmt: skip
            for column, text in enumerate(cells):
                self.models_table.setItem(row, column, QTableWidgetItem(text))
        self._show_providers(providers)

    def _show_providers(self, providers: list[Provider]) -> None:
        self.providers_table.setRowCount(len(providers))
        for row, provider in enumerate(providers):
            for column, text in enumerate((provider.name, provider.model, provider.base_url)):
                self.providers_table.setItem(row, column, QTableWidgetItem(text))

    def model_names(self) -> list[str]:
        return [self.models_table.item(row, 0).text() for row in range(self.models_table.rowCount())]

    def model_state(self, name: str) -> str:
        return self.models_table.item(self.model_names().index(name), 6).text()

    def provider_names(self) -> list[str]:
        return [self.providers_table.item(row, 0).text() for row in range(self.providers_table.rowCount())]

    def select_model(self, name: str) -> None:
        self.models_table.selectRow(self.model_names().index(name))

    def _selected(self, table: QTableWidget) -> str | None:
        rows = table.selectionModel().selectedRows()
        return table.item(rows[0].row(), 0).text() if rows else None

    # Messages: the bridge's, shown here while the dialog covers the window (a cleared status line clears nothing here)

    def _listening(self):
        return (self._status.info, self._show_note), (self._status.warning, self._show_note), (
            self._status.error, self._show_error
        )

    def _show_note(self, text: str) -> None:
        if text:
            self.message.setStyleSheet("")
            self.message.setText(text)

    def _show_error(self, text: str) -> None:
        self.message.setStyleSheet("color: #b3261e;")
        self.message.setText(text)

    def _say(self, text: str) -> None:
        self._status.show_info(text)

    # Local models

    def _pick_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Add a model", str(Path.home()), "GGUF models (*.gguf)")
        if path:
            self.add_model(Path(path))

    def add_model(self, path: Path) -> None:
        self._say(f"Checking {path.name}…")
        self._tasks.run(
            lambda: self._session.models.add(path),
            on_result=lambda spec: (self._say(f"Added {spec.name}."), self.refresh()),
        )

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt's naming
        if any(url.toLocalFile().lower().endswith(".gguf") for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt's naming
        for url in event.mimeData().urls():
            if url.toLocalFile().lower().endswith(".gguf"):
                self.add_model(Path(url.toLocalFile()))
        event.acceptProposedAction()

    def download_selected(self) -> None:
        name = self._selected(self.models_table)
        if name is None:
            self._say("Select a model to download.")
            return
        cancel = self._cancel_download = threading.Event()
        self.progress.setVisible(True)
        self.progress.setValue(0)
        self.cancel_button.setEnabled(True)
        self.download_button.setEnabled(False)
        self._say(f"Downloading {name}…")
        self._tasks.run_reporting(
            lambda report: self._session.models.pull(name, download_progress=report, cancel=cancel),
            on_progress=self._show_progress,
            on_result=lambda _path: self._download_ended(self.tr("{0} is installed.").format(name)),
            on_error=self._download_failed,
        )

    def _show_progress(self, progress: DownloadProgress) -> None:
        self.progress.setValue(int(progress.fraction * 100))
        self.progress_label.setText(
            self.tr("{0:,.0f} of {1:,.0f} MB · {2:.1f} MB/s · ETA {3}").format(
                progress.done / 1e6, progress.total / 1e6, progress.bytes_per_s / 1e6, format_eta(progress.eta_s)
            )
        )

    def cancel_download(self) -> None:
        if self._cancel_download is not None:
            self._cancel_download.set()

    def _download_ended(self, text: str) -> None:
        self.progress.setVisible(False)
        self.cancel_button.setEnabled(False)
        self.download_button.setEnabled(True)
        self._say(text)
        self.refresh()

    def _download_failed(self, error: BaseException) -> None:
        self._download_ended("")
        if isinstance(error, DownloadCancelled):
            self._say(str(error))
        else:
            self._status.report(error)

    def make_selected_default(self) -> None:
        name = self._selected(self.models_table)
        if name is None:
            return
        session = self._session

        def choose() -> str:
            spec = session.models.default_candidate(name)
            session.settings_service.change(default_model=spec.name)
            return spec.name

        def chosen(model: str) -> None:
            session.settings = session.settings.with_changes(default_model=model)
            session.chat.set_default_model(model)  # new threads from now on
            self._say(f"New threads use {model}.")
            self.refresh()

        self._tasks.run(choose, on_result=chosen)

    def remove_selected(self) -> None:
        name = self._selected(self.models_table)
        if name is None:
            return
        self._tasks.run(
            lambda: self._session.models.remove(name),
            on_result=lambda spec: (self._say(f"Removed {spec.name}."), self.refresh()),
        )

    # Providers and the offline switch

    def add_provider(self) -> None:
        name, url = self.provider_name.text().strip(), self.provider_url.text().strip()
        model, key = self.provider_model.text().strip(), self.provider_key.text()
        self.provider_key.clear()  # the key lives in this widget no longer than it must

        def added(provider: Provider) -> None:
            self._say(f"Added {provider.name}; its key is in the OS keyring.")
            for field in (self.provider_name, self.provider_url, self.provider_model):
                field.clear()
            self.refresh()

        self._tasks.run(
            lambda: self._session.providers.add(name, base_url=url, model=model, api_key=key),
            on_result=added,
        )

    def remove_selected_provider(self) -> None:
        name = self._selected(self.providers_table)
        if name is None:
            return
        self._tasks.run(
            lambda: self._session.providers.remove(name),
            on_result=lambda provider: (self._say(f"Removed {provider.name} and its key."), self.refresh()),
        )

    def set_offline(self, offline: bool) -> None:
        self._session.settings = self._session.settings.with_changes(offline=offline)
        self._tasks.run(
            lambda: self._session.settings_service.change(offline=offline),
            on_result=lambda _settings: self._say(
                "Offline: nothing leaves this machine." if offline else "Online: hosted models and downloads allowed."
            ),
        )

    def done(self, result: int) -> None:
        """Closes at once: a running call finishes on its own thread and its outcome is dropped."""
        self.cancel_download()
        self._tasks.shutdown()
        for signal, slot in self._listening():
            signal.disconnect(slot)
        super().done(result)
