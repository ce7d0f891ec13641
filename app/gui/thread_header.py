"""The conversation's header: the thread's title (it takes the free width; double-click or F2 renames it in place),
the model chip (a menu picks the thread's model) and the privacy control."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QMenu, QStackedWidget, QToolButton, QWidget

from app.core.routing import ModelRef, PrivacyRule
from app.gui.elided_label import ElidedLabel
from app.gui.privacy import PrivacyControl


CHIP_MAX_PX = 200
TITLE_MIN_PX = 160  # the chip and the privacy badge shrink first



class EditableTitle(QStackedWidget):
    """The title as one elided line (full title in the tooltip) that turns into a line edit on double-click or F2.
    Enter or leaving the field renames; Esc keeps the old title. `renamed(title)` (GUI thread) carries the new,
    whitespace-normalised title, never empty or unchanged."""

    renamed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = ElidedLabel(prefer_full_width=True)
        self.label.setObjectName("threadTitle")
        self.label.setAccessibleName(self.tr("Thread title"))
        self.label.setAccessibleDescription(self.tr("Double-click or press F2 to rename the thread"))
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.editor = QLineEdit()
        self.editor.setObjectName("threadTitleEditor")
        self.editor.setAccessibleName(self.tr("New title"))
        self.editor.setAccessibleDescription(self.tr("Enter renames the thread, Esc keeps its title"))
        self.editor.setMaxLength(200)
        self.editor.editingFinished.connect(self._commit)
        self.editable = False
        self.addWidget(self.label)
        self.addWidget(self.editor)
        self.label.installEventFilter(self)
        self.editor.installEventFilter(self)

    def set_title(self, title: str, *, editable: bool) -> None:
        self.editable = editable
        self.label.set_full_text(title)  # the full title is the tooltip
        if self.currentWidget() is self.editor:
            self.setCurrentWidget(self.label)

    def start_editing(self) -> None:
        if not self.editable:
            return
        self.editor.setText(self.label.full_text())
        self.setCurrentWidget(self.editor)
        self.editor.selectAll()
        self.editor.setFocus()

    @property
    def is_editing(self) -> bool:
        return self.currentWidget() is self.editor

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if watched is self.label and event.type() == QEvent.Type.MouseButtonDblClick:
            self.start_editing()
            return True
        if watched is self.editor and event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent):
            if event.key() == Qt.Key.Key_Escape:  # Esc is the window's "stop the reply": here it ends the rename
                event.accept()
                return True
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            if watched is self.label and event.key() == Qt.Key.Key_F2:
                self.start_editing()
                return True
            if watched is self.editor and event.key() == Qt.Key.Key_Escape:
                self._stop_editing()
                return True
        return super().eventFilter(watched, event)

    def _commit(self) -> None:
        if not self.is_editing:
            return
        title = " ".join(self.editor.text().split())
        self._stop_editing()
        if title and title != self.label.full_text():
            self.label.set_full_text(title)
            self.renamed.emit(title)

    def _stop_editing(self) -> None:
        self.editor.blockSignals(True)  # hiding the field takes its focus: that is not an "editing finished"
        self.setCurrentWidget(self.label)
        self.label.setFocus()
        self.editor.blockSignals(False)


class ModelChip(QToolButton):
    """The open thread's model and where it runs; its menu picks the thread's model among the installed local
    models and the added hosted ones (those only where the thread's privacy rule lets content leave the device).
    `model_chosen(model)` (GUI thread): a local name or PROVIDER/MODEL, only when it differs from the current one."""

    model_chosen = Signal(str)
    manage_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("modelChip")
        self.setAccessibleName(self.tr("Model"))
        self.setAccessibleDescription(
            self.tr("The model this thread's replies come from; opens a menu to pick another")
        )
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setMenu(QMenu(self))
        self.menu().setAccessibleName(self.tr("Choose the thread's model"))
        self.menu().aboutToShow.connect(self._fill_menu)
        self.current = ""
        self.full_text = ""
        self.local_models: list[str] = []
        self.hosted_models: list[str] = []
        self.rule = PrivacyRule.LOCAL_ONLY
        self.has_thread = False

    def setText(self, text: str) -> None:  # noqa: N802 (Qt's name)
        self.full_text = text
        self.fit(CHIP_MAX_PX)

    def fit(self, width: int) -> None:
        """Show the text in at most `width` pixels: a long model name loses its middle (whole in the tooltip)."""
        super().setText(self.fontMetrics().elidedText(self.full_text, Qt.TextElideMode.ElideMiddle, width))

    def show_model(self, model: str) -> None:
        ref = ModelRef.parse(model)
        self.current = str(ref)
        if ref.hosted:
            self.setText(self.tr("● {name} · {provider} (hosted)").format(name=ref.name, provider=ref.provider))
            self.setToolTip(
                self.tr(
                    "This thread's replies come from {ref}, a hosted model: its messages are sent to {provider} "
                    "when its privacy rule allows it"
                ).format(ref=ref, provider=ref.provider)
            )
        else:
            self.setText(self.tr("● {name} · local").format(name=ref.name))
            self.setToolTip(
                self.tr("Replies come from {name}, running on this computer. Click to pick another").format(
                    name=ref.name
                )
            )

    def _fill_menu(self) -> None:
        """Filled each time it opens: models and providers may have been added, the rule changed."""
        menu = self.menu()
        menu.clear()
        if not self.has_thread:
            menu.addAction(self.tr("Send a first message, then pick this thread's model")).setEnabled(False)
        else:
            menu.addSection(self.tr("On this computer"))
            for name in self.local_models:
                self._add_choice(menu, name, name)
            if not self.local_models:
                menu.addAction(self.tr("No local model installed")).setEnabled(False)
            menu.addSection(self.tr("Hosted"))
            allowed = self.rule != PrivacyRule.LOCAL_ONLY
            for model in self.hosted_models:
                label = model if allowed else self.tr("{model} (this thread is local only)").format(model=model)
                self._add_choice(menu, label, model).setEnabled(allowed)
            if not self.hosted_models:
                menu.addAction(self.tr("No provider added")).setEnabled(False)
        menu.addSeparator()
        menu.addAction(self.tr("Models and providers…"), self.manage_requested.emit)

    def _add_choice(self, menu: QMenu, label: str, model: str):
        action = menu.addAction(label)
        action.setCheckable(True)
        action.setChecked(model == self.current)
        action.triggered.connect(lambda _checked=False, model=model: self._choose(model))
        return action

    def _choose(self, model: str) -> None:
        if model != self.current:
            self.model_chosen.emit(model)


class ThreadHeader(QWidget):
    """Title, model chip and privacy control in one row above the conversation. The title has first call on the
    width: when the row is short the privacy badge goes (the rule stays), then the chip's text shrinks."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("threadHeader")
        self.title = EditableTitle()
        self.title.setMinimumWidth(TITLE_MIN_PX)
        self.model_chip = ModelChip()
        self.privacy = PrivacyControl()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(24, 12, 24, 10)
        layout.setSpacing(12)
        layout.addWidget(self.title, 1)
        layout.addWidget(self.model_chip)
        layout.addWidget(self.privacy)

    def fit(self) -> None:
        """Share the row out again (after a resize, or a new title, model or badge)."""
        margins = self.layout().contentsMargins()
        room = self.width() - margins.left() - margins.right() - 2 * self.layout().spacing()
        title = self.title.label.sizeHint().width()
        chip_chrome = 24  # the chip's padding and border
        chip = self.model_chip.fontMetrics().horizontalAdvance(self.model_chip.full_text) + chip_chrome
        badge = self.privacy.badge.sizeHint().width() + self.privacy.layout().spacing()
        rule = self.privacy.rule_box.sizeHint().width()
        self.privacy.badge.setVisible(title + min(chip, CHIP_MAX_PX) + badge + rule <= room)
        shown_badge = badge if self.privacy.badge.isVisible() else 0
        spare = room - max(TITLE_MIN_PX, min(title, room // 2)) - rule - shown_badge
        self.model_chip.fit(max(80, min(CHIP_MAX_PX, spare - chip_chrome)))

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        self.fit()
