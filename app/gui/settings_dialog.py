"""Settings (Ctrl+,): the look, how a message is sent, the attachment size limit, saved model states and custom
instructions.

Models, hosted providers and the offline switch have their own dialog (app.gui.model_manager). The dialog only
edits a copy; the window saves and applies what it returns when the user presses OK.
"""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.platform.settings import SEND_KEYS, THEMES, Settings

THEME_LABELS = {
    "system": QT_TRANSLATE_NOOP("SettingsDialog", "Follow the system"),
    "light": QT_TRANSLATE_NOOP("SettingsDialog", "Light"),
    "dark": QT_TRANSLATE_NOOP("SettingsDialog", "Dark"),
}
SEND_KEY_LABELS = {
    "enter": QT_TRANSLATE_NOOP("SettingsDialog", "Enter (Shift+Enter for a new line)"),
    "ctrl+enter": QT_TRANSLATE_NOOP("SettingsDialog", "Ctrl+Enter (Enter for a new line)"),
}


def _choices(options: tuple[str, ...], labels: dict[str, str], current: str, name: str) -> QComboBox:
    box = QComboBox()
    box.setAccessibleName(name)
    for option in options:
        box.addItem(QCoreApplication.translate("SettingsDialog", labels[option]), option)
    box.setCurrentIndex(options.index(current) if current in options else 0)
    return box


class SettingsDialog(QDialog):
    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Settings"))
        self.setObjectName("settingsDialog")
        self._settings = settings
        self.theme_box = _choices(THEMES, THEME_LABELS, settings.theme, self.tr("Theme"))
        self.send_key_box = _choices(SEND_KEYS, SEND_KEY_LABELS, settings.send_key, self.tr("Send messages with"))
        self.attachment_limit = QSpinBox()
        self.attachment_limit.setAccessibleName(self.tr("Largest attachment"))
        self.attachment_limit.setRange(1, 4096)
        self.attachment_limit.setSuffix(self.tr(" MB"))
        self.attachment_limit.setValue(settings.attachment_max_mb)
        self.kv_cache_box = QCheckBox(self.tr("Save each thread's model state, so it resumes without a long wait"))
        self.kv_cache_box.setChecked(settings.kv_cache)
        self.kv_cache_budget = QSpinBox()
        self.kv_cache_budget.setAccessibleName(self.tr("Disk space for saved model states"))
        self.kv_cache_budget.setRange(64, 1024 * 1024)
        self.kv_cache_budget.setSingleStep(256)
        self.kv_cache_budget.setSuffix(self.tr(" MB"))
        self.kv_cache_budget.setValue(settings.kv_cache_budget_mb)
        self.kv_cache_budget.setEnabled(settings.kv_cache)
        self.kv_cache_box.toggled.connect(self.kv_cache_budget.setEnabled)
        note = QLabel(self.tr("Saved model states change when the model next starts (least recently used go first)."))
        note.setObjectName("settingsNote")
        note.setWordWrap(True)

        self.about_field = QLineEdit(settings.about_me)
        self.about_field.setAccessibleName(self.tr("About me"))
        self.about_field.setAccessibleDescription(self.tr("Custom instructions: what new threads know about you"))
        self.style_field = QLineEdit(settings.answer_style)
        self.style_field.setAccessibleName(self.tr("How to answer"))
        self.style_field.setAccessibleDescription(self.tr("Custom instructions: how new threads should answer"))
        instructions_note = QLabel(self.tr("New threads get these; threads there are keep what they started with."))
        instructions_note.setObjectName("settingsNote")
        instructions_note.setWordWrap(True)

        form = QFormLayout()
        form.addRow("Theme", self.theme_box)
        form.addRow("Send messages with", self.send_key_box)
        form.addRow("Largest attachment", self.attachment_limit)
        form.addRow(self.kv_cache_box)
        form.addRow("Disk space for them", self.kv_cache_budget)
        form.addRow(note)
        form.addRow(self.tr("About me"), self.about_field)
        form.addRow(self.tr("How to answer"), self.style_field)
        form.addRow(instructions_note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def chosen(self) -> Settings:
        """The settings as the dialog shows them (the rest unchanged)."""
        return self._settings.with_changes(
            theme=self.theme_box.currentData(),
            send_key=self.send_key_box.currentData(),
            attachment_max_mb=self.attachment_limit.value(),
            kv_cache=self.kv_cache_box.isChecked(),
            kv_cache_budget_mb=self.kv_cache_budget.value(),
            about_me=self.about_field.text().strip(),
            answer_style=self.style_field.text().strip(),
        )
