"""A reasoning model's thinking above its answer: one collapsed line ("Thought for 4.2 s") that opens to the text."""

from __future__ import annotations

import time


from PySide6.QtWidgets import QFrame, QVBoxLayout, QWidget

from app.gui.card_button import action_button
from app.gui.reply_view import MessageBody



class ThinkingSection(QFrame):
    """Collapsed by default. While the model thinks it says so with the seconds so far (timed on screen); once
    stored, with the duration the turn loop measured."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("thinkingSection")
        self.toggle = action_button("", self.tr("Show or hide what the model thought before answering"), None)
        self.toggle.setObjectName("thinkingToggle")
        self.toggle.setAccessibleName(self.tr("Thinking"))
        self.toggle.setAccessibleDescription(self.tr("Shows or hides the model's reasoning"))
        self.toggle.setCheckable(True)
        self.toggle.toggled.connect(self._expand)
        self.body = MessageBody()
        self.body.setObjectName("thinkingBody")
        self.body.setAccessibleName(self.tr("The model's reasoning"))
        self.body.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.toggle)
        layout.addWidget(self.body)
        self._text = ""
        self._seen_since: float | None = None

    def show_reasoning(self, text: str, *, thinking: bool, seconds: float | None) -> None:
        """`thinking`: the model is still at it; `seconds`: the stored duration (None: time it on screen)."""
        if self._seen_since is None:
            self._seen_since = time.monotonic()
        if seconds is None:
            seconds = time.monotonic() - self._seen_since
        if thinking:
            label = self.tr("Thinking… {seconds} s").format(seconds=f"{seconds:.0f}")
        else:
            label = self.tr("Thought for {seconds} s").format(seconds=f"{seconds:.1f}")
        self.toggle.setText(("▾ " if self.toggle.isChecked() else "▸ ") + label)
        if text != self._text:
            self._text = text
            if self.toggle.isChecked():
                self.body.show_plain(text)

    @property
    def expanded(self) -> bool:
        return self.toggle.isChecked()

    def text(self) -> str:
        return self._text

    def _expand(self, expanded: bool) -> None:
        if expanded:
            self.body.show_plain(self._text)  # drawn only when opened: a long thought costs nothing collapsed
        self.body.setVisible(expanded)
        label = self.toggle.text()[2:]
        self.toggle.setText(("▾ " if expanded else "▸ ") + label)
